"""End to end: `ecs-deploy` (fabfuel/ecs-deploy, from PyPI), unchanged, deploys a new image.

A Fargate service of the hello image runs two tasks. `ecs deploy <cluster> <service> --image web
dockyard/hello:v2` then does what it does against AWS: DescribeServices, DescribeTaskDefinition,
RegisterTaskDefinition (a new revision with the new image), UpdateService, then polls
DescribeServices / ListTasks / DescribeTasks until the service has one deployment whose tasks all
run the new revision, and finally DeregisterTaskDefinition of the old one. The tool takes no
endpoint option: boto3 reads `AWS_ENDPOINT_URL` from the environment, as it would for any
AWS-compatible endpoint. The server counts service tasks healthy 2 s after they run (ECS: 40 s).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.testing.platform import Platform
from dockyard.testing.server import ThreadedServer
from tests.waiting import until

pytestmark = pytest.mark.docker

CLUSTER = "deploys"
SERVICE = "hello"
OLD, NEW = "dockyard/hello:latest", "dockyard/hello:v2"


class QuickPlatform(Platform):
    """A platform whose server counts service tasks healthy 2 s after they run."""

    def start_server(self) -> None:
        self.server = ThreadedServer(
            data_dir=self.workdir / "server", port=self._port, service_healthy_delay=2.0
        ).start()
        self._port = self.server.server.port


@pytest.fixture(scope="module")
def v2_image(built_images: None) -> str:
    from dockyard.agent.runtime.docker import DockerRuntime
    from dockyard.images import ensure_image

    async def build() -> str:
        async with DockerRuntime() as runtime:
            return await ensure_image(runtime, "hello:v2")

    return asyncio.run(build())


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, v2_image: str) -> Iterator[Platform]:
    with QuickPlatform(tmp_path_factory.mktemp("ecs-deploy")) as running:
        yield running


def describe(platform: Platform) -> dict[str, Any]:
    found = platform.ecs().describe_services(cluster=CLUSTER, services=[SERVICE])["services"]
    return dict(found[0])


def running(platform: Platform) -> list[dict[str, Any]]:
    ecs = platform.ecs()
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE)["taskArns"]
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []
    return [t for t in tasks if t["lastStatus"] == "RUNNING" and t["desiredStatus"] == "RUNNING"]


def steady(platform: Platform, revision: str, count: int) -> bool:
    service = describe(platform)
    (deployment, *others) = service["deployments"]
    tasks = running(platform)
    return (
        not others
        and deployment["rolloutState"] == "COMPLETED"
        and service["taskDefinition"] == revision
        and len(tasks) == count
        and all(t["taskDefinitionArn"] == revision for t in tasks)
    )


def version_of(task: dict[str, Any]) -> str:
    address = task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
    with urllib.request.urlopen(f"http://{address}/version.json", timeout=5) as response:
        return str(json.loads(response.read())["version"])


def image_of(task: dict[str, Any]) -> str:
    inspected = subprocess.run(
        ["docker", "inspect", "--format", "{{.Config.Image}}", task["containers"][0]["runtimeId"]],
        capture_output=True,
        text=True,
        check=True,
    )
    return inspected.stdout.strip()


def ecs_deploy() -> str:
    found = shutil.which("ecs", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("ecs-deploy is not installed (pip install ecs-deploy; it is in the dev extra)")
    return found


def test_ecs_deploy_rolls_a_service_to_a_new_image(platform: Platform) -> None:
    tool = ecs_deploy()
    platform.aws("ecs", "create-cluster", "--cluster-name", CLUSTER)
    container = {"name": "web", "image": OLD, "portMappings": [{"containerPort": 80}], "stopTimeout": 2}
    first = platform.aws(
        "ecs", "register-task-definition", "--family", "hello-deploy",
        "--requires-compatibilities", "FARGATE", "--network-mode", "awsvpc",
        "--cpu", "256", "--memory", "512",
        "--container-definitions", json.dumps([container]),
    )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip
    subnets = f"{platform.subnet(0)},{platform.subnet(1)}"
    platform.aws(
        "ecs", "create-service", "--cluster", CLUSTER, "--service-name", SERVICE,
        "--task-definition", "hello-deploy", "--desired-count", "2", "--launch-type", "FARGATE",
        "--network-configuration", f"awsvpcConfiguration={{subnets=[{subnets}]}}",
    )  # fmt: skip
    until(lambda: steady(platform, first, 2), what="the first deployment")
    assert {version_of(t) for t in running(platform)} == {"1"}

    env = {**platform.env, "AWS_ENDPOINT_URL": platform.endpoint}
    result = subprocess.run(
        [tool, "deploy", CLUSTER, SERVICE, "--image", "web", NEW, "--timeout", "120"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Deploying based on task definition: hello-deploy:1" in output
    assert f'Changed image of container "web" to: "{NEW}" (was: "{OLD}")' in output
    assert "Successfully created revision: 2" in output
    assert "Successfully changed task definition to: hello-deploy:2" in output
    assert "Deployment successful" in output
    assert "Successfully deregistered revision: 1" in output

    second = first.rsplit(":", 1)[0] + ":2"
    assert steady(platform, second, 2)
    tasks = running(platform)
    assert {image_of(t) for t in tasks} == {NEW}
    assert {version_of(t) for t in tasks} == {"2"}
    described = platform.aws("ecs", "describe-task-definition", "--task-definition", second)["taskDefinition"]
    assert described["containerDefinitions"][0]["image"] == NEW
    assert described["requiresCompatibilities"] == ["FARGATE"] and described["networkMode"] == "awsvpc"
    old = platform.aws("ecs", "describe-task-definition", "--task-definition", first)["taskDefinition"]
    assert old["status"] == "INACTIVE"  # ecs-deploy deregisters the revision it replaced
    history = platform.aws("ecs", "list-service-deployments", "--cluster", CLUSTER, "--service", SERVICE)
    assert [d["status"] for d in history["serviceDeployments"]][:1] == ["SUCCESSFUL"]

    platform.aws("ecs", "update-service", "--cluster", CLUSTER, "--service", SERVICE, "--desired-count", "0")
    platform.aws("ecs", "delete-service", "--cluster", CLUSTER, "--service", SERVICE)
    until(lambda: describe(platform)["status"] == "INACTIVE", what="the service to drain")
