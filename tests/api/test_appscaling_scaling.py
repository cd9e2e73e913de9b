"""Application Auto Scaling end to end on a server whose clock the tests move: metrics fed through
CloudWatch's PutMetricData, alarms evaluated every minute, the ECS service's desired count going
up and coming back; a step policy on a user's alarm; scheduled actions at their cron time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dockyard.testing.clock import FakeClock
from dockyard.testing.server import ThreadedServer
from tests.api.service_helpers import eventually, quiet
from tests.api.task_helpers import fargate_td, network
from tests.conftest import make_client, reset

SERVICE = "service/default/web"
TARGET = {"ServiceNamespace": "ecs", "ResourceId": SERVICE, "ScalableDimension": "ecs:service:DesiredCount"}
LOAD = {"Namespace": "App", "MetricName": "LoadPerTask", "Dimensions": [{"Name": "Service", "Value": "web"}]}


@pytest.fixture(scope="module")
def clocked() -> Iterator[ThreadedServer]:
    # 1_700_000_000 is Tuesday 14 November 2023, 22:13:20 UTC
    with ThreadedServer(clock=FakeClock()) as running:
        yield running


@pytest.fixture
def clients(clocked: ThreadedServer) -> tuple[Any, Any, Any]:
    reset(clocked.endpoint)
    ecs = make_client(clocked.endpoint, "ecs")
    ecs.create_cluster()
    fargate_td(ecs)
    ecs.create_service(
        serviceName="web",
        taskDefinition="web",
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration=network(),
    )
    aas = make_client(clocked.endpoint, "application-autoscaling")
    return ecs, aas, make_client(clocked.endpoint, "cloudwatch")


def desired(ecs: Any) -> int:
    return int(ecs.describe_services(services=["web"])["services"][0]["desiredCount"])


def feed(
    server: ThreadedServer,
    cloudwatch: Any,
    ecs: Any,
    value: float,
    *,
    until: int,
    minutes: int,
    publish: Callable[[float], None] | None = None,
) -> int:
    """Publish `value` once a minute (PutMetricData of the custom metric, or `publish`) until
    the desired count is `until` (at most `minutes`); returns the minutes it took."""
    for minute in range(1, minutes + 1):
        if publish is not None:
            publish(value)
        else:
            cloudwatch.put_metric_data(
                Namespace=LOAD["Namespace"],
                MetricData=[
                    {
                        "MetricName": LOAD["MetricName"],
                        "Dimensions": LOAD["Dimensions"],
                        "Value": value,
                        "Timestamp": server.server.clock.now(),
                    }
                ],
            )
        server.advance(60)
        if quiet(lambda: desired(ecs)) == until:
            return minute
    raise AssertionError(f"the desired count stayed {desired(ecs)}, not {until}, for {minutes} minutes")


def activities(aas: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=SERVICE)[
        "ScalingActivities"
    ]
    return found


def test_target_tracking_follows_a_custom_metric(
    clocked: ThreadedServer, clients: tuple[Any, Any, Any]
) -> None:
    ecs, aas, cloudwatch = clients
    aas.register_scalable_target(**TARGET, MinCapacity=1, MaxCapacity=6)
    response = aas.put_scaling_policy(
        **TARGET,
        PolicyName="load50",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "CustomizedMetricSpecification": {**LOAD, "Statistic": "Average"},
        },
    )
    high, low = (a["AlarmName"] for a in response["Alarms"])
    took = feed(clocked, cloudwatch, ecs, 90.0, until=4, minutes=8)  # ceil(2 × 90 / 50)
    assert took >= 3  # AlarmHigh needs 3 datapoints of 3
    [out] = activities(aas)
    assert out["Description"] == "Setting desired count to 4."
    assert out["Cause"] == f"monitor alarm {high} in state ALARM triggered policy load50"
    assert out["StatusCode"] == "Successful"
    # the load falls: 15 datapoints below 45 (90% of the target) bring it back, past the cooldown
    took = feed(clocked, cloudwatch, ecs, 10.0, until=1, minutes=25)  # ceil(4 × 10 / 50)
    assert took >= 15
    newest = activities(aas)[0]
    assert newest["Description"] == "Setting desired count to 1."
    assert newest["Cause"] == f"monitor alarm {low} in state ALARM triggered policy load50"
    states = {
        a["AlarmName"]: a["StateValue"]
        for a in cloudwatch.describe_alarms(AlarmNames=[high, low])["MetricAlarms"]
    }
    assert states == {high: "OK", low: "ALARM"}


def test_cpu_target_tracking_on_the_services_aws_ecs_metric(
    clocked: ThreadedServer, clients: tuple[Any, Any, Any]
) -> None:
    ecs, aas, cloudwatch = clients
    aas.register_scalable_target(**TARGET, MinCapacity=1, MaxCapacity=6)
    aas.put_scaling_policy(
        **TARGET,
        PolicyName="cpu50",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
        },
    )

    def publish(value: float) -> None:  # what the agents' telemetry publishes for the service
        metrics = clocked.server.metrics
        clocked.run(
            metrics.put(
                "123456789012",
                "us-east-1",
                "AWS/ECS",
                "CPUUtilization",
                {"ClusterName": "default", "ServiceName": "web"},
                value=value,
                unit="Percent",
            )
        )

    feed(clocked, cloudwatch, ecs, 80.0, until=4, minutes=8, publish=publish)  # ceil(2 × 80 / 50)
    assert activities(aas)[0]["Cause"].endswith("in state ALARM triggered policy cpu50")


def test_step_policy_on_a_users_alarm(clocked: ThreadedServer, clients: tuple[Any, Any, Any]) -> None:
    ecs, aas, cloudwatch = clients
    aas.register_scalable_target(**TARGET, MinCapacity=1, MaxCapacity=10)
    arn = aas.put_scaling_policy(
        **TARGET,
        PolicyName="load-steps",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "Cooldown": 120,
            "StepAdjustments": [
                {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 20.0, "ScalingAdjustment": 1},
                {"MetricIntervalLowerBound": 20.0, "ScalingAdjustment": 3},
            ],
        },
    )["PolicyARN"]
    cloudwatch.put_metric_alarm(
        AlarmName="load-high",
        **LOAD,
        Statistic="Average",
        Period=60,
        EvaluationPeriods=2,
        Threshold=70.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[arn],
    )
    feed(clocked, cloudwatch, ecs, 95.0, until=5, minutes=6)  # 25 above the threshold: +3
    assert activities(aas)[0]["Cause"] == "monitor alarm load-high in state ALARM triggered policy load-steps"
    # the alarm stays in ALARM: after the 120 s cooldown the policy acts again, from 5
    feed(clocked, cloudwatch, ecs, 95.0, until=8, minutes=6)
    assert [a["Description"] for a in activities(aas)] == [
        "Setting desired count to 8.",
        "Setting desired count to 5.",
    ]


def test_scheduled_action_at_its_cron_time(clocked: ThreadedServer, clients: tuple[Any, Any, Any]) -> None:
    ecs, aas, _ = clients
    aas.register_scalable_target(**TARGET, MinCapacity=1, MaxCapacity=4)
    # a one-off cron time 17 minutes on, written in New York time (the clock has moved on from
    # Tuesday 14 November 2023, 22:13:20 UTC with the tests before)
    now = clocked.server.clock.now()
    when = datetime.fromtimestamp((now // 60 + 17) * 60, ZoneInfo("America/New_York"))
    aas.put_scheduled_action(
        **TARGET,
        ScheduledActionName="evening-peak",
        Schedule=f"cron({when.minute} {when.hour} {when.day} {when:%b} ? {when.year})",
        Timezone="America/New_York",
        ScalableTargetAction={"MinCapacity": 3, "MaxCapacity": 5},
    )
    clocked.advance(16 * 60)
    assert quiet(lambda: desired(ecs)) == 2
    clocked.advance(60)
    eventually(lambda: desired(ecs) == 3, message="the scheduled action raised the minimum")
    [found] = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert (found["MinCapacity"], found["MaxCapacity"]) == (3, 5)
    scaled, limits = eventually(lambda: activities(aas)[:2] if len(activities(aas)) == 2 else None)
    assert limits["Description"] == "Setting min capacity to 3 and max capacity to 5"
    assert limits["Cause"] == "scheduled action name evening-peak was triggered"
    assert limits["StatusMessage"] == "Successfully set min capacity to 3 and max capacity to 5"
    assert scaled["Description"] == "Setting desired count to 3."
    assert scaled["Cause"] == "minimum capacity was set to 3"
    # the year is over after that run: nothing more happens
    clocked.advance(7 * 24 * 3600)
    assert quiet(lambda: len(activities(aas))) == 2


def test_suspended_scheduled_scaling_skips_runs(
    clocked: ThreadedServer, clients: tuple[Any, Any, Any]
) -> None:
    ecs, aas, _ = clients
    aas.register_scalable_target(
        **TARGET, MinCapacity=1, MaxCapacity=4, SuspendedState={"ScheduledScalingSuspended": True}
    )
    aas.put_scheduled_action(
        **TARGET,
        ScheduledActionName="every-ten",
        Schedule="rate(10 minutes)",
        ScalableTargetAction={"MaxCapacity": 1},
    )
    clocked.advance(11 * 60)
    assert quiet(lambda: desired(ecs)) == 2 and activities(aas) == []
    # resumed: the missed run is not made up, the next one runs
    aas.register_scalable_target(**TARGET, SuspendedState={"ScheduledScalingSuspended": False})
    assert quiet(lambda: desired(ecs)) == 2
    clocked.advance(10 * 60)
    eventually(lambda: desired(ecs) == 1, message="the next run lowered the maximum")
    assert activities(aas)[0]["Cause"] == "maximum capacity was set to 1"
