"""End to end with real Docker, real agents and the AWS CLI: EC2 instances and Auto Scaling groups.

Each EC2 instance here is a real `dockyard agent` process the server starts: it registers with the
cluster its user data names, runs tasks in containers on its own address, and goes away (its
container instance INACTIVE, its containers removed) when the instance is terminated.
"""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.testing.platform import Platform
from tests.e2e.instances import instance_state, remove_containers, wait_terminated
from tests.waiting import until

pytestmark = pytest.mark.docker

HELLO = "dockyard/hello:latest"
AMI = "ami-0a1b2c3d4e5f67890"


def user_data(cluster: str) -> str:
    return f"#!/bin/bash\necho ECS_CLUSTER={cluster} >> /etc/ecs/ecs.config\n"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, built_images: None) -> Iterator[Platform]:
    with Platform(tmp_path_factory.mktemp("instances"), fargate=False) as running:
        try:
            yield running
        finally:
            _terminate_everything(running)


def _terminate_everything(platform: Platform) -> None:
    """Terminate what the tests left (groups first), and remove any container of their instances."""
    ids: list[str] = []
    try:
        for group in platform.aws("autoscaling", "describe-auto-scaling-groups")["AutoScalingGroups"]:
            platform.aws(
                "autoscaling",
                "delete-auto-scaling-group",
                "--auto-scaling-group-name",
                group["AutoScalingGroupName"],
                "--force-delete",
            )
        reservations = platform.aws("ec2", "describe-instances")["Reservations"]
        ids = [i["InstanceId"] for r in reservations for i in r["Instances"]]
        live = [
            i["InstanceId"]
            for r in reservations
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ]
        if live:
            platform.aws("ec2", "terminate-instances", "--instance-ids", *live)
        wait_terminated(platform, ids)
    finally:
        remove_containers(ids)


def _container_instances(platform: Platform, cluster: str) -> list[dict[str, Any]]:
    arns = platform.aws("ecs", "list-container-instances", "--cluster", cluster)["containerInstanceArns"]
    if not arns:
        return []
    found: list[dict[str, Any]] = platform.aws(
        "ecs", "describe-container-instances", "--cluster", cluster, "--container-instances", *arns
    )["containerInstances"]
    return found


def _containers_of(instance_id: str) -> list[str]:
    return subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=dockyard.agent={instance_id}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()


def _group(platform: Platform, name: str) -> dict[str, Any]:
    groups = platform.aws("autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", name)
    return dict(groups["AutoScalingGroups"][0])


def test_run_instances_runs_a_real_agent_and_terminate_removes_it(platform: Platform, tmp_path: Path) -> None:
    platform.aws("ecs", "create-cluster", "--cluster-name", "direct")
    script = tmp_path / "user-data.sh"
    script.write_text(user_data("direct"))
    reservation = platform.aws(
        "ec2",
        "run-instances",
        "--image-id",
        AMI,
        "--instance-type",
        "t3.small",
        "--count",
        "1",
        "--user-data",
        f"file://{script}",
        "--tag-specifications",
        "ResourceType=instance,Tags=[{Key=Name,Value=direct}]",
    )
    launched = reservation["Instances"][0]
    instance_id, address = launched["InstanceId"], launched["PrivateIpAddress"]
    assert address.startswith("127.0.0.")
    until(lambda: instance_state(platform, instance_id) == "running", what="running")
    registered = until(lambda: _container_instances(platform, "direct"), what="registration")
    assert [c["ec2InstanceId"] for c in registered] == [instance_id]
    resources = {r["name"]: r.get("integerValue") for r in registered[0]["registeredResources"]}
    assert resources["CPU"] == 2048 and resources["MEMORY"] == 1966
    # a task on the instance runs in a real container, published on the instance's address
    platform.aws(
        "ecs",
        "register-task-definition",
        "--family",
        "hello-ec2",
        "--container-definitions",
        json.dumps([{"name": "web", "image": HELLO, "memory": 64, "portMappings": [{"containerPort": 80}]}]),
    )
    run = platform.aws("ecs", "run-task", "--cluster", "direct", "--task-definition", "hello-ec2")
    task_arn = run["tasks"][0]["taskArn"]
    task = platform.wait_for_task("direct", task_arn, "RUNNING")
    binding = task["containers"][0]["networkBindings"][0]
    assert binding["bindIP"] == address
    with urllib.request.urlopen(f"http://{address}:{binding['hostPort']}/", timeout=5) as response:
        assert task_arn.rsplit("/", 1)[1] in response.read().decode()
    assert _containers_of(instance_id)
    terminating = platform.aws("ec2", "terminate-instances", "--instance-ids", instance_id)
    assert terminating["TerminatingInstances"][0]["CurrentState"]["Name"] == "shutting-down"
    until(lambda: instance_state(platform, instance_id) == "terminated", what="terminated")
    status = platform.aws(
        "ecs",
        "describe-container-instances",
        "--cluster",
        "direct",
        "--container-instances",
        registered[0]["containerInstanceArn"],
    )["containerInstances"][0]["status"]
    assert status == "INACTIVE"
    assert platform.wait_for_task("direct", task_arn, "STOPPED")["lastStatus"] == "STOPPED"
    assert _containers_of(instance_id) == []


def test_an_auto_scaling_group_of_t2_micro(platform: Platform) -> None:
    platform.aws("ecs", "create-cluster", "--cluster-name", "asg")
    data = json.dumps(
        {
            "ImageId": AMI,
            "InstanceType": "t2.micro",
            "UserData": base64.b64encode(user_data("asg").encode()).decode(),
        }
    )
    platform.aws(
        "ec2", "create-launch-template", "--launch-template-name", "asg-nodes", "--launch-template-data", data
    )
    subnets = ",".join(s["SubnetId"] for s in platform.aws("ec2", "describe-subnets")["Subnets"])
    platform.aws(
        "autoscaling",
        "create-auto-scaling-group",
        "--auto-scaling-group-name",
        "asg",
        "--launch-template",
        "LaunchTemplateName=asg-nodes,Version=$Latest",
        "--min-size",
        "0",
        "--max-size",
        "2",
        "--desired-capacity",
        "0",
        "--vpc-zone-identifier",
        subnets,
    )
    assert _group(platform, "asg")["Instances"] == []
    platform.aws(
        "autoscaling", "set-desired-capacity", "--auto-scaling-group-name", "asg", "--desired-capacity", "1"
    )
    registered = until(lambda: _container_instances(platform, "asg"), what="an instance to register")
    assert len(registered) == 1
    container_instance = registered[0]
    resources = {r["name"]: r.get("integerValue") for r in container_instance["registeredResources"]}
    assert resources["CPU"] == 1024 and resources["MEMORY"] == 983
    attributes = {a["name"]: a.get("value") for a in container_instance["attributes"]}
    assert attributes["ecs.instance-type"] == "t2.micro" and attributes["ecs.ami-id"] == AMI
    group = until(
        lambda: (
            lambda g: g if g["Instances"] and g["Instances"][0]["LifecycleState"] == "InService" else None
        )(_group(platform, "asg")),
        what="the instance in service",
    )
    first = group["Instances"][0]["InstanceId"]
    assert container_instance["ec2InstanceId"] == first
    # scale-in protection: with desired 0, the protected instance stays
    platform.aws(
        "autoscaling", "set-desired-capacity", "--auto-scaling-group-name", "asg", "--desired-capacity", "2"
    )
    group = until(
        lambda: (
            lambda g: (
                g
                if len(g["Instances"]) == 2
                and all(i["LifecycleState"] == "InService" for i in g["Instances"])
                else None
            )
        )(_group(platform, "asg")),
        what="two instances in service",
    )
    second = next(i["InstanceId"] for i in group["Instances"] if i["InstanceId"] != first)
    platform.aws(
        "autoscaling",
        "set-instance-protection",
        "--auto-scaling-group-name",
        "asg",
        "--instance-ids",
        second,
        "--protected-from-scale-in",
    )
    platform.aws(
        "autoscaling", "set-desired-capacity", "--auto-scaling-group-name", "asg", "--desired-capacity", "0"
    )
    until(
        lambda: instance_state(platform, first) == "terminated", what="the unprotected instance to terminate"
    )
    group = _group(platform, "asg")
    assert [i["InstanceId"] for i in group["Instances"]] == [second]
    statuses = {c["ec2InstanceId"]: c["status"] for c in _container_instances(platform, "asg")}
    assert statuses == {second: "ACTIVE"}
    gone = platform.aws(
        "ecs",
        "describe-container-instances",
        "--cluster",
        "asg",
        "--container-instances",
        container_instance["containerInstanceArn"],
    )["containerInstances"][0]
    assert gone["status"] == "INACTIVE"
    # unprotected, it goes too
    platform.aws(
        "autoscaling",
        "set-instance-protection",
        "--auto-scaling-group-name",
        "asg",
        "--instance-ids",
        second,
        "--no-protected-from-scale-in",
    )
    until(lambda: instance_state(platform, second) == "terminated", what="the second instance to terminate")
    until(lambda: not _group(platform, "asg")["Instances"], what="an empty group")
    assert _container_instances(platform, "asg") == []
    activities = platform.aws(
        "autoscaling", "describe-scaling-activities", "--auto-scaling-group-name", "asg"
    )
    descriptions = [a["Description"] for a in activities["Activities"]]
    assert descriptions[0] == f"Terminating EC2 instance: {second}"
    assert f"Launching a new EC2 instance: {first}" in descriptions
    platform.aws("autoscaling", "delete-auto-scaling-group", "--auto-scaling-group-name", "asg")


def test_instance_agents_come_back_with_the_server(platform: Platform, tmp_path: Path) -> None:
    platform.aws("ecs", "create-cluster", "--cluster-name", "restart")
    script = tmp_path / "user-data.sh"
    script.write_text(user_data("restart"))
    launched = platform.aws(
        "ec2",
        "run-instances",
        "--image-id",
        AMI,
        "--instance-type",
        "t3.micro",
        "--count",
        "1",
        "--user-data",
        f"file://{script}",
    )["Instances"][0]
    instance_id = launched["InstanceId"]
    registered = until(lambda: _container_instances(platform, "restart"), what="registration")
    arn = registered[0]["containerInstanceArn"]
    platform.aws(
        "ecs",
        "register-task-definition",
        "--family",
        "stay",
        "--container-definitions",
        json.dumps([{"name": "web", "image": HELLO, "memory": 32, "portMappings": [{"containerPort": 80}]}]),
    )
    task_arn = platform.aws("ecs", "run-task", "--cluster", "restart", "--task-definition", "stay")["tasks"][
        0
    ]["taskArn"]
    runtime_id = platform.wait_for_task("restart", task_arn, "RUNNING")["containers"][0]["runtimeId"]
    platform.restart_server()  # the agent is stopped with the server and started again by it
    assert instance_state(platform, instance_id) == "running"
    again = until(
        lambda: [c for c in _container_instances(platform, "restart") if c["agentConnected"]],
        what="the agent to come back",
    )
    assert [c["containerInstanceArn"] for c in again] == [arn]
    task = platform.wait_for_task("restart", task_arn, "RUNNING")
    assert task["lastStatus"] == "RUNNING" and task["containers"][0]["runtimeId"] == runtime_id
    platform.aws("ec2", "terminate-instances", "--instance-ids", instance_id)
    until(lambda: instance_state(platform, instance_id) == "terminated", what="terminated")
    assert _containers_of(instance_id) == []
