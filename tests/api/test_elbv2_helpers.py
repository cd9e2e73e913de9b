"""Helpers for the ELBv2 API tests: clients, the default VPC, resources made the way users make
them, AWS error codes, and the real AWS CLI. Test modules import the fixtures they use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.conftest import aws_cli, make_client

__all__ = [
    "aws_cli",
    "create_alb",
    "create_listener",
    "create_tg",
    "ec2_fixture",
    "elb_fixture",
    "error",
    "forward",
    "subnet_ids",
    "vpc_id",
]


@pytest.fixture(name="elb")
def elb_fixture(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "elbv2")


@pytest.fixture(name="ec2")
def ec2_fixture(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "ec2")


def error(call: Callable[[], Any]) -> tuple[str, str]:
    """(code, message) of the ClientError `call` raises."""
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def subnet_ids(ec2: Any) -> list[str]:
    """The default subnets, ordered by availability zone (a, b, c)."""
    subnets = sorted(ec2.describe_subnets()["Subnets"], key=lambda s: s["AvailabilityZone"])
    return [s["SubnetId"] for s in subnets]


def vpc_id(ec2: Any) -> str:
    return str(ec2.describe_vpcs()["Vpcs"][0]["VpcId"])


def create_alb(elb: Any, ec2: Any, name: str = "web", **extra: Any) -> dict[str, Any]:
    request = {"Name": name, "Subnets": subnet_ids(ec2)[:2], **extra}
    found: dict[str, Any] = elb.create_load_balancer(**request)["LoadBalancers"][0]
    return found


def create_tg(elb: Any, ec2: Any, name: str = "tg", **extra: Any) -> dict[str, Any]:
    request = {"Name": name, "Protocol": "HTTP", "Port": 80, "VpcId": vpc_id(ec2), **extra}
    found: dict[str, Any] = elb.create_target_group(**request)["TargetGroups"][0]
    return found


def forward(tg_arn: str) -> list[dict[str, Any]]:
    return [{"Type": "forward", "TargetGroupArn": tg_arn}]


def create_listener(
    elb: Any, lb_arn: str, tg_arn: str, *, port: int = 80, protocol: str = "HTTP"
) -> dict[str, Any]:
    found: dict[str, Any] = elb.create_listener(
        LoadBalancerArn=lb_arn, Protocol=protocol, Port=port, DefaultActions=forward(tg_arn)
    )["Listeners"][0]
    return found
