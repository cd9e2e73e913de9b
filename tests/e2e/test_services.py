"""End to end: an ECS service on real Docker, driven with the real AWS CLI.

A Fargate service of the hello image starts with one task, scales to three, rolls to a new
revision without ever having fewer than three running tasks (sampled throughout), then a
revision whose image cannot be pulled trips the deployment circuit breaker and the service
rolls back to the last completed deployment. The server counts a task healthy 2 s after it is
RUNNING (ECS: 40 s) so the test stays quick.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.testing.platform import Platform
from dockyard.testing.server import ThreadedServer
from tests.waiting import until

pytestmark = pytest.mark.docker

HELLO = "dockyard/hello:latest"
MISSING = "dockyard/does-not-exist:latest"


class QuickPlatform(Platform):
    """A platform whose server counts service tasks healthy 2 s after they run."""

    def start_server(self) -> None:
        self.server = ThreadedServer(
            data_dir=self.workdir / "server", port=self._port, service_healthy_delay=2.0
        ).start()
        self._port = self.server.server.port


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, built_images: None) -> Iterator[Platform]:
    with QuickPlatform(tmp_path_factory.mktemp("services")) as running:
        yield running


def register(platform: Platform, image: str, marker: str) -> str:
    containers = [
        {
            "name": "web",
            "image": image,
            "portMappings": [{"containerPort": 80}],
            "environment": [{"name": "MARKER", "value": marker}],
            "stopTimeout": 2,
        }
    ]
    response = platform.aws(
        "ecs",
        "register-task-definition",
        "--family",
        "hello-svc",
        "--requires-compatibilities",
        "FARGATE",
        "--network-mode",
        "awsvpc",
        "--cpu",
        "256",
        "--memory",
        "512",
        "--container-definitions",
        json.dumps(containers),
    )
    return str(response["taskDefinition"]["taskDefinitionArn"])


def service(platform: Platform) -> dict[str, Any]:
    found: dict[str, Any] = platform.ecs().describe_services(cluster="svc", services=["hello"])["services"][0]
    return found


def running_tasks(platform: Platform) -> list[dict[str, Any]]:
    ecs = platform.ecs()
    arns = ecs.list_tasks(cluster="svc", serviceName="hello")["taskArns"]
    if not arns:
        return []
    tasks = ecs.describe_tasks(cluster="svc", tasks=arns)["tasks"]
    return [t for t in tasks if t["lastStatus"] == "RUNNING" and t["desiredStatus"] == "RUNNING"]


def stable(platform: Platform, count: int, revision: str) -> bool:
    current = service(platform)
    deployments = current["deployments"]
    return (
        len(deployments) == 1
        and deployments[0]["rolloutState"] == "COMPLETED"
        and deployments[0]["taskDefinition"] == revision
        and current["runningCount"] == count
    )


def answer(task: dict[str, Any]) -> str:
    address = task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
    with urllib.request.urlopen(f"http://{address}/", timeout=5) as response:
        return str(response.read().decode())


def test_service_scales_rolls_and_rolls_back(platform: Platform) -> None:
    platform.aws("ecs", "create-cluster", "--cluster-name", "svc")
    first = register(platform, HELLO, "one")
    created = platform.aws(
        "ecs",
        "create-service",
        "--cluster",
        "svc",
        "--service-name",
        "hello",
        "--task-definition",
        "hello-svc",
        "--desired-count",
        "1",
        "--launch-type",
        "FARGATE",
        "--network-configuration",
        f"awsvpcConfiguration={{subnets=[{platform.subnet(0)},{platform.subnet(1)}]}}",
        "--deployment-configuration",
        "maximumPercent=200,minimumHealthyPercent=100,deploymentCircuitBreaker={enable=true,rollback=true}",
    )["service"]
    assert created["status"] == "ACTIVE" and created["desiredCount"] == 1
    until(lambda: stable(platform, 1, first), what="one running task")
    (task,) = running_tasks(platform)
    assert "Task ID:" in answer(task)
    assert task["group"] == "service:hello" and task["startedBy"] == created["deployments"][0]["id"]

    platform.aws("ecs", "update-service", "--cluster", "svc", "--service", "hello", "--desired-count", "3")
    until(lambda: stable(platform, 3, first), what="three running tasks")
    zones = {t["availabilityZone"] for t in running_tasks(platform)}
    assert len(zones) == 2  # spread over the subnets' zones

    second = register(platform, HELLO, "two")
    platform.aws(
        "ecs", "update-service", "--cluster", "svc", "--service", "hello", "--task-definition", "hello-svc"
    )
    samples = []

    def rolled() -> bool:
        samples.append(len(running_tasks(platform)))
        return stable(platform, 3, second)

    until(rolled, what="the rolling update")
    assert min(samples) >= 3, samples  # minimumHealthyPercent 100: never below the desired count
    assert max(samples) > 3  # the new tasks ran beside the old ones (maximumPercent 200)
    assert all(t["taskDefinitionArn"] == second for t in running_tasks(platform))
    events = [e["message"] for e in service(platform)["events"]]
    assert events[0] == "(service hello) has reached a steady state."

    register(platform, MISSING, "three")
    bad = platform.aws(
        "ecs", "update-service", "--cluster", "svc", "--service", "hello", "--task-definition", "hello-svc"
    )["service"]["deployments"][0]["id"]
    samples = []

    def rolled_back() -> bool:
        samples.append(len(running_tasks(platform)))
        return stable(platform, 3, second) and any(
            "rolling back" in e["message"] for e in service(platform)["events"]
        )

    until(rolled_back, what="the circuit breaker's rollback")
    assert min(samples) >= 3, samples
    messages = [e["message"] for e in service(platform)["events"]]
    assert f"(service hello) (deployment {bad}) deployment failed: tasks failed to start." in messages
    history = platform.aws("ecs", "list-service-deployments", "--cluster", "svc", "--service", "hello")
    statuses = [d["status"] for d in history["serviceDeployments"]]
    assert statuses[0] == "ROLLBACK_SUCCESSFUL" and statuses.count("SUCCESSFUL") == 2
    failed = platform.aws(
        "ecs",
        "describe-service-deployments",
        "--service-deployment-arns",
        history["serviceDeployments"][0]["serviceDeploymentArn"],
    )["serviceDeployments"][0]
    assert failed["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert failed["deploymentCircuitBreaker"]["failureCount"] >= 3

    platform.aws("ecs", "update-service", "--cluster", "svc", "--service", "hello", "--desired-count", "0")
    platform.aws("ecs", "delete-service", "--cluster", "svc", "--service", "hello")
    until(lambda: service(platform)["status"] == "INACTIVE", what="the service to drain")
    assert running_tasks(platform) == []
