"""ELBv2 instance targets with boto3, against EC2 instances the server simulates: what EC2 says
about an instance decides whether it can be registered, where traffic goes and its health."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.store import Key
from dockyard.testing.server import ThreadedServer
from tests.api.capacity_helpers import (  # noqa: F401  (fixtures)
    AMI,
    capacity_server_fixture,
    clean_fixture,
    ec2_fixture,
    wait_state,
)
from tests.api.test_elbv2_helpers import create_alb, create_listener, create_tg, error
from tests.conftest import make_client


@pytest.fixture(name="elb")
def elb_fixture(clean: ThreadedServer) -> Any:
    return make_client(clean.endpoint, "elbv2")


def _instance(ec2: Any) -> dict[str, Any]:
    launched = ec2.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]
    return wait_state(ec2, launched["InstanceId"], "running")


def _health(elb: Any, tg: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    return found


def test_instance_targets(clean: ThreadedServer, elb: Any, ec2: Any) -> None:
    instance = _instance(ec2)
    instance_id = instance["InstanceId"]
    tg = create_tg(elb, ec2)["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": instance_id}, {"Id": instance_id, "Port": 8080}])
    stored = clean.run(clean.server.store.get(Key("123456789012", "us-east-1", "elbv2/targets", tg)))
    assert stored is not None
    assert [(t["Id"], t["Port"], t["Address"], t["AvailabilityZone"]) for t in stored.value["Targets"]] == [
        (instance_id, 80, instance["PrivateIpAddress"], instance["Placement"]["AvailabilityZone"]),
        (instance_id, 8080, instance["PrivateIpAddress"], instance["Placement"]["AvailabilityZone"]),
    ]
    create_listener(elb, create_alb(elb, ec2)["LoadBalancerArn"], tg)
    health = _health(elb, tg)
    assert [d["Target"] for d in health] == [
        {"Id": instance_id, "Port": 80},
        {"Id": instance_id, "Port": 8080},
    ]
    assert {d["TargetHealth"]["State"] for d in health} == {"initial"}
    ec2.stop_instances(InstanceIds=[instance_id])
    wait_state(ec2, instance_id, "stopped")
    stopped = _health(elb, tg)[0]["TargetHealth"]
    assert stopped == {
        "State": "unused",
        "Reason": "Target.InvalidState",
        "Description": "Target is in the stopped state",
    }
    code, message = error(
        lambda: elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": instance_id, "Port": 81}])
    )
    assert code == "InvalidTarget"
    assert (
        message
        == f"The following targets are not in a running state and cannot be registered: '{instance_id}'"
    )


def test_unknown_or_malformed_instances_are_invalid_targets(elb: Any, ec2: Any) -> None:
    tg = create_tg(elb, ec2)["TargetGroupArn"]
    code, message = error(
        lambda: elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "i-0123456789abcdef0"}])
    )
    assert (code, message) == (
        "InvalidTarget",
        "The following targets are not valid instances: 'i-0123456789abcdef0'",
    )
    code, message = error(lambda: elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "172.31.1.5"}]))
    assert code == "InvalidTarget" and "'172.31.1.5'" in message
    assert _health(elb, tg) == []
