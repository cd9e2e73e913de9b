"""End to end, real Docker: what the agent hands the engine for a container definition, read back
with `docker inspect`, and Fargate ephemeral storage as a container sees it.

- One EC2 task whose container uses most container-definition settings, plus RunTask overrides:
  each one must reach the container's Config / HostConfig; the task runs under its instance's
  cgroup parent, whose memory limit is the instance type's; its task-scoped Docker volume is
  removed with the task after the cleanup wait.
- A `host` network-mode task answers on the host port.
- A Fargate task with 21 GiB of ephemeral storage: `df` in the container shows 21 GiB, and the task
  metadata endpoint reports it (EphemeralStorageMetrics). ENOSPC past the size is tested on a tiny
  filesystem in tests/unit/test_agent_storage.py.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.core.instance_types import instance_type
from dockyard.testing.platform import Platform

pytestmark = pytest.mark.docker

HELLO = "dockyard/hello:latest"
BUSYBOX = "dockyard/busybox:latest"
GIB_KIB = 1024 * 1024


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, built_images: None) -> Iterator[Platform]:
    with Platform(tmp_path_factory.mktemp("platform"), cleanup_wait="2s") as running:
        yield running


def inspect(container_id: str) -> dict[str, Any]:
    out = subprocess.run(["docker", "inspect", container_id], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout)[0])


def docker_logs(container_id: str) -> str:
    result = subprocess.run(["docker", "logs", container_id], capture_output=True, text=True, check=False)
    return result.stdout + result.stderr


def wait_for_log(container_id: str, text: str, *, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        logs = docker_logs(container_id)
        if text in logs or time.monotonic() > deadline:
            return logs
        time.sleep(0.1)


def volume_exists(name: str) -> bool:
    return (
        subprocess.run(["docker", "volume", "inspect", name], capture_output=True, check=False).returncode
        == 0
    )


def container(task: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in task["containers"] if c["name"] == name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_container_definition_settings_reach_docker(platform: Platform, tmp_path: Path) -> None:
    ecs = platform.ecs()
    ecs.create_cluster(clusterName="settings")
    _, instance_arn = platform.add_instance("settings", instance_type="t3.small")
    host_dir = tmp_path / "host-data"
    host_dir.mkdir()
    (host_dir / "hello.txt").write_text("from the host\n")
    script = (
        'echo "A=$A B=$B C=$C"; echo "uid=$(id -u) gid=$(id -g) pwd=$(pwd) nofile=$(ulimit -n)"; '
        "cat /host-data/hello.txt; touch /rootfs-file 2>/dev/null || echo rootfs-read-only; "
        "echo ready; exec sleep 300"
    )
    ecs.register_task_definition(
        family="settings",
        volumes=[
            {"name": "host-data", "host": {"sourcePath": str(host_dir)}},
            {"name": "cache", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}},
        ],
        containerDefinitions=[
            {
                "name": "app",
                "image": BUSYBOX,
                "essential": True,
                "entryPoint": ["/bin/sh", "-c"],
                "command": ["echo this command is overridden"],
                "environment": [{"name": "A", "value": "from-definition"}, {"name": "B", "value": "kept"}],
                "user": "65534:65534",
                "workingDirectory": "/scratch",
                "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}],
                "readonlyRootFilesystem": True,
                "dockerLabels": {"team": "core", "tier": "backend"},
                "memory": 128,
                "memoryReservation": 64,
                "cpu": 256,
                "stopTimeout": 2,
                "linuxParameters": {
                    "initProcessEnabled": True,
                    "capabilities": {"drop": ["NET_RAW", "MKNOD"]},
                    "tmpfs": [{"containerPath": "/scratch", "size": 16, "mountOptions": ["noexec"]}],
                },
                "mountPoints": [
                    {"sourceVolume": "host-data", "containerPath": "/host-data", "readOnly": True},
                    {"sourceVolume": "cache", "containerPath": "/cache"},
                ],
            },
            {
                "name": "reader",
                "image": BUSYBOX,
                "essential": False,
                "command": ["sleep", "300"],
                "stopTimeout": 2,
                "memory": 32,
                "volumesFrom": [{"sourceContainer": "app", "readOnly": True}],
            },
        ],
    )
    run = ecs.run_task(
        cluster="settings",
        taskDefinition="settings",
        overrides={
            "containerOverrides": [
                {
                    "name": "app",
                    "command": [script],
                    "environment": [{"name": "A", "value": "from-override"}, {"name": "C", "value": "added"}],
                }
            ]
        },
    )
    arn = run["tasks"][0]["taskArn"]
    task = platform.wait_for_task("settings", arn, "RUNNING")
    assert task["lastStatus"] == "RUNNING", task
    app_id = container(task, "app")["runtimeId"]
    app, reader = inspect(app_id), inspect(container(task, "reader")["runtimeId"])
    config, host = app["Config"], app["HostConfig"]

    env = dict(item.split("=", 1) for item in config["Env"])
    assert (env["A"], env["B"], env["C"]) == ("from-override", "kept", "added")
    assert env["AWS_EXECUTION_ENV"] == "AWS_ECS_EC2" and env["ECS_CONTAINER_METADATA_URI_V4"]
    assert config["Entrypoint"] == ["/bin/sh", "-c"] and config["Cmd"] == [script]
    assert config["User"] == "65534:65534" and config["WorkingDir"] == "/scratch"
    assert config["Labels"]["team"] == "core" and config["Labels"]["tier"] == "backend"
    assert config["Labels"]["com.amazonaws.ecs.task-arn"] == arn
    assert config["Labels"]["com.amazonaws.ecs.container-name"] == "app"
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert host["ReadonlyRootfs"] is True
    assert host["Memory"] == 128 * 1024 * 1024 and host["MemoryReservation"] == 64 * 1024 * 1024
    assert host["CpuShares"] == 256
    assert host["Init"] is True
    assert sorted(host["CapDrop"]) == ["MKNOD", "NET_RAW"]
    assert host["Tmpfs"] == {"/scratch": f"noexec,size={16 * 1024 * 1024}"}
    assert f"{host_dir}:/host-data:ro" in host["Binds"]
    (cache,) = [m for m in app["Mounts"] if m["Destination"] == "/cache"]
    assert cache["Type"] == "volume" and cache["Driver"] == "local"
    assert cache["Name"].startswith("ecs-settings-1-cache-")
    assert reader["HostConfig"]["VolumesFrom"] == [f"{app_id}:ro"]
    assert {m["Destination"] for m in reader["Mounts"]} >= {"/host-data", "/cache"}

    # the instance envelope: its cgroup parent, limited to the instance type's memory
    described = ecs.describe_container_instances(cluster="settings", containerInstances=[instance_arn])
    instance_id = described["containerInstances"][0]["ec2InstanceId"]
    assert host["CgroupParent"] == f"/dockyard/{instance_id}"
    assert reader["HostConfig"]["CgroupParent"] == f"/dockyard/{instance_id}"
    limit = Path(f"/sys/fs/cgroup/memory/dockyard/{instance_id}/memory.limit_in_bytes")
    small = instance_type("t3.small")
    assert small is not None
    assert int(limit.read_text()) == small.registered_memory_mib * 1024 * 1024

    # what the container itself sees
    logs = wait_for_log(app_id, "ready")
    assert "A=from-override B=kept C=added" in logs
    assert "uid=65534 gid=65534 pwd=/scratch nofile=1024" in logs
    assert "from the host" in logs and "rootfs-read-only" in logs
    init = subprocess.run(
        ["docker", "top", app_id, "-o", "pid,args"], capture_output=True, text=True, check=True
    )
    assert "docker-init" in init.stdout  # initProcessEnabled: an init process reaps the task's children

    ecs.stop_task(cluster="settings", task=arn)
    stopped = platform.wait_for_task("settings", arn, "STOPPED")
    assert container(stopped, "app")["exitCode"] in (0, 137, 143)
    deadline = time.monotonic() + 30
    while volume_exists(cache["Name"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not volume_exists(cache["Name"])  # removed with the task after the cleanup wait (2 s here)


def test_host_network_mode_task_answers_on_the_host_port(platform: Platform) -> None:
    ecs = platform.ecs()
    ecs.create_cluster(clusterName="hostnet")
    platform.add_instance("hostnet", instance_type="t3.small")
    port = free_port()
    ecs.register_task_definition(
        family="hostnet",
        networkMode="host",
        containerDefinitions=[
            {
                "name": "web",
                "image": HELLO,
                "memory": 32,
                "stopTimeout": 2,
                "environment": [{"name": "PORT", "value": str(port)}],
                "portMappings": [{"containerPort": port, "hostPort": port}],
            }
        ],
    )
    arn = ecs.run_task(cluster="hostnet", taskDefinition="hostnet")["tasks"][0]["taskArn"]
    task = platform.wait_for_task("hostnet", arn, "RUNNING")
    assert task["lastStatus"] == "RUNNING"
    assert inspect(container(task, "web")["runtimeId"])["HostConfig"]["NetworkMode"] == "host"
    body = ""
    deadline = time.monotonic() + 10
    while f"Task ID: {arn.rsplit('/', 1)[1]}" not in body and time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
                body = conn.makefile("rb").read().decode()
        except OSError:
            time.sleep(0.1)
    assert f"Task ID: {arn.rsplit('/', 1)[1]}" in body
    ecs.stop_task(cluster="hostnet", task=arn)
    platform.wait_for_task("hostnet", arn, "STOPPED")


@pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/dev/loop-control").exists(),
    reason="the agent enforces ephemeral storage with loop mounts: needs root and loop devices",
)
def test_fargate_ephemeral_storage_has_the_task_size(platform: Platform) -> None:
    ecs = platform.ecs()
    ecs.create_cluster(clusterName="storage")
    script = (
        "df -k /scratch; dd if=/dev/zero of=/scratch/blob bs=1048576 count=5 2>/dev/null; sync; "
        'wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4/task"; echo; echo done; exec sleep 300'
    )
    ecs.register_task_definition(
        family="storage",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        ephemeralStorage={"sizeInGiB": 21},
        volumes=[{"name": "scratch", "host": {}}],
        containerDefinitions=[
            {
                "name": "app",
                "image": BUSYBOX,
                "command": ["sh", "-c", script],
                "stopTimeout": 2,
                "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/scratch"}],
            }
        ],
    )
    run = ecs.run_task(
        cluster="storage",
        taskDefinition="storage",
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [platform.subnet()]}},
    )
    arn = run["tasks"][0]["taskArn"]
    task = platform.wait_for_task("storage", arn, "RUNNING", timeout=60)
    assert task["ephemeralStorage"] == {"sizeInGiB": 21}
    logs = wait_for_log(container(task, "app")["runtimeId"], "done", timeout=20)
    match = re.search(r"^\S+\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+%\s+/scratch$", logs, re.MULTILINE)
    assert match is not None, logs
    total_kib = int(match.group(1))
    assert 21 * GIB_KIB <= total_kib <= 21.3 * GIB_KIB, logs  # the task's size, as `df` shows it
    metadata = json.loads(next(line for line in logs.splitlines() if line.startswith("{")))
    metrics = metadata["EphemeralStorageMetrics"]
    assert metrics["Reserved"] == 21 * 1024 and metrics["Utilized"] >= 5
    agent_log = next(a for a in platform.agents if "--fargate-pool" in a.args).output()
    timing = re.search(rf"ephemeral storage of {arn.rsplit('/', 1)[1]}: .* ready in (\d+) ms", agent_log)
    assert timing is not None, agent_log[-2000:]
    print(f"ephemeral storage (21 GiB) ready in {timing.group(1)} ms")
    ecs.stop_task(cluster="storage", task=arn)
    platform.wait_for_task("storage", arn, "STOPPED")
