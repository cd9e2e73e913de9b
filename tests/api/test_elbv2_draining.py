"""Deregistration delay on a fake clock: a deregistered target drains for the target group's
deregistration_delay.timeout_seconds (300 by default), then the drain controller removes it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.testing.clock import FakeClock
from dockyard.testing.server import ThreadedServer
from tests.api.test_elbv2_helpers import create_tg
from tests.conftest import make_client, reset


@pytest.fixture(scope="module", name="clocked")
def clocked_fixture() -> Iterator[ThreadedServer]:
    with ThreadedServer(clock=FakeClock()) as running:
        yield running


@pytest.fixture(name="clients")
def clients_fixture(clocked: ThreadedServer) -> tuple[Any, Any]:
    reset(clocked.endpoint)
    return make_client(clocked.endpoint, "elbv2"), make_client(clocked.endpoint, "ec2")


def _states(elb: Any, tg: str) -> dict[str, str]:
    found = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in found}


def _eventually(check: Any, what: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_targets_drain_for_the_deregistration_delay(
    clocked: ThreadedServer, clients: tuple[Any, Any]
) -> None:
    elb, ec2 = clients
    tg = create_tg(elb, ec2, TargetType="ip")["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "172.31.1.5"}, {"Id": "172.31.1.6"}])
    elb.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "172.31.1.5"}])
    assert _states(elb, tg) == {"172.31.1.5": "draining", "172.31.1.6": "unused"}
    clocked.advance(299)
    time.sleep(0.1)  # give the controller its chance to (wrongly) act
    assert _states(elb, tg)["172.31.1.5"] == "draining"
    clocked.advance(2)
    _eventually(lambda: _states(elb, tg) == {"172.31.1.6": "unused"}, "the drained target to go")
    named = elb.describe_target_health(TargetGroupArn=tg, Targets=[{"Id": "172.31.1.5"}])
    assert named["TargetHealthDescriptions"][0]["TargetHealth"]["Reason"] == "Target.NotRegistered"


def test_a_shorter_delay_applies_to_targets_already_draining(
    clocked: ThreadedServer, clients: tuple[Any, Any]
) -> None:
    elb, ec2 = clients
    tg = create_tg(elb, ec2, TargetType="ip")["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "172.31.1.5"}])
    elb.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "172.31.1.5"}])
    clocked.advance(60)
    elb.modify_target_group_attributes(
        TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}]
    )
    _eventually(lambda: _states(elb, tg) == {}, "the target to go once its shorter delay is over")
