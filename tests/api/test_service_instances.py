"""Services on container instances: DAEMON, DRAINING instances, placement failures, spread."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.testing.clock import FakeClock
from dockyard.testing.server import ThreadedServer
from tests.api.instance_helpers import AGENT_ATTRIBUTES, identity, register
from tests.api.service_helpers import describe, eventually, live, messages, quiet, settle
from tests.api.task_helpers import bridge_td, poll
from tests.conftest import make_client, reset


@pytest.fixture(scope="module")
def clocked() -> Iterator[ThreadedServer]:
    with ThreadedServer(clock=FakeClock()) as running:
        yield running


@pytest.fixture
def ecs(clocked: ThreadedServer) -> Any:
    reset(clocked.endpoint)
    client = make_client(clocked.endpoint, "ecs")
    client.create_cluster()
    return client


def add_instance(ecs: Any, n: int, zone: str = "us-east-1a", **attributes: str) -> str:
    doc = identity(f"i-{n:017x}", availabilityZone=zone)
    extra = [{"name": k, "value": v} for k, v in attributes.items()]
    instance = register(ecs, instanceIdentityDocument=doc, attributes=[*AGENT_ATTRIBUTES, *extra])
    return str(instance["containerInstanceArn"])


def advance(server: ThreadedServer, seconds: float, instances: list[str]) -> None:
    """Move time on, keeping the agents connected (their polls are heartbeats)."""
    server.advance(seconds)
    for arn in instances:
        poll(server.endpoint, arn)


def nodes(ecs: Any) -> list[str]:
    return sorted(str(t["containerInstanceArn"]) for t in live(ecs, "d") if t["desiredStatus"] == "RUNNING")


def test_daemon_runs_one_task_per_instance(clocked: ThreadedServer, ecs: Any) -> None:
    bridge_td(ecs, memory=128, cpu=128)
    first = add_instance(ecs, 1)
    second = add_instance(ecs, 2, role="db")
    ecs.create_service(
        serviceName="d",
        taskDefinition="api",
        schedulingStrategy="DAEMON",
        placementConstraints=[{"type": "memberOf", "expression": "attribute:role != web"}],
    )
    eventually(lambda: nodes(ecs) == sorted([first, second]))
    assert eventually(lambda: describe(ecs, "d")["desiredCount"] == 2)
    for task in live(ecs, "d"):
        assert task["launchType"] == "EC2" and task["group"] == "service:d"
    third = add_instance(ecs, 3, role="web")  # does not meet the constraint
    fourth = add_instance(ecs, 4)
    eventually(lambda: nodes(ecs) == sorted([first, second, fourth]))
    assert third not in nodes(ecs)
    settle(clocked, ecs, "d")
    advance(clocked, 41, [first, second, third, fourth])
    eventually(lambda: describe(ecs, "d")["deployments"][0]["rolloutState"] == "COMPLETED")
    ecs.update_container_instances_state(containerInstances=[second], status="DRAINING")
    eventually(lambda: nodes(ecs) == sorted([first, fourth]))
    drained = [t for t in live(ecs, "d") if t["containerInstanceArn"] == second][0]
    assert drained["desiredStatus"] == "STOPPED" and drained["stopCode"] == "ServiceSchedulerInitiated"
    settle(clocked, ecs, "d")
    eventually(lambda: describe(ecs, "d")["desiredCount"] == 2)
    # a DAEMON service is deleted without scaling it first
    assert ecs.delete_service(service="d")["service"]["status"] == "DRAINING"
    eventually(lambda: nodes(ecs) == [])
    settle(clocked, ecs, "d")
    eventually(lambda: describe(ecs, "d")["status"] == "INACTIVE")


def test_daemon_rolls_instance_by_instance(clocked: ThreadedServer, ecs: Any) -> None:
    bridge_td(ecs, memory=128, cpu=128)
    instances = [add_instance(ecs, n) for n in range(1, 4)]
    ecs.create_service(serviceName="d", taskDefinition="api", schedulingStrategy="DAEMON")
    eventually(lambda: len(nodes(ecs)) == 3)
    settle(clocked, ecs, "d")
    advance(clocked, 41, instances)
    bridge_td(ecs, memory=128, cpu=128)
    new = ecs.update_service(
        service="d", taskDefinition="api", deploymentConfiguration={"minimumHealthyPercent": 50}
    )["service"]["deployments"][0]["id"]
    # 3 instances at 50%: 2 stay healthy, so one task is replaced at a time (stop first: max 100%)
    stopping = eventually(lambda: [t for t in live(ecs, "d") if t["desiredStatus"] == "STOPPED"])
    assert len(quiet(lambda: [t["taskArn"] for t in live(ecs, "d") if t["desiredStatus"] == "STOPPED"])) == 1
    settle(clocked, ecs, "d")
    replacement = eventually(lambda: [t for t in live(ecs, "d") if t.get("startedBy") == new])
    assert replacement[0]["containerInstanceArn"] == stopping[0]["containerInstanceArn"]


def test_draining_instance_moves_service_tasks(clocked: ThreadedServer, ecs: Any) -> None:
    bridge_td(ecs, memory=256, cpu=256)
    first = add_instance(ecs, 1, zone="us-east-1a")
    second = add_instance(ecs, 2, zone="us-east-1b")
    ecs.create_service(serviceName="d", taskDefinition="api", desiredCount=2)
    # no strategy: spread over zones, then instances
    eventually(lambda: nodes(ecs) == sorted([first, second]))
    settle(clocked, ecs, "d")
    advance(clocked, 41, [first, second])
    eventually(lambda: describe(ecs, "d")["deployments"][0]["rolloutState"] == "COMPLETED")
    ecs.update_container_instances_state(containerInstances=[first], status="DRAINING")
    # the replacement starts first (maximumPercent 200), the drained task stays until it is healthy
    eventually(lambda: nodes(ecs) == sorted([first, second, second]))
    settle(clocked, ecs, "d")
    advance(clocked, 41, [first, second])
    eventually(lambda: nodes(ecs) == [second, second])
    drained = [t for t in live(ecs, "d") if t["containerInstanceArn"] == first]
    assert drained and drained[0]["desiredStatus"] == "STOPPED"


def test_unplaceable_task_is_explained(clocked: ThreadedServer, ecs: Any) -> None:
    bridge_td(ecs, memory=8000, cpu=128)
    ecs.create_service(serviceName="d", taskDefinition="api", desiredCount=1)
    no_instances = (
        "(service d) was unable to place a task because no container instance met all of its requirements. "
        "Reason: No Container Instances were found in your cluster. For more information, see the "
        "Troubleshooting section of the Amazon ECS Developer Guide."
    )
    eventually(lambda: no_instances in messages(ecs, "d"))
    instance = add_instance(ecs, 1)
    short = (
        "(service d) was unable to place a task because no container instance met all of its requirements. "
        f"The closest matching (container-instance {instance.rsplit('/', 1)[1]}) has insufficient memory "
        "available. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
    )
    eventually(lambda: messages(ecs, "d")[0] == short)
    assert live(ecs, "d") == []
    bridge_td(ecs, memory=128, cpu=128)
    ecs.update_service(service="d", taskDefinition="api")
    eventually(lambda: live(ecs, "d"))
