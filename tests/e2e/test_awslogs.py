"""awslogs end to end: real Docker, a real agent, the real AWS CLI reading what a task printed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.agent.runtime.docker import DockerRuntime
from dockyard.agent.runtime.log_frames import timestamp_ns
from dockyard.agent.runtime.protocol import ContainerSpec
from dockyard.images import ensure_image
from dockyard.testing.platform import Platform

pytestmark = pytest.mark.docker

BUSYBOX = "dockyard/busybox:latest"
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, built_images: None) -> Iterator[Platform]:
    with Platform(tmp_path_factory.mktemp("awslogs")) as running:
        running.aws("ecs", "create-cluster", "--cluster-name", "logs")
        yield running


def run(platform: Platform, family: str, script: str, options: dict[str, str]) -> dict[str, Any]:
    """Run a one-container Fargate task with awslogs to its end; the stopped task."""
    container = {
        "name": "app",
        "image": BUSYBOX,
        "command": ["sh", "-c", script],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-region": "us-east-1", **options}},
    }
    platform.aws(
        "ecs",
        "register-task-definition",
        "--family",
        family,
        "--requires-compatibilities",
        "FARGATE",
        "--network-mode",
        "awsvpc",
        "--cpu",
        "256",
        "--memory",
        "512",
        "--execution-role-arn",
        EXECUTION_ROLE,
        "--container-definitions",
        json.dumps([container]),
    )
    arn = platform.aws(
        "ecs",
        "run-task",
        "--cluster",
        "logs",
        "--task-definition",
        family,
        "--launch-type",
        "FARGATE",
        "--network-configuration",
        f"awsvpcConfiguration={{subnets=[{platform.subnet()}]}}",
    )["tasks"][0]["taskArn"]
    return platform.wait_for_task("logs", arn, "STOPPED", timeout=90.0)


def test_a_task_prints_and_its_lines_stay_in_cloudwatch_logs(platform: Platform) -> None:
    platform.aws("logs", "create-log-group", "--log-group-name", "/ecs/printer")
    # stdout and stderr are separate pipes: the pauses keep the engine's order of their lines certain
    script = (
        "for i in 1 2 3; do echo line $i; done; sleep 0.3; echo ERROR boom >&2; sleep 0.3; printf 'no EOL'"
    )
    task = run(platform, "printer", script, {"awslogs-group": "/ecs/printer", "awslogs-stream-prefix": "ecs"})
    assert task["stopCode"] == "EssentialContainerExited", task.get("stoppedReason")
    stream = f"ecs/app/{task['taskArn'].rsplit('/', 1)[1]}"
    streams = platform.aws("logs", "describe-log-streams", "--log-group-name", "/ecs/printer")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [stream]
    page = platform.aws(
        "logs",
        "get-log-events",
        "--log-group-name",
        "/ecs/printer",
        "--log-stream-name",
        stream,
        "--start-from-head",
    )
    assert [e["message"] for e in page["events"]] == [
        "line 1",
        "line 2",
        "line 3",
        "ERROR boom",
        "no EOL",
    ]
    again = platform.aws(
        "logs",
        "get-log-events",
        "--log-group-name",
        "/ecs/printer",
        "--log-stream-name",
        stream,
        "--next-token",
        page["nextForwardToken"],
    )
    assert again["events"] == [] and again["nextForwardToken"] == page["nextForwardToken"]
    errors = platform.aws(
        "logs", "filter-log-events", "--log-group-name", "/ecs/printer", "--filter-pattern", "ERROR"
    )
    assert [(e["logStreamName"], e["message"]) for e in errors["events"]] == [(stream, "ERROR boom")]


def test_a_missing_group_fails_the_task_and_create_group_makes_it(platform: Platform) -> None:
    missing = run(
        platform, "nogroup", "echo hi", {"awslogs-group": "/ecs/absent", "awslogs-stream-prefix": "ecs"}
    )
    reason = (
        "ResourceInitializationError: failed to validate logger args: create stream has been retried "
        "1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log "
        "group does not exist. : exit status 1"
    )
    assert (missing["stopCode"], missing["stoppedReason"]) == ("TaskFailedToStart", reason)
    created = run(
        platform,
        "mkgroup",
        "echo made",
        {"awslogs-group": "/ecs/made", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"},
    )
    assert created["stopCode"] == "EssentialContainerExited", created.get("stoppedReason")
    events = platform.aws("logs", "filter-log-events", "--log-group-name", "/ecs/made")["events"]
    assert [e["message"] for e in events] == ["made"]


async def test_the_engine_gives_timestamped_frames_to_resume_from(
    docker_runtime: DockerRuntime, docker_labels: dict[str, str]
) -> None:
    image = await ensure_image(docker_runtime, "busybox")
    spec = ContainerSpec(
        name=f"dytest-{uuid.uuid4().hex[:12]}",
        image=image,
        labels=docker_labels,
        command=("sh", "-c", "echo one; echo two >&2; sleep 0.2; echo three; printf four"),
    )
    container_id = await docker_runtime.create(spec)
    await docker_runtime.start(container_id)
    frames = [f async for f in docker_runtime.log_frames(container_id, follow=True)]
    assert [(f.stream, f.data) for f in frames if f.stream == 1] == [
        (1, b"one\n"),
        (1, b"three\n"),
        (1, b"four"),
    ]
    assert [(f.stream, f.data) for f in frames if f.stream == 2] == [(2, b"two\n")]
    assert all(timestamp_ns(f.timestamp) > 0 for f in frames)
    since = [f async for f in docker_runtime.log_frames(container_id, since=frames[2].timestamp)]
    assert since == frames[2:]
