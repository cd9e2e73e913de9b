"""End to end with real Docker, real agents and the real AWS CLI: what a user of ECS would try first."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.testing.platform import Platform

pytestmark = pytest.mark.docker

HELLO = "dockyard/hello:latest"
BUSYBOX = "dockyard/busybox:latest"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, built_images: None) -> Iterator[Platform]:
    with Platform(tmp_path_factory.mktemp("platform")) as running:
        yield running


def register(platform: Platform, family: str, containers: list[dict[str, Any]], **extra: Any) -> str:
    response = platform.ecs().register_task_definition(
        family=family, containerDefinitions=containers, **extra
    )
    return str(response["taskDefinition"]["taskDefinitionArn"])


def fargate(platform: Platform, family: str, containers: list[dict[str, Any]], **extra: Any) -> str:
    return register(
        platform,
        family,
        containers,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        **extra,
    )


def run_fargate(platform: Platform, cluster: str, family: str) -> str:
    response = platform.ecs().run_task(
        cluster=cluster,
        taskDefinition=family,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [platform.subnet()]}},
    )
    assert response["failures"] == [], response["failures"]
    return str(response["tasks"][0]["taskArn"])


def http_get(url: str, *, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def docker_logs(container_id: str) -> str:
    result = subprocess.run(["docker", "logs", container_id], capture_output=True, text=True, check=False)
    return result.stdout + result.stderr


def container(task: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in task["containers"] if c["name"] == name)


def test_fargate_task_answers_http_on_its_private_ip(platform: Platform) -> None:
    platform.aws("ecs", "create-cluster", "--cluster-name", "web")
    platform.aws(
        "ecs",
        "register-task-definition",
        "--family",
        "hello",
        "--requires-compatibilities",
        "FARGATE",
        "--network-mode",
        "awsvpc",
        "--cpu",
        "256",
        "--memory",
        "512",
        "--container-definitions",
        json.dumps([{"name": "web", "image": HELLO, "portMappings": [{"containerPort": 80}]}]),
    )
    run = platform.aws(
        "ecs",
        "run-task",
        "--cluster",
        "web",
        "--task-definition",
        "hello",
        "--launch-type",
        "FARGATE",
        "--network-configuration",
        f"awsvpcConfiguration={{subnets=[{platform.subnet()}],assignPublicIp=DISABLED}}",
    )
    arn = run["tasks"][0]["taskArn"]
    platform.wait_for_task("web", arn, "RUNNING")
    task = platform.aws("ecs", "describe-tasks", "--cluster", "web", "--tasks", arn)["tasks"][0]
    assert task["lastStatus"] == "RUNNING"
    assert task["attachments"][0]["status"] == "ATTACHED"
    address = task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
    body = http_get(f"http://{address}/hello/path")
    assert f"Task ID: {arn.rsplit('/', 1)[1]}" in body
    assert f"Server address: {address}" in body
    assert "GET /hello/path" in body
    platform.aws("ecs", "stop-task", "--cluster", "web", "--task", arn, "--reason", "done")
    stopped = platform.wait_for_task("web", arn, "STOPPED")
    assert stopped["stopCode"] == "UserInitiated" and stopped["stoppedReason"] == "done"
    assert stopped["attachments"][0]["status"] == "DELETED"


def test_two_containers_share_a_task_volume(platform: Platform) -> None:
    platform.ecs().create_cluster(clusterName="sidecar")
    fargate(
        platform,
        "sidecar",
        [
            {
                "name": "app",
                "image": BUSYBOX,
                "command": ["sh", "-c", "echo written-by-app > /data/msg; sleep 300"],
                "stopTimeout": 2,
                "mountPoints": [{"sourceVolume": "shared", "containerPath": "/data"}],
            },
            {
                "name": "reader",
                "image": BUSYBOX,
                "essential": False,
                "stopTimeout": 2,
                "command": [
                    "sh",
                    "-c",
                    "while [ ! -f /shared/msg ]; do sleep 0.1; done; cat /shared/msg; sleep 300",
                ],
                "mountPoints": [{"sourceVolume": "shared", "containerPath": "/shared", "readOnly": True}],
            },
        ],
        volumes=[{"name": "shared", "host": {}}],
    )
    arn = run_fargate(platform, "sidecar", "sidecar")
    task = platform.wait_for_task("sidecar", arn, "RUNNING")
    reader = container(task, "reader")["runtimeId"]
    deadline = time.monotonic() + 10
    while "written-by-app" not in docker_logs(reader) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "written-by-app" in docker_logs(reader)
    platform.ecs().stop_task(cluster="sidecar", task=arn)
    platform.wait_for_task("sidecar", arn, "STOPPED")


def test_an_essential_container_exiting_stops_the_task(platform: Platform) -> None:
    platform.ecs().create_cluster(clusterName="essential")
    fargate(
        platform,
        "exits",
        [
            {"name": "main", "image": BUSYBOX, "command": ["sh", "-c", "sleep 1; exit 3"]},
            {
                "name": "helper",
                "image": BUSYBOX,
                "essential": False,
                "command": ["sleep", "300"],
                "stopTimeout": 2,
            },
        ],
    )
    arn = run_fargate(platform, "essential", "exits")
    task = platform.wait_for_task("essential", arn, "STOPPED", timeout=30)
    assert task["lastStatus"] == "STOPPED"
    assert task["desiredStatus"] == "STOPPED"
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    assert container(task, "main")["exitCode"] == 3
    assert container(task, "helper")["lastStatus"] == "STOPPED"
    assert container(task, "helper")["exitCode"] in (137, 143)
    assert {"startedAt", "stoppingAt", "stoppedAt", "executionStoppedAt"} <= task.keys()


def test_stop_task_sends_sigterm_then_sigkill_after_stop_timeout(platform: Platform) -> None:
    platform.ecs().create_cluster(clusterName="signals")
    fargate(
        platform,
        "graceful",
        [
            {
                "name": "app",
                "image": BUSYBOX,
                "stopTimeout": 20,
                "command": [
                    "sh",
                    "-c",
                    "trap 'echo got-term; exit 0' TERM; while :; do sleep 1 & wait $!; done",
                ],
            }
        ],
    )
    fargate(
        platform,
        "stubborn",
        [
            {
                "name": "app",
                "image": BUSYBOX,
                "stopTimeout": 2,
                "command": ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"],
            }
        ],
    )
    graceful = run_fargate(platform, "signals", "graceful")
    stubborn = run_fargate(platform, "signals", "stubborn")
    platform.wait_for_task("signals", graceful, "RUNNING")
    platform.wait_for_task("signals", stubborn, "RUNNING")
    started = time.monotonic()
    platform.aws("ecs", "stop-task", "--cluster", "signals", "--task", graceful)
    task = platform.wait_for_task("signals", graceful, "STOPPED", timeout=30)
    assert time.monotonic() - started < 10
    assert container(task, "app")["exitCode"] == 0
    assert "got-term" in docker_logs(container(task, "app")["runtimeId"])
    started = time.monotonic()
    platform.ecs().stop_task(cluster="signals", task=stubborn)
    task = platform.wait_for_task("signals", stubborn, "STOPPED", timeout=30)
    assert time.monotonic() - started >= 2
    assert container(task, "app")["exitCode"] == 137


def test_depends_on_healthy_orders_the_start(platform: Platform) -> None:
    platform.ecs().create_cluster(clusterName="ordering")
    fargate(
        platform,
        "ordered",
        [
            {
                "name": "db",
                "image": BUSYBOX,
                "command": ["sh", "-c", "sleep 2; touch /tmp/ready; sleep 300"],
                "stopTimeout": 2,
                "healthCheck": {
                    "command": ["CMD-SHELL", "test -f /tmp/ready"],
                    "interval": 5,
                    "timeout": 2,
                    "retries": 3,
                    "startPeriod": 1,
                },
            },
            {
                "name": "app",
                "image": BUSYBOX,
                "command": ["sleep", "300"],
                "stopTimeout": 2,
                "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}],
            },
        ],
    )
    arn = run_fargate(platform, "ordering", "ordered")
    ecs = platform.ecs()
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        task = ecs.describe_tasks(cluster="ordering", tasks=[arn])["tasks"][0]
        assert container(task, "app")["lastStatus"] == "PENDING"
        if container(task, "db")["lastStatus"] == "RUNNING":
            break
        time.sleep(0.1)
    task = platform.wait_for_task("ordering", arn, "RUNNING", timeout=40)
    assert container(task, "db")["healthStatus"] == "HEALTHY"
    assert task["healthStatus"] == "HEALTHY"
    db_state = json.loads(
        subprocess.run(
            ["docker", "inspect", container(task, "db")["runtimeId"]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )[0]["State"]
    app_state = json.loads(
        subprocess.run(
            ["docker", "inspect", container(task, "app")["runtimeId"]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )[0]["State"]
    healthy_at = min(entry["End"] for entry in db_state["Health"]["Log"] if entry["ExitCode"] == 0)
    assert app_state["StartedAt"] > healthy_at
    ecs.stop_task(cluster="ordering", task=arn)
    platform.wait_for_task("ordering", arn, "STOPPED")


def test_an_image_that_cannot_be_pulled_fails_the_task(platform: Platform) -> None:
    platform.ecs().create_cluster(clusterName="pull")
    fargate(platform, "missing", [{"name": "app", "image": "dockyard/no-such-image:latest"}])
    arn = run_fargate(platform, "pull", "missing")
    task = platform.wait_for_task("pull", arn, "STOPPED", timeout=60)
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError:")
    assert container(task, "app")["reason"].startswith("CannotPullContainerError:")
    assert "startedAt" not in task


def test_two_bridge_copies_on_one_instance_get_dynamic_host_ports(platform: Platform) -> None:
    platform.aws("ecs", "create-cluster", "--cluster-name", "bridge")
    _, instance = platform.add_instance("bridge", instance_type="t3.medium")
    described = platform.aws(
        "ecs", "describe-container-instances", "--cluster", "bridge", "--container-instances", instance
    )["containerInstances"][0]
    registered = {r["name"]: r for r in described["registeredResources"]}
    assert registered["CPU"]["integerValue"] == 2048
    assert described["agentConnected"] is True
    attributes = {a["name"]: a.get("value") for a in described["attributes"]}
    assert attributes["ecs.instance-type"] == "t3.medium"
    platform.aws(
        "ecs",
        "register-task-definition",
        "--family",
        "web",
        "--container-definitions",
        json.dumps([{"name": "web", "image": HELLO, "memory": 64, "portMappings": [{"containerPort": 80}]}]),
    )
    run = platform.aws("ecs", "run-task", "--cluster", "bridge", "--task-definition", "web", "--count", "2")
    arns = [t["taskArn"] for t in run["tasks"]]
    bindings = []
    for arn in arns:
        task = platform.wait_for_task("bridge", arn, "RUNNING")
        assert task["lastStatus"] == "RUNNING"
        (binding,) = task["containers"][0]["networkBindings"]
        assert binding["containerPort"] == 80
        bindings.append(binding)
    assert bindings[0]["hostPort"] != bindings[1]["hostPort"]
    for arn, binding in zip(arns, bindings, strict=True):
        assert 32768 <= binding["hostPort"] <= 65535
        body = http_get(f"http://{binding['bindIP']}:{binding['hostPort']}/")
        assert f"Task ID: {arn.rsplit('/', 1)[1]}" in body
    remaining = platform.aws(
        "ecs", "describe-container-instances", "--cluster", "bridge", "--container-instances", instance
    )["containerInstances"][0]
    memory = next(r for r in remaining["remainingResources"] if r["name"] == "MEMORY")
    assert memory["integerValue"] == registered["MEMORY"]["integerValue"] - 128
    assert remaining["runningTasksCount"] == 2
    platform.ecs().stop_task(cluster="bridge", task=arns[0])
    platform.ecs().stop_task(cluster="bridge", task=arns[1])
    for arn in arns:
        platform.wait_for_task("bridge", arn, "STOPPED")


def test_an_agent_restart_keeps_the_running_task(platform: Platform) -> None:
    platform.ecs().create_cluster(clusterName="restart")
    agent, _ = platform.add_instance("restart", instance_type="t3.small")
    register(
        platform,
        "survivor",
        [{"name": "web", "image": HELLO, "memory": 32, "portMappings": [{"containerPort": 80}]}],
    )
    arn = platform.ecs().run_task(cluster="restart", taskDefinition="survivor")["tasks"][0]["taskArn"]
    before = platform.wait_for_task("restart", arn, "RUNNING")
    runtime_id = before["containers"][0]["runtimeId"]
    agent.kill()
    agent.start()
    time.sleep(2)
    after = platform.wait_for_task("restart", arn, "RUNNING")
    assert after["lastStatus"] == "RUNNING"
    assert after["containers"][0]["runtimeId"] == runtime_id
    binding = after["containers"][0]["networkBindings"][0]
    assert arn.rsplit("/", 1)[1] in http_get(f"http://{binding['bindIP']}:{binding['hostPort']}/")
    # a container that dies while its agent is down is reported when the agent comes back
    agent.kill()
    subprocess.run(["docker", "kill", runtime_id], capture_output=True, check=True)
    agent.start()
    task = platform.wait_for_task("restart", arn, "STOPPED", timeout=30)
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["containers"][0]["exitCode"] == 137


def test_a_server_restart_keeps_all_state(platform: Platform, tmp_path: Path) -> None:
    platform.ecs().create_cluster(clusterName="durable", tags=[{"key": "team", "value": "core"}])
    fargate(platform, "durable", [{"name": "web", "image": HELLO}])
    arn = run_fargate(platform, "durable", "durable")
    platform.wait_for_task("durable", arn, "RUNNING")
    platform.restart_server()
    ecs = platform.ecs()
    cluster = ecs.describe_clusters(clusters=["durable"], include=["TAGS"])["clusters"][0]
    assert cluster["status"] == "ACTIVE" and cluster["tags"] == [{"key": "team", "value": "core"}]
    assert ecs.describe_task_definition(taskDefinition="durable")["taskDefinition"]["revision"] == 1
    assert ecs.describe_tasks(cluster="durable", tasks=[arn])["tasks"][0]["lastStatus"] == "RUNNING"
    # the Fargate pool reconnects and takes new work; stopping the old task still works
    second = run_fargate(platform, "durable", "durable")
    assert platform.wait_for_task("durable", second, "RUNNING", timeout=60)["lastStatus"] == "RUNNING"
    for task in (arn, second):
        ecs.stop_task(cluster="durable", task=task)
        platform.wait_for_task("durable", task, "STOPPED", timeout=60)
