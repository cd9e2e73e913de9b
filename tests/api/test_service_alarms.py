"""Deployment alarms on a real service: CloudWatch alarms that fail (and roll back) a rolling
deployment, the bake time after the rollout, an alarm already firing when a deployment begins,
and the configuration's checks. Time is a FakeClock the tests move on; the tests play the agents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.clock import FakeClock
from dockyard.testing.server import ThreadedServer
from tests.api.service_helpers import describe, eventually, live, messages, quiet, recorded_events, settle
from tests.api.task_helpers import fargate_td, network
from tests.conftest import make_client, reset

ALARM = "web-5xx"


@pytest.fixture(scope="module")
def clocked() -> Iterator[ThreadedServer]:
    with ThreadedServer(clock=FakeClock()) as running:
        yield running


@pytest.fixture
def clients(clocked: ThreadedServer) -> tuple[Any, Any]:
    reset(clocked.endpoint)
    ecs = make_client(clocked.endpoint, "ecs")
    cloudwatch = make_client(clocked.endpoint, "cloudwatch")
    ecs.create_cluster()
    fargate_td(ecs)
    cloudwatch.put_metric_alarm(
        AlarmName=ALARM, Namespace="App", MetricName="Errors", Statistic="Sum", Period=60,
        EvaluationPeriods=2, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    return ecs, cloudwatch


def create(ecs: Any, *, rollback: bool = True, **config: Any) -> str:
    service = ecs.create_service(
        serviceName="web",
        taskDefinition="web",
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network(),
        deploymentConfiguration={
            "alarms": {"alarmNames": [ALARM], "enable": True, "rollback": rollback},
            **config,
        },
    )["service"]
    return str(service["deployments"][0]["id"])


def primary(ecs: Any) -> dict[str, Any]:
    head: dict[str, Any] = describe(ecs, "web")["deployments"][0]
    return head


def service_deployment(ecs: Any, deployment_id: str) -> dict[str, Any]:
    found = ecs.list_service_deployments(service="web")["serviceDeployments"]
    arns = [d["serviceDeploymentArn"] for d in found]
    for sd in ecs.describe_service_deployments(serviceDeploymentArns=arns)["serviceDeployments"]:
        if sd["targetServiceRevision"]["arn"].endswith(deployment_id.split("/")[1]):
            return dict(sd)
    raise AssertionError(f"no service deployment for {deployment_id}")


def roll_out(server: ThreadedServer, ecs: Any) -> None:
    """Play the agents until the primary deployment's tasks run and count as healthy."""
    eventually(lambda: live(ecs, "web"), message="tasks launched")
    settle(server, ecs, "web")
    server.advance(41)  # a task without health checks counts as healthy 40 s after RUNNING
    eventually(lambda: len(live(ecs, "web")) == 1 and settle(server, ecs, "web") == 0, message="rollout")


def test_rollout_bakes_then_completes(clocked: ThreadedServer, clients: tuple[Any, Any]) -> None:
    ecs, _ = clients
    first = create(ecs)
    roll_out(clocked, ecs)
    # The rollout is done; the deployment bakes for the alarm's evaluation window (2 x 60 s).
    assert quiet(lambda: primary(ecs)["rolloutState"]) == "IN_PROGRESS"
    assert service_deployment(ecs, first)["alarms"] == {"status": "MONITORING", "alarmNames": [ALARM]}
    clocked.advance(100)
    assert quiet(lambda: primary(ecs)["rolloutState"]) == "IN_PROGRESS"
    clocked.advance(21)
    eventually(lambda: primary(ecs)["rolloutState"] == "COMPLETED", message="completed after the bake time")
    sd = service_deployment(ecs, first)
    assert sd["status"] == "SUCCESSFUL"
    assert sd["alarms"] == {"status": "MONITORING_COMPLETE", "alarmNames": [ALARM]}


def test_bake_time_given_in_minutes(clocked: ThreadedServer, clients: tuple[Any, Any]) -> None:
    ecs, _ = clients
    create(ecs, bakeTimeInMinutes=5)
    roll_out(clocked, ecs)
    clocked.advance(250)
    assert quiet(lambda: primary(ecs)["rolloutState"]) == "IN_PROGRESS"
    clocked.advance(51)
    eventually(lambda: primary(ecs)["rolloutState"] == "COMPLETED", message="completed after 5 minutes")


def deploy_good_then_bad(clocked: ThreadedServer, ecs: Any, *, rollback: bool = True) -> tuple[str, str]:
    good = create(ecs, rollback=rollback, bakeTimeInMinutes=0)
    roll_out(clocked, ecs)
    eventually(lambda: primary(ecs)["rolloutState"] == "COMPLETED", message="first deployment completed")
    fargate_td(ecs)
    bad = ecs.update_service(service="web", taskDefinition="web")["service"]["deployments"][0]["id"]
    eventually(lambda: len(live(ecs, "web")) == 2, message="the new deployment's task")
    return good, str(bad)


def test_alarm_rolls_the_deployment_back(clocked: ThreadedServer, clients: tuple[Any, Any]) -> None:
    ecs, cloudwatch = clients
    good, bad = deploy_good_then_bad(clocked, ecs)
    assert quiet(lambda: primary(ecs)["id"]) == bad
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="errors after the deployment")
    eventually(lambda: primary(ecs)["id"] == good, message="rolled back")
    service = describe(ecs, "web")
    assert service["taskDefinition"].endswith("web:1")
    failed = next(d for d in service["deployments"] if d["id"] == bad)
    assert failed["rolloutState"] == "FAILED"
    assert failed["rolloutStateReason"] == f"ECS deployment alarms: alarm(s) in ALARM state: {ALARM}."
    reason = f"ECS deployment alarms: rolling back to deploymentId {good}."
    assert primary(ecs)["rolloutStateReason"] == reason
    events = messages(ecs, "web")
    assert f"(service web) (deployment {bad}) deployment failed: alarm detected." in events
    assert f"(service web) rolling back to deployment {good}." in events
    sd = service_deployment(ecs, bad)
    assert sd["alarms"] == {"status": "TRIGGERED", "alarmNames": [ALARM], "triggeredAlarmNames": [ALARM]}
    assert sd["rollback"]["reason"] == reason
    # The rollback began with the alarm in ALARM: it ignores the alarms, and completes.
    settle(clocked, ecs, "web")
    eventually(
        lambda: (
            settle(clocked, ecs, "web") == 0
            and primary(ecs)["rolloutState"] == "COMPLETED"
            and len(describe(ecs, "web")["deployments"]) == 1
        ),
        message="rollback completed",
    )
    assert service_deployment(ecs, bad)["status"] == "ROLLBACK_SUCCESSFUL"
    changes = [
        (e["detail"]["eventName"], e["detail"]["deploymentId"])
        for e in recorded_events(clocked, "ECS Deployment State Change")
    ]
    assert changes[-3:] == [
        ("SERVICE_DEPLOYMENT_FAILED", bad),
        ("SERVICE_DEPLOYMENT_IN_PROGRESS", good),
        ("SERVICE_DEPLOYMENT_COMPLETED", good),
    ]


def test_alarm_without_rollback_fails_the_deployment(
    clocked: ThreadedServer, clients: tuple[Any, Any]
) -> None:
    ecs, cloudwatch = clients
    _, bad = deploy_good_then_bad(clocked, ecs, rollback=False)
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="errors")
    eventually(lambda: primary(ecs)["rolloutState"] == "FAILED", message="failed")
    assert primary(ecs)["id"] == bad
    sd = service_deployment(ecs, bad)
    assert sd["status"] == "STOPPED"
    assert sd["statusReason"] == f"ECS deployment alarms: alarm(s) in ALARM state: {ALARM}."


def test_alarm_firing_before_the_deployment_is_ignored(
    clocked: ThreadedServer, clients: tuple[Any, Any]
) -> None:
    ecs, cloudwatch = clients
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="already firing")
    first = create(ecs)
    roll_out(clocked, ecs)
    eventually(lambda: primary(ecs)["rolloutState"] == "COMPLETED", message="completed, no bake time")
    assert service_deployment(ecs, first)["alarms"] == {"status": "DISABLED", "alarmNames": [ALARM]}


def test_alarms_that_do_not_exist_yet_are_accepted(clocked: ThreadedServer, clients: tuple[Any, Any]) -> None:
    ecs, _ = clients
    ecs.create_service(
        serviceName="web", taskDefinition="web", desiredCount=0, launchType="FARGATE",
        networkConfiguration=network(),
        deploymentConfiguration={
            "alarms": {"alarmNames": ["created-later"], "enable": True, "rollback": True},
        },
    )  # fmt: skip
    config = describe(ecs, "web")["deploymentConfiguration"]
    assert config["alarms"] == {"alarmNames": ["created-later"], "enable": True, "rollback": True}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        pytest.param(
            {"alarms": {"alarmNames": [], "enable": True, "rollback": False}},
            "alarmNames must contain at least one alarm name when deployment alarms are enabled.",
            id="enabled without alarms",
        ),
        pytest.param(
            {"bakeTimeInMinutes": 1441},
            "bakeTimeInMinutes must be between 0 and 1440 (inclusive).",
            id="bake time too long",
        ),
    ],
)
def test_bad_alarm_configuration(clients: tuple[Any, Any], config: dict[str, Any], message: str) -> None:
    ecs, _ = clients
    with pytest.raises(ClientError) as caught:
        ecs.create_service(
            serviceName="web", taskDefinition="web", desiredCount=1, launchType="FARGATE",
            networkConfiguration=network(), deploymentConfiguration=config,
        )  # fmt: skip
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("InvalidParameterException", message)
    assert ecs.list_services()["serviceArns"] == []
