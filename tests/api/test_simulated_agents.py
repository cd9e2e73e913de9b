"""`dockyard agent --simulate --count N`: N simulated instances in one process register like real
agents, take tasks to RUNNING and STOPPED without containers, and keep their identities across a
restart when given a data directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.testing.server import ThreadedServer
from tests.api.capacity_helpers import wait_for
from tests.conftest import make_client, reset


@pytest.fixture(scope="module")
def plain_server() -> Iterator[ThreadedServer]:
    with ThreadedServer() as running:
        yield running


def _fleet(server: ThreadedServer, data_dir: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dockyard",
            "agent",
            "--simulate",
            "--endpoint",
            server.endpoint,
            *args,
            "--data-dir",
            str(data_dir),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "AKIATESTKEY", "AWS_SECRET_ACCESS_KEY": "secret"},
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _instances(ecs: Any, cluster: str) -> list[dict[str, Any]]:
    arns = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
    if not arns:
        return []
    found: list[dict[str, Any]] = ecs.describe_container_instances(cluster=cluster, containerInstances=arns)[
        "containerInstances"
    ]
    return found


def test_a_fleet_of_simulated_instances(plain_server: ThreadedServer, tmp_path: Path) -> None:
    reset(plain_server.endpoint)
    ecs = make_client(plain_server.endpoint, "ecs")
    ecs.create_cluster(clusterName="sim")
    fleet = _fleet(plain_server, tmp_path, "--count", "5", "--cluster", "sim", "--instance-type", "c5.large")
    try:
        instances = wait_for(lambda: (lambda i: i if len(i) == 5 else None)(_instances(ecs, "sim")), what="5")
        assert len({i["ec2InstanceId"] for i in instances}) == 5
        resources = {r["name"]: r.get("integerValue") for r in instances[0]["registeredResources"]}
        assert resources["CPU"] == 2048 and resources["MEMORY"] == 3932
        attributes = {a["name"]: a.get("value") for a in instances[0]["attributes"]}
        assert attributes["ecs.instance-type"] == "c5.large"
        assert instances[0]["versionInfo"]["dockerVersion"] == "DockerVersion: simulated"
        ecs.register_task_definition(
            family="sim",
            containerDefinitions=[
                {
                    "name": "app",
                    "image": "busybox",
                    "cpu": 256,
                    "memory": 256,
                    "portMappings": [{"containerPort": 80, "hostPort": 8080}],
                }
            ],  # fmt: skip
        )
        tasks = ecs.run_task(cluster="sim", taskDefinition="sim", count=5, launchType="EC2")
        assert tasks["failures"] == []
        arns = [t["taskArn"] for t in tasks["tasks"]]

        def described() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = ecs.describe_tasks(cluster="sim", tasks=arns)["tasks"]
            return found

        running = wait_for(
            lambda: (lambda t: t if all(x["lastStatus"] == "RUNNING" for x in t) else None)(described()),
            what="RUNNING",
        )
        assert all(t["pullStartedAt"] and t["startedAt"] for t in running)
        binding = running[0]["containers"][0]["networkBindings"][0]
        assert (binding["containerPort"], binding["hostPort"]) == (80, 8080)
        ecs.stop_task(cluster="sim", task=arns[0])
        stopped = wait_for(
            lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(
                ecs.describe_tasks(cluster="sim", tasks=[arns[0]])["tasks"][0]
            ),
            what="STOPPED",
        )
        assert stopped["containers"][0]["exitCode"] == 143 and stopped["stopCode"] == "UserInitiated"
        _stop(fleet)
        assert fleet.returncode == 0
        # again, from the same data directory: the same container instances, their tasks kept
        fleet = _fleet(
            plain_server, tmp_path, "--count", "5", "--cluster", "sim", "--instance-type", "c5.large"
        )
        wait_for(
            lambda: len([i for i in _instances(ecs, "sim") if i["agentConnected"]]) == 5, what="reconnection"
        )
        assert len(_instances(ecs, "sim")) == 5
        assert [t["lastStatus"] for t in described()[1:]] == ["RUNNING"] * 4
    finally:
        _stop(fleet)
