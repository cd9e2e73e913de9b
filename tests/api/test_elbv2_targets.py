"""ELBv2 ip targets with boto3: registration checks, DescribeTargetHealth's states, the store
contract the data plane reads, and the in-process client ECS uses."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config

from dockyard.aws.local_client import LocalClient
from dockyard.services import elbv2
from dockyard.store import Key
from dockyard.testing.server import ThreadedServer
from tests.api.test_elbv2_helpers import (  # noqa: F401  (fixtures)
    create_alb,
    create_listener,
    create_tg,
    ec2_fixture,
    elb_fixture,
    error,
    forward,
)

ACCOUNT, REGION = "123456789012", "us-east-1"


def _health(elb: Any, tg: str, **extra: Any) -> list[tuple[str, int, str, str | None]]:
    found = elb.describe_target_health(TargetGroupArn=tg, **extra)["TargetHealthDescriptions"]
    return [
        (d["Target"]["Id"], d["Target"]["Port"], d["TargetHealth"]["State"], d["TargetHealth"].get("Reason"))
        for d in found
    ]


def _document(server: ThreadedServer, kind: str, name: str) -> dict[str, Any] | None:
    found = server.run(server.server.store.get(Key(ACCOUNT, REGION, kind, name)))
    return None if found is None else found.value


@pytest.fixture(name="group")
def group_fixture(elb: Any, ec2: Any) -> str:
    arn: str = create_tg(elb, ec2, TargetType="ip", Port=8080)["TargetGroupArn"]
    return arn


def test_ip_targets_and_their_states(server: ThreadedServer, elb: Any, ec2: Any, group: str) -> None:
    elb.register_targets(
        TargetGroupArn=group, Targets=[{"Id": "172.31.1.5"}, {"Id": "172.31.17.9", "Port": 9000}]
    )
    assert _health(elb, group) == [
        ("172.31.1.5", 8080, "unused", "Target.NotInUse"),
        ("172.31.17.9", 9000, "unused", "Target.NotInUse"),
    ]
    described = elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"][0]
    assert described["Target"] == {"Id": "172.31.1.5", "Port": 8080, "AvailabilityZone": "us-east-1a"}
    assert described["HealthCheckPort"] == "8080"
    assert described["TargetHealth"]["Description"] == (
        "Target group is not configured to receive traffic from the load balancer"
    )
    create_listener(elb, create_alb(elb, ec2)["LoadBalancerArn"], group)
    assert _health(elb, group) == [
        ("172.31.1.5", 8080, "initial", "Elb.RegistrationInProgress"),
        ("172.31.17.9", 9000, "initial", "Elb.RegistrationInProgress"),
    ]
    # The data plane reports what its health checks see.
    report = {
        "Targets": {
            "172.31.1.5:8080": {"State": "healthy"},
            "172.31.17.9:9000": {
                "State": "unhealthy",
                "Reason": "Target.ResponseCodeMismatch",
                "Description": "Health checks failed with these codes: [503]",
            },
        }
    }
    server.run(server.server.store.put(Key(ACCOUNT, REGION, "elbv2/target-health", group), report))
    health = elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    assert health[0]["TargetHealth"] == {"State": "healthy"}
    assert health[1]["TargetHealth"] == report["Targets"]["172.31.17.9:9000"]
    named = _health(elb, group, Targets=[{"Id": "172.31.1.5", "Port": 8080}, {"Id": "172.31.2.2"}])
    assert named == [
        ("172.31.1.5", 8080, "healthy", None),
        ("172.31.2.2", 8080, "unused", "Target.NotRegistered"),
    ]


def test_registration_is_checked_and_changes_nothing_on_error(
    server: ThreadedServer, elb: Any, group: str
) -> None:
    cases = [
        ([{"Id": "10.1.2.3"}], "InvalidTarget", "not in the target group VPC"),
        (
            [{"Id": "8.8.8.8", "AvailabilityZone": "all"}],
            "InvalidTarget",
            "not within a private address range",
        ),
        ([{"Id": "i-0123456789abcdef0"}], "InvalidTarget", "not a valid IPv4 address"),
        ([{"Id": "172.31.200.1"}], "InvalidTarget", "is not in a subnet of VPC"),
        ([{"Id": "172.31.1.5", "AvailabilityZone": "all"}], "ValidationError", "outside the VPC"),
    ]
    for targets, code, fragment in cases:
        got, message = error(
            lambda targets=targets: elb.register_targets(  # type: ignore[misc]
                TargetGroupArn=group, Targets=[{"Id": "172.31.1.6"}, *targets]
            )
        )
        assert got == code and fragment in message, message
    unchecked = boto3.client(  # the SDK checks ports itself; the server must too
        "elbv2",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="AKIATESTKEY",
        aws_secret_access_key="secret",
        config=Config(parameter_validation=False),
    )
    code, message = error(
        lambda: unchecked.register_targets(TargetGroupArn=group, Targets=[{"Id": "172.31.1.5", "Port": 0}])
    )
    assert code == "ValidationError"
    assert message == (
        "1 validation error detected: Value '0' at 'targets.1.member.port' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    )
    assert _health(elb, group) == []
    elb.register_targets(TargetGroupArn=group, Targets=[{"Id": "10.1.2.3", "AvailabilityZone": "all"}])
    shown = elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"][0]["Target"]
    assert shown == {"Id": "10.1.2.3", "Port": 8080, "AvailabilityZone": "all"}
    missing = group[:-16] + "0123456789abcdef"
    code, message = error(
        lambda: elb.register_targets(TargetGroupArn=missing, Targets=[{"Id": "172.31.1.5"}])
    )
    assert (code, message) == ("TargetGroupNotFound", "One or more target groups not found")
    assert error(lambda: elb.describe_target_health(TargetGroupArn=missing))[0] == "TargetGroupNotFound"


def test_deregistering_drains_and_a_zero_delay_removes_at_once(elb: Any, group: str) -> None:
    elb.register_targets(TargetGroupArn=group, Targets=[{"Id": "172.31.1.5"}, {"Id": "172.31.1.6"}])
    elb.deregister_targets(TargetGroupArn=group, Targets=[{"Id": "172.31.1.5"}, {"Id": "172.31.9.9"}])
    assert _health(elb, group)[0] == ("172.31.1.5", 8080, "draining", "Target.DeregistrationInProgress")
    elb.register_targets(TargetGroupArn=group, Targets=[{"Id": "172.31.1.5"}])  # back before it drained
    assert [state for _, _, state, _ in _health(elb, group)] == ["unused", "unused"]
    elb.modify_target_group_attributes(
        TargetGroupArn=group, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}]
    )
    elb.deregister_targets(TargetGroupArn=group, Targets=[{"Id": "172.31.1.6", "Port": 8080}])
    assert [target for target, *_ in _health(elb, group)] == ["172.31.1.5"]


def test_store_contract_for_the_data_plane(server: ThreadedServer, elb: Any, ec2: Any, group: str) -> None:
    lb = create_alb(elb, ec2)
    listener = create_listener(elb, lb["LoadBalancerArn"], group)
    elb.register_targets(TargetGroupArn=group, Targets=[{"Id": "172.31.1.5"}])
    balancer = _document(server, "elbv2/load-balancer", lb["LoadBalancerArn"])
    assert balancer is not None
    address = balancer["dockyard"]["Address"]
    assert address.startswith("127.0.") and int(address.split(".")[2]) >= 200
    assert balancer["dockyard"]["Attributes"]["idle_timeout.timeout_seconds"] == "60"
    second = _document(server, "elbv2/load-balancer", create_alb(elb, ec2, "two")["LoadBalancerArn"])
    assert second is not None and second["dockyard"]["Address"] != address
    targets = _document(server, "elbv2/targets", group)
    assert targets is not None
    (entry,) = targets["Targets"]
    assert {k: entry[k] for k in ("Id", "Port", "AvailabilityZone", "Address")} == {
        "Id": "172.31.1.5",
        "Port": 8080,
        "AvailabilityZone": "us-east-1a",
        "Address": "172.31.1.5",
    }
    assert isinstance(entry["RegisteredAt"], float) and "DeregisteredAt" not in entry
    store = server.server.store
    listeners = server.run(store.find("elbv2/listener", "lb", lb["LoadBalancerArn"]))
    assert [d.key.name for d in listeners] == [listener["ListenerArn"]]
    rules = server.run(store.find("elbv2/rule", "listener", listener["ListenerArn"]))
    assert [(d.value["Priority"], d.value["IsDefault"]) for d in rules] == [("default", True)]
    assert rules[0].value["dockyard"]["LoadBalancerArn"] == lb["LoadBalancerArn"]
    target_group = _document(server, "elbv2/target-group", group)
    assert target_group is not None and target_group["LoadBalancerArns"] == [lb["LoadBalancerArn"]]
    assert target_group["dockyard"]["Attributes"]["deregistration_delay.timeout_seconds"] == "300"


def test_in_process_client(server: ThreadedServer, elb: Any, ec2: Any, group: str) -> None:
    """ECS registers and deregisters its tasks through the operations, in process."""
    client = LocalClient(elbv2.api.bind(server.server.elbv2), principal="ecs.amazonaws.com")

    async def call(operation: str, request: dict[str, Any]) -> dict[str, Any]:
        return await client.call(operation, request, account_id=ACCOUNT, region=REGION)

    server.run(
        call("RegisterTargets", {"TargetGroupArn": group, "Targets": [{"Id": "172.31.1.5", "Port": 80}]})
    )
    health = server.run(call("DescribeTargetHealth", {"TargetGroupArn": group}))
    assert health["TargetHealthDescriptions"][0]["TargetHealth"]["Reason"] == "Target.NotInUse"
    assert _health(elb, group) == [("172.31.1.5", 80, "unused", "Target.NotInUse")]
    server.run(
        call("DeregisterTargets", {"TargetGroupArn": group, "Targets": [{"Id": "172.31.1.5", "Port": 80}]})
    )
    assert _health(elb, group) == [("172.31.1.5", 80, "draining", "Target.DeregistrationInProgress")]
