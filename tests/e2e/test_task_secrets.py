"""End to end with real Docker: a Fargate task gets Secrets Manager and SSM values as environment
variables (created with the real AWS CLI), and a task whose secret is missing fails to start with
ECS's reason."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.testing.platform import Platform

pytestmark = pytest.mark.docker

BUSYBOX = "dockyard/busybox:latest"
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, built_images: None) -> Iterator[Platform]:
    with Platform(tmp_path_factory.mktemp("secrets")) as running:
        running.ecs().create_cluster(clusterName="secrets")
        yield running


def register(platform: Platform, family: str, container: dict[str, Any]) -> None:
    platform.ecs().register_task_definition(
        family=family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn=EXECUTION_ROLE,
        containerDefinitions=[{"name": "app", "image": BUSYBOX, "stopTimeout": 2, **container}],
    )


def run(platform: Platform, family: str) -> str:
    response = platform.ecs().run_task(
        cluster="secrets",
        taskDefinition=family,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [platform.subnet()]}},
    )
    assert response["failures"] == [], response["failures"]
    return str(response["tasks"][0]["taskArn"])


def docker_logs(container_id: str) -> str:
    result = subprocess.run(["docker", "logs", container_id], capture_output=True, text=True, check=False)
    return result.stdout + result.stderr


def test_secrets_and_parameters_become_environment_variables(platform: Platform) -> None:
    secret = platform.aws(
        "secretsmanager",
        "create-secret",
        "--name",
        "e2e/db",
        "--secret-string",
        json.dumps({"username": "e2e-admin", "password": "e2e-s3cr3t"}),
    )
    platform.aws(
        "ssm", "put-parameter", "--name", "/e2e/api-key", "--value", "e2e-key-123", "--type", "SecureString"
    )
    register(
        platform,
        "with-secrets",
        {
            "command": [
                "sh",
                "-c",
                'echo "DB=$DB_JSON"; echo "USER=$DB_USER"; echo "KEY=$API_KEY"; sleep 300',
            ],
            "secrets": [
                {"name": "DB_JSON", "valueFrom": secret["ARN"]},
                {"name": "DB_USER", "valueFrom": f"{secret['ARN']}:username::"},
                {"name": "API_KEY", "valueFrom": "/e2e/api-key"},
            ],
        },
    )
    arn = run(platform, "with-secrets")
    task = platform.wait_for_task("secrets", arn, "RUNNING")
    assert task["lastStatus"] == "RUNNING", task.get("stoppedReason")
    runtime_id = task["containers"][0]["runtimeId"]
    deadline = time.monotonic() + 10
    while "KEY=" not in docker_logs(runtime_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    logs = docker_logs(runtime_id)
    assert 'DB={"username": "e2e-admin", "password": "e2e-s3cr3t"}' in logs
    assert "USER=e2e-admin" in logs
    assert "KEY=e2e-key-123" in logs
    described = json.dumps(platform.aws("ecs", "describe-tasks", "--cluster", "secrets", "--tasks", arn))
    for value in ("e2e-s3cr3t", "e2e-admin", "e2e-key-123"):
        assert value not in described
    platform.ecs().stop_task(cluster="secrets", task=arn)
    platform.wait_for_task("secrets", arn, "STOPPED")


def test_a_missing_secret_fails_the_task(platform: Platform) -> None:
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:e2e/nope-AbCdEf"
    register(
        platform,
        "missing-secret",
        {"command": ["sleep", "300"], "secrets": [{"name": "NOPE", "valueFrom": missing}]},
    )
    arn = run(platform, "missing-secret")
    task = platform.wait_for_task("secrets", arn, "STOPPED", timeout=60)
    assert task["stopCode"] == "TaskFailedToStart"
    reason = str(task["stoppedReason"])
    expected = (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
        "retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): "
        f"failed to fetch secret {missing} from secrets manager: operation error Secrets Manager: "
        "GetSecretValue, https response error StatusCode: 400, RequestID: <id>, "
        "ResourceNotFoundException: Secrets Manager can't find the specified secret."
    )
    assert re.sub(r"RequestID: [0-9a-f-]{36},", "RequestID: <id>,", reason) == expected
    assert "runtimeId" not in task["containers"][0]  # nothing was created
