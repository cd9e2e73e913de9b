"""The service scheduler on a real service: rolling updates step by step, the circuit breaker and
rollback, launch backoff, unhealthy replacement. Time is a FakeClock the tests move on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.testing.clock import FakeClock
from dockyard.testing.server import ThreadedServer
from tests.api.service_helpers import (
    describe,
    eventually,
    live,
    messages,
    quiet,
    recorded_events,
    running_report,
    settle,
    snapshot,
    stored,
    tasks_of,
)
from tests.api.task_helpers import fargate_td, network, report
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
    fargate_td(client)
    return client


def create(ecs: Any, desired: int, *, min_pct: int = 100, max_pct: int = 200, **extra: Any) -> dict[str, Any]:
    config = {"minimumHealthyPercent": min_pct, "maximumPercent": max_pct, **extra.pop("config", {})}
    service: dict[str, Any] = ecs.create_service(
        serviceName="web",
        taskDefinition=extra.pop("taskDefinition", "web"),
        desiredCount=desired,
        launchType="FARGATE",
        networkConfiguration=network(),
        deploymentConfiguration=config,
        **extra,
    )["service"]
    return service


def primary(ecs: Any) -> dict[str, Any]:
    deployment: dict[str, Any] = describe(ecs, "web")["deployments"][0]
    return deployment


def bring_up(server: ThreadedServer, ecs: Any, desired: int) -> None:
    eventually(lambda: len(live(ecs, "web")) == desired, message="tasks launched")
    settle(server, ecs, "web")
    server.advance(41)
    eventually(lambda: primary(ecs)["rolloutState"] == "COMPLETED", message="deployment completed")


def roll(server: ThreadedServer, ecs: Any, minimum: int) -> list[str]:
    """Deploy a new revision and record each step the scheduler takes, playing the agents."""
    before = snapshot(ecs, "web")
    fargate_td(ecs)
    ecs.update_service(service="web", taskDefinition="web")
    steps: list[str] = []
    for _ in range(16):
        for act in (lambda: None, lambda: settle(server, ecs, "web"), lambda: server.advance(41)):
            act()
            now = quiet(lambda: snapshot(ecs, "web"))
            started = [t for t in now if t not in before]
            stopped = [t for t in now if t in before and before[t][1] == "RUNNING" and now[t][1] == "STOPPED"]
            if stopped:
                steps.append(f"stop {len(stopped)}")
            if started:
                steps.append(f"start {len(started)}")
            healthy_capable = [t for t in now.values() if t[1] == "RUNNING" and t[2] == "RUNNING"]
            assert len(healthy_capable) >= minimum, (steps, now)
            before = now
        service = describe(ecs, "web")
        if len(service["deployments"]) == 1 and service["deployments"][0]["rolloutState"] == "COMPLETED":
            return steps
    raise AssertionError(f"the deployment did not finish: {steps}")


def test_four_tasks_at_50_100(clocked: ThreadedServer, ecs: Any) -> None:
    create(ecs, 4, min_pct=50, max_pct=100)
    bring_up(clocked, ecs, 4)
    assert roll(clocked, ecs, minimum=2) == ["stop 2", "start 2", "stop 2", "start 2"]
    service = describe(ecs, "web")
    assert service["taskDefinition"].endswith("web:2") and service["runningCount"] == 4
    assert all(
        t[0] == service["deployments"][0]["id"] for t in snapshot(ecs, "web").values() if t[2] != "STOPPED"
    )
    assert messages(ecs, "web")[0] == "(service web) has reached a steady state."


def test_four_tasks_at_100_150(clocked: ThreadedServer, ecs: Any) -> None:
    create(ecs, 4, min_pct=100, max_pct=150)
    bring_up(clocked, ecs, 4)
    assert roll(clocked, ecs, minimum=4) == ["start 2", "stop 2", "start 2", "stop 2"]


def test_two_tasks_at_75_100_cannot_move(clocked: ThreadedServer, ecs: Any) -> None:
    create(ecs, 2, min_pct=75, max_pct=100)
    bring_up(clocked, ecs, 2)
    fargate_td(ecs)
    ecs.update_service(service="web", taskDefinition="web")
    blocked = (
        "(service web) was unable to stop or start tasks during a deployment because of the service "
        "deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
    )
    eventually(lambda: messages(ecs, "web")[0] == blocked)
    assert [d["status"] for d in describe(ecs, "web")["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert len(live(ecs, "web")) == 2
    ecs.update_service(service="web", deploymentConfiguration={"minimumHealthyPercent": 50})
    eventually(lambda: any(t["desiredStatus"] == "STOPPED" for t in live(ecs, "web")))


def fail_new_tasks(server: ThreadedServer, ecs: Any, deployment: str, count: int) -> None:
    """Report `count` tasks of `deployment` STOPPED before they ever ran (image pull failure)."""
    for _ in range(count):
        task = eventually(
            lambda: next(
                (
                    t
                    for t in live(ecs, "web")
                    if t.get("startedBy") == deployment and t["desiredStatus"] == "RUNNING"
                ),
                None,
            ),
            message="a new task",
        )
        report(
            server.endpoint,
            {
                "taskArn": task["taskArn"],
                "lastStatus": "STOPPED",
                "stoppedReason": "CannotPullContainerError: pull access denied for nope",
                "containers": [
                    {"name": "app", "lastStatus": "STOPPED", "reason": "CannotPullContainerError"}
                ],
            },
        )


def test_circuit_breaker_rolls_back(clocked: ThreadedServer, ecs: Any) -> None:
    first = create(ecs, 1, config={"deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    good = first["deployments"][0]["id"]
    bring_up(clocked, ecs, 1)
    fargate_td(ecs)
    bad = ecs.update_service(service="web", taskDefinition="web")["service"]["deployments"][0]["id"]
    fail_new_tasks(clocked, ecs, bad, 3)
    reason = f"ECS deployment circuit breaker: rolling back to deploymentId {good}."
    eventually(lambda: primary(ecs)["id"] == good, message="rolled back")
    service = describe(ecs, "web")
    assert service["taskDefinition"].endswith("web:1")
    events = messages(ecs, "web")
    assert f"(service web) (deployment {bad}) deployment failed: tasks failed to start." in events
    assert f"(service web) rolling back to deployment {good}." in events
    eventually(
        lambda: primary(ecs)["rolloutState"] == "COMPLETED" and len(describe(ecs, "web")["deployments"]) == 1
    )
    (brief,) = ecs.list_service_deployments(service="web", status=["ROLLBACK_SUCCESSFUL"])[
        "serviceDeployments"
    ]
    sd = ecs.describe_service_deployments(serviceDeploymentArns=[brief["serviceDeploymentArn"]])
    (failed,) = sd["serviceDeployments"]
    assert failed["deploymentCircuitBreaker"] == {"status": "TRIGGERED", "failureCount": 3, "threshold": 3}
    assert failed["rollback"]["reason"] == reason
    assert failed["rollback"]["serviceRevisionArn"].endswith(good.split("/")[1])
    assert failed["statusReason"] == "ECS deployment circuit breaker: task failed to start."
    changes = [
        (c["eventName"], c["deploymentId"], c["reason"])
        for c in (e["detail"] for e in recorded_events(clocked, "ECS Deployment State Change"))
    ]
    assert changes[-3:] == [
        ("SERVICE_DEPLOYMENT_FAILED", bad, "ECS deployment circuit breaker: task failed to start."),
        ("SERVICE_DEPLOYMENT_IN_PROGRESS", good, reason),
        ("SERVICE_DEPLOYMENT_COMPLETED", good, f"ECS deployment {good} completed."),
    ]
    assert len(live(ecs, "web")) == 1


def test_circuit_breaker_without_rollback_stops_launching(clocked: ThreadedServer, ecs: Any) -> None:
    create(ecs, 1, config={"deploymentCircuitBreaker": {"enable": True, "rollback": False}})
    bring_up(clocked, ecs, 1)
    fargate_td(ecs)
    bad = ecs.update_service(service="web", taskDefinition="web")["service"]["deployments"][0]["id"]
    fail_new_tasks(clocked, ecs, bad, 3)
    eventually(lambda: primary(ecs)["rolloutState"] == "FAILED")
    head = primary(ecs)
    assert head["id"] == bad and head["failedTasks"] == 3
    assert head["rolloutStateReason"] == "ECS deployment circuit breaker: task failed to start."
    clocked.advance(31)
    assert quiet(lambda: [t for t in live(ecs, "web") if t.get("startedBy") == bad]) == []
    (brief,) = ecs.list_service_deployments(service="web", status=["STOPPED"])["serviceDeployments"]
    assert brief["statusReason"] == "ECS deployment circuit breaker: task failed to start."


def test_failing_tasks_back_off(clocked: ThreadedServer, ecs: Any) -> None:
    first = create(ecs, 1)
    fail_new_tasks(clocked, ecs, first["deployments"][0]["id"], 3)
    impaired = "(service web) is unable to consistently start tasks successfully."
    eventually(lambda: impaired in messages(ecs, "web"))
    assert quiet(lambda: live(ecs, "web")) == []
    assert primary(ecs)["failedTasks"] == 3
    clocked.advance(31)
    eventually(lambda: live(ecs, "web"), message="launching again after the backoff")
    actions = [e["detail"]["eventName"] for e in recorded_events(clocked, "ECS Service Action")]
    assert "SERVICE_TASK_START_IMPAIRED" in actions


def health_td(ecs: Any) -> None:
    ecs.register_task_definition(
        family="web",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": "app", "image": "dockyard/hello:latest", "healthCheck": {"command": ["CMD", "true"]}}
        ],
    )


def test_unhealthy_task_is_replaced(clocked: ThreadedServer, ecs: Any) -> None:
    health_td(ecs)
    create(ecs, 1, taskDefinition="web:2", healthCheckGracePeriodSeconds=60)
    (task,) = eventually(lambda: live(ecs, "web"))
    report(clocked.endpoint, running_report(task, "HEALTHY"))
    eventually(lambda: primary(ecs)["rolloutState"] == "COMPLETED")
    report(
        clocked.endpoint,
        {"taskArn": task["taskArn"], "containers": [{"name": "app", "healthStatus": "UNHEALTHY"}]},
    )
    assert len(quiet(lambda: live(ecs, "web"))) == 1  # inside the grace period
    clocked.advance(61)
    stopped = eventually(lambda: [t for t in live(ecs, "web") if t["desiredStatus"] == "STOPPED"])
    assert stopped[0]["stoppedReason"] == "Task failed container health checks"
    assert stopped[0]["stopCode"] == "ServiceSchedulerInitiated"
    assert len(live(ecs, "web")) == 2  # the replacement started first (maximumPercent 200)
    assert (
        f"(service web) (task {task['taskArn'].rsplit('/', 1)[1]}) failed container health checks."
        in messages(ecs, "web")
    )
    assert primary(ecs)["failedTasks"] == 1


def test_task_stopped_outside_is_replaced(clocked: ThreadedServer, ecs: Any) -> None:
    create(ecs, 2)
    bring_up(clocked, ecs, 2)
    victim = live(ecs, "web")[0]
    ecs.stop_task(task=victim["taskArn"])
    settle(clocked, ecs, "web")
    eventually(lambda: len([t for t in live(ecs, "web") if t["desiredStatus"] == "RUNNING"]) == 2)
    assert len(tasks_of(ecs, "web")) == 3


def test_server_restart_continues_a_deployment(tmp_path: Any) -> None:
    clock = FakeClock()
    server = ThreadedServer(data_dir=tmp_path, clock=clock).start()
    try:
        ecs = make_client(server.endpoint, "ecs")
        ecs.create_cluster()
        fargate_td(ecs)
        create(ecs, 4, min_pct=50, max_pct=100)
        bring_up(server, ecs, 4)
        fargate_td(ecs)
        ecs.update_service(service="web", taskDefinition="web")
        eventually(lambda: sum(1 for t in live(ecs, "web") if t["desiredStatus"] == "STOPPED") == 2)
    finally:
        server.stop()
    server = ThreadedServer(data_dir=tmp_path, port=server.server.port, clock=FakeClock(clock.now())).start()
    try:
        ecs = make_client(server.endpoint, "ecs")
        assert quiet(lambda: sum(1 for t in live(ecs, "web") if t["desiredStatus"] == "STOPPED")) == 2
        settle(server, ecs, "web")
        head = primary(ecs)["id"]
        eventually(lambda: sum(1 for t in live(ecs, "web") if t.get("startedBy") == head) == 2)
        assert len(live(ecs, "web")) == 4
    finally:
        server.stop()


def test_events_are_recorded_for_eventbridge(clocked: ThreadedServer, ecs: Any) -> None:
    create(ecs, 1)
    bring_up(clocked, ecs, 1)
    (task,) = live(ecs, "web")

    def changes() -> list[dict[str, Any]]:
        return [
            e
            for e in recorded_events(clocked, "ECS Task State Change")
            if e["resources"] == [task["taskArn"]]
        ]

    # the launch records version 1 in its own commit; the agent's RUNNING report is recorded after
    statuses = eventually(
        lambda: [e["detail"]["lastStatus"] for e in changes()][-1:] == ["RUNNING"] and changes()
    )
    assert statuses[0]["detail"]["lastStatus"] == "PROVISIONING" and statuses[0]["detail"]["version"] == 1
    event = statuses[0]
    assert event["source"] == "aws.ecs" and event["account"] == "123456789012"
    assert event["detail"]["attachments"][0]["type"] == "eni"
    assert event["detail"]["createdAt"].endswith("Z") and "healthStatus" not in event["detail"]
    actions = [e["detail"] for e in recorded_events(clocked, "ECS Service Action")]
    assert any(a["eventName"] == "SERVICE_STEADY_STATE" and a["eventType"] == "INFO" for a in actions)
    deployments = [e["detail"]["eventName"] for e in recorded_events(clocked, "ECS Deployment State Change")]
    assert deployments == ["SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED"]
    assert stored(clocked, "ecs:service", "default/web") is not None


def test_inactive_service_is_purged_after_an_hour(clocked: ThreadedServer, ecs: Any) -> None:
    create(ecs, 0)
    ecs.delete_service(service="web")
    eventually(lambda: describe(ecs, "web")["status"] == "INACTIVE")
    clocked.advance(3601)
    missing = "arn:aws:ecs:us-east-1:123456789012:service/default/web"
    eventually(
        lambda: ecs.describe_services(services=["web"])["failures"] == [{"arn": missing, "reason": "MISSING"}]
    )
