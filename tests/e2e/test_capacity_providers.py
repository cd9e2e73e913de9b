"""End to end with real Docker, real agents and the AWS CLI: capacity providers.

A cluster with FARGATE, FARGATE_SPOT and an Auto Scaling group capacity provider of t2.micro
instances (desired capacity 0, managed scaling). A task that fits nowhere on the EC2 provider
waits in PROVISIONING, managed scaling raises the group's desired capacity, and the task runs in
a container on the new instance once its agent registers. A Fargate Spot task of a service is
interrupted (`dockyard fargate-spot interrupt`): warned, stopped with SpotInterruption, replaced.
The server publishes a managed-scaling datapoint every second, so the whole run takes seconds.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.testing.platform import Platform
from tests.e2e.instances import remove_containers, wait_terminated
from tests.waiting import until

pytestmark = pytest.mark.docker

HELLO = "dockyard/hello:latest"
AMI = "ami-0a1b2c3d4e5f67890"
CLUSTER = "capacity"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, built_images: None) -> Iterator[Platform]:
    settings = {"capacity_metric_interval": 1.0, "provisioning_retry": 1.0, "service_healthy_delay": 1.0}
    with Platform(tmp_path_factory.mktemp("capacity"), server_settings=settings) as running:
        try:
            yield running
        finally:
            _clean_up(running)


def _clean_up(platform: Platform) -> None:
    """Services gone, the group deleted with its instances, their containers removed."""
    ids: list[str] = []
    try:
        for arn in platform.aws("ecs", "list-services", "--cluster", CLUSTER, check=False).get(
            "serviceArns", []
        ):
            platform.aws(
                "ecs", "delete-service", "--cluster", CLUSTER, "--service", arn, "--force", check=False
            )
        reservations = platform.aws("ec2", "describe-instances")["Reservations"]
        ids = [i["InstanceId"] for r in reservations for i in r["Instances"]]
        platform.aws(
            "autoscaling", "delete-auto-scaling-group", "--auto-scaling-group-name", "nodes",
            "--force-delete", check=False,
        )  # fmt: skip
        wait_terminated(platform, ids)
    finally:
        remove_containers(ids)


def _group(platform: Platform) -> dict[str, Any]:
    groups = platform.aws(
        "autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "nodes"
    )
    return dict(groups["AutoScalingGroups"][0])


def _task(platform: Platform, arn: str) -> dict[str, Any]:
    return dict(platform.aws("ecs", "describe-tasks", "--cluster", CLUSTER, "--tasks", arn)["tasks"][0])


def _service_tasks(platform: Platform, service: str) -> list[dict[str, Any]]:
    arns = platform.aws("ecs", "list-tasks", "--cluster", CLUSTER, "--service-name", service)["taskArns"]
    if not arns:
        return []
    found: list[dict[str, Any]] = platform.aws(
        "ecs", "describe-tasks", "--cluster", CLUSTER, "--tasks", *arns
    )["tasks"]
    return found


def _setup(platform: Platform) -> None:
    data = json.dumps(
        {
            "ImageId": AMI,
            "InstanceType": "t2.micro",
            "UserData": base64.b64encode(
                f"#!/bin/bash\necho ECS_CLUSTER={CLUSTER} >> /etc/ecs/ecs.config\n".encode()
            ).decode(),
        }
    )
    platform.aws(
        "ec2", "create-launch-template", "--launch-template-name", "nodes", "--launch-template-data", data
    )
    subnets = ",".join(s["SubnetId"] for s in platform.aws("ec2", "describe-subnets")["Subnets"])
    platform.aws(
        "autoscaling", "create-auto-scaling-group", "--auto-scaling-group-name", "nodes",
        "--launch-template", "LaunchTemplateName=nodes,Version=$Latest",
        "--min-size", "0", "--max-size", "2", "--desired-capacity", "0", "--vpc-zone-identifier", subnets,
    )  # fmt: skip
    created = platform.aws(
        "ecs", "create-capacity-provider", "--name", "nodes-cp",
        "--auto-scaling-group-provider",
        "autoScalingGroupArn=nodes,managedScaling={status=ENABLED,targetCapacity=100,instanceWarmupPeriod=0},"
        "managedTerminationProtection=DISABLED",
    )["capacityProvider"]  # fmt: skip
    assert (
        created["status"] == "ACTIVE"
        and created["autoScalingGroupProvider"]["managedScaling"]["status"] == "ENABLED"
    )
    cluster = platform.aws(
        "ecs", "create-cluster", "--cluster-name", CLUSTER,
        "--capacity-providers", "FARGATE", "FARGATE_SPOT", "nodes-cp",
        "--default-capacity-provider-strategy", "capacityProvider=nodes-cp,weight=1",
    )["cluster"]  # fmt: skip
    assert cluster["capacityProviders"] == ["FARGATE", "FARGATE_SPOT", "nodes-cp"]


def test_capacity_providers_scale_out_for_waiting_tasks_and_spot_interruptions(platform: Platform) -> None:
    _setup(platform)
    providers = platform.aws("ecs", "describe-capacity-providers", "--cluster", CLUSTER)["capacityProviders"]
    assert [p["name"] for p in providers] == ["FARGATE", "FARGATE_SPOT", "nodes-cp"]

    # A task that fits nowhere on the EC2 provider (no instance at all) waits in PROVISIONING...
    platform.aws(
        "ecs", "register-task-definition", "--family", "hello-ec2", "--requires-compatibilities", "EC2",
        "--container-definitions",
        json.dumps([{"name": "web", "image": HELLO, "memory": 256, "portMappings": [{"containerPort": 80}]}]),
    )  # fmt: skip
    started = time.monotonic()
    run = platform.aws("ecs", "run-task", "--cluster", CLUSTER, "--task-definition", "hello-ec2")
    assert run["failures"] == []
    task = run["tasks"][0]
    assert (task["lastStatus"], task["capacityProviderName"], task["launchType"]) == (
        "PROVISIONING",
        "nodes-cp",
        "EC2",
    )
    assert "containerInstanceArn" not in task
    # ... managed scaling raises the group's desired capacity (CPR 200 with N = 0) ...
    until(lambda: _group(platform)["DesiredCapacity"] == 1, timeout=20, what="managed scaling to scale out")
    # ... and the task runs on the new instance once its agent registers.
    running = until(
        lambda: (lambda t: t if t["lastStatus"] == "RUNNING" else None)(_task(platform, task["taskArn"])),
        timeout=45,
        what="the waiting task to run",
    )
    instance = platform.aws(
        "ecs", "describe-container-instances", "--cluster", CLUSTER,
        "--container-instances", running["containerInstanceArn"],
    )["containerInstances"][0]  # fmt: skip
    assert instance["capacityProviderName"] == "nodes-cp"
    assert instance["ec2InstanceId"] == _group(platform)["Instances"][0]["InstanceId"]
    memory = {r["name"]: r.get("integerValue") for r in instance["registeredResources"]}["MEMORY"]
    assert memory == 983  # a t2.micro's envelope
    containers = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=com.amazonaws.ecs.task-arn={task['taskArn']}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert containers, "the task runs in a real container"
    print(
        f"PROVISIONING -> RUNNING through a scale-out in {time.monotonic() - started:.1f}s", file=sys.stderr
    )

    # A Fargate Spot service: an interruption stops its task and the service replaces it.
    platform.aws(
        "ecs", "register-task-definition", "--family", "hello-spot", "--requires-compatibilities", "FARGATE",
        "--network-mode", "awsvpc", "--cpu", "256", "--memory", "512",
        "--container-definitions", json.dumps([{"name": "web", "image": HELLO, "stopTimeout": 2}]),
    )  # fmt: skip
    platform.aws(
        "ecs", "create-service", "--cluster", CLUSTER, "--service-name", "spot",
        "--task-definition", "hello-spot", "--desired-count", "1",
        "--capacity-provider-strategy", "capacityProvider=FARGATE_SPOT,weight=1",
        "--network-configuration", f"awsvpcConfiguration={{subnets=[{platform.subnet(0)}]}}",
    )  # fmt: skip
    first = until(
        lambda: [t for t in _service_tasks(platform, "spot") if t["lastStatus"] == "RUNNING"],
        timeout=45,
        what="the Spot task to run",
    )[0]
    assert first["capacityProviderName"] == "FARGATE_SPOT" and first["launchType"] == "FARGATE"
    interrupted = subprocess.run(
        [
            sys.executable,
            "-m",
            "dockyard",
            "fargate-spot",
            "interrupt",
            "--cluster",
            CLUSTER,
            "--endpoint",
            platform.endpoint,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert interrupted.startswith(first["taskArn"]) and "TerminationNotice" in interrupted
    stopped = until(
        lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(_task(platform, first["taskArn"])),
        timeout=30,
        what="the interrupted task to stop",
    )
    assert (stopped["stopCode"], stopped["stoppedReason"]) == (
        "SpotInterruption",
        "Your Spot Task was interrupted.",
    )
    replacement = until(
        lambda: [
            t
            for t in _service_tasks(platform, "spot")
            if t["taskArn"] != first["taskArn"] and t["lastStatus"] == "RUNNING"
        ],
        timeout=45,
        what="the service to replace it",
    )[0]
    assert replacement["capacityProviderName"] == "FARGATE_SPOT"
    print(f"whole scenario in {time.monotonic() - started:.1f}s", file=sys.stderr)


def test_a_service_growing_past_its_instances_gets_another(platform: Platform) -> None:
    """Runs after the scenario above: one t2.micro runs a 256 MiB task. A service of three more
    (1024 MiB in all) does not fit on it; managed scaling adds the group's second instance."""
    before = {i["InstanceId"] for i in _group(platform)["Instances"]}
    assert len(before) == 1
    platform.aws(
        "ecs", "create-service", "--cluster", CLUSTER, "--service-name", "grow",
        "--task-definition", "hello-ec2", "--desired-count", "3",
        "--capacity-provider-strategy", "capacityProvider=nodes-cp,weight=1",
    )  # fmt: skip
    until(
        lambda: _group(platform)["DesiredCapacity"] == 2,
        timeout=30,
        what="managed scaling to add an instance",
    )
    running = until(
        lambda: (lambda ts: ts if len(ts) == 3 and all(t["lastStatus"] == "RUNNING" for t in ts) else None)(
            _service_tasks(platform, "grow")
        ),
        timeout=60,
        what="the service's three tasks to run",
    )
    hosts = {t["containerInstanceArn"] for t in running}
    instances = platform.aws(
        "ecs", "describe-container-instances", "--cluster", CLUSTER, "--container-instances", *hosts
    )["containerInstances"]
    new = {i["ec2InstanceId"] for i in instances} - before
    assert len(new) == 1, "a task runs on the instance managed scaling added"
    events = platform.aws("ecs", "describe-services", "--cluster", CLUSTER, "--services", "grow")["services"][
        0
    ]
    assert any("has started" in e["message"] for e in events["events"])
