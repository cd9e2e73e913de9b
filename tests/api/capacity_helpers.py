"""Helpers for the EC2 and Auto Scaling API tests: a server whose instances are simulated (their
agents run in the server, so no Docker is needed), clients, and waiting for state to settle.

Test modules import the fixtures they use (`ec2_fixture` provides the fixture `ec2`, and so on).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.conftest import make_client, reset

T = TypeVar("T")

AMI = "ami-0123456789abcdef0"


def user_data(cluster: str) -> str:
    """User data as the ECS docs write it (the SDK base64-encodes RunInstances' UserData itself)."""
    return f"#!/bin/bash\necho ECS_CLUSTER={cluster} >> /etc/ecs/ecs.config\n"


def user_data_b64(cluster: str) -> str:
    """Launch template data is not encoded by the SDK: it must be base64 already."""
    return base64.b64encode(user_data(cluster).encode()).decode()


def wait_for(check: Callable[[], T | None], *, timeout: float = 20.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def error(call: Callable[[], Any]) -> tuple[str, str]:
    """(code, message) of the ClientError `call` raises."""
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


@pytest.fixture(scope="module", name="capacity_server")
def capacity_server_fixture() -> Iterator[ThreadedServer]:
    with ThreadedServer(simulate_instances=True) as running:
        yield running


@pytest.fixture(name="clean")
def clean_fixture(capacity_server: ThreadedServer) -> Iterator[ThreadedServer]:
    reset(capacity_server.endpoint)
    yield capacity_server
    reset(capacity_server.endpoint)


@pytest.fixture(name="ec2")
def ec2_fixture(clean: ThreadedServer) -> Any:
    return make_client(clean.endpoint, "ec2")


@pytest.fixture(name="autoscaling")
def autoscaling_fixture(clean: ThreadedServer) -> Any:
    return make_client(clean.endpoint, "autoscaling")


@pytest.fixture(name="ecs_client")
def ecs_client_fixture(clean: ThreadedServer) -> Any:
    return make_client(clean.endpoint, "ecs")


def instance(ec2: Any, instance_id: str) -> dict[str, Any]:
    found: dict[str, Any] = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][
        0
    ]
    return found


def wait_state(ec2: Any, instance_id: str, state: str, *, timeout: float = 20.0) -> dict[str, Any]:
    return wait_for(
        lambda: (lambda i: i if i["State"]["Name"] == state else None)(instance(ec2, instance_id)),
        timeout=timeout,
        what=f"{instance_id} to be {state}",
    )
