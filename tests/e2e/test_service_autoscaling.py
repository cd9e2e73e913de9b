"""End to end: Application Auto Scaling changes real services' task counts, with the AWS CLI.

The server runs with `--time-scale 20` (a CloudWatch minute lasts 3 real seconds, a 300 s
cooldown 15), so AWS's own defaults — one-minute periods, 3 datapoints to scale out, 15 to scale
in — play out in about a minute and a half. Three services at once:

- `cpu`: target tracking at 50 % of ECSServiceAverageCPUUtilization. Its Fargate tasks (256 CPU
  units: a quarter of a core, enforced) burn CPU until a set wall-clock time, then idle. The
  agent's container statistics become AWS/ECS CPUUtilization; AlarmHigh scales out to the
  maximum, and once the burn ends AlarmLow brings it back to the minimum.
- `steps`: a step scaling policy on a user's alarm over a custom metric (PutMetricData).
- `cron`: a scheduled action whose cron time comes two (scaled) minutes after creation.

DescribeScalingActivities explains every change.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.core.clock import ScaledClock
from dockyard.testing.platform import Platform
from tests.waiting import until

pytestmark = pytest.mark.docker

SCALE = 20.0
BURN_SECONDS = 30  # real seconds the cpu service's tasks burn CPU after the test starts them


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, built_images: None) -> Iterator[Platform]:
    running = Platform(
        tmp_path_factory.mktemp("autoscaling"),
        server_settings={"clock": ScaledClock(SCALE), "service_healthy_delay": 0.0},
    )
    running.env["DOCKYARD_TELEMETRY_INTERVAL"] = "1"
    with running:
        yield running


def server_now(platform: Platform) -> float:
    assert platform.server is not None
    return platform.server.server.clock.now()


def desired(platform: Platform, service: str) -> int:
    found = platform.aws("ecs", "describe-services", "--services", service)["services"][0]
    return int(found["desiredCount"])


def running_count(platform: Platform, service: str) -> int:
    return int(platform.aws("ecs", "describe-services", "--services", service)["services"][0]["runningCount"])


def service(platform: Platform, name: str, family: str) -> None:
    platform.aws(
        "ecs", "create-service", "--service-name", name, "--task-definition", family,
        "--desired-count", "1", "--launch-type", "FARGATE",
        "--network-configuration", f"awsvpcConfiguration={{subnets=[{platform.subnet(0)}]}}",
    )  # fmt: skip
    platform.aws(
        "application-autoscaling", "register-scalable-target", "--service-namespace", "ecs",
        "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", f"service/default/{name}",
        "--min-capacity", "1", "--max-capacity", "3",
    )  # fmt: skip


def activities(platform: Platform, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = platform.aws(
        "application-autoscaling", "describe-scaling-activities", "--service-namespace", "ecs",
        "--resource-id", f"service/default/{name}",
    )["ScalingActivities"]  # fmt: skip
    return found


def test_target_tracking_step_and_scheduled_scaling(platform: Platform) -> None:
    burn_until = int(time.time()) + BURN_SECONDS
    platform.aws(
        "ecs", "register-task-definition", "--family", "burn", "--requires-compatibilities", "FARGATE",
        "--network-mode", "awsvpc", "--cpu", "256", "--memory", "512",
        "--container-definitions", json.dumps([{
            "name": "burn", "image": "dockyard/busybox:latest", "stopTimeout": 2,
            "environment": [{"name": "BURN_UNTIL", "value": str(burn_until)}],
            "command": ["sh", "-c", 'while [ "$(date +%s)" -lt "$BURN_UNTIL" ]; do :; done; exec sleep 3600'],
        }]),
    )  # fmt: skip
    platform.aws(
        "ecs", "register-task-definition", "--family", "idle", "--requires-compatibilities", "FARGATE",
        "--network-mode", "awsvpc", "--cpu", "256", "--memory", "512",
        "--container-definitions", json.dumps([{
            "name": "idle", "image": "dockyard/busybox:latest", "stopTimeout": 2,
            "command": ["sleep", "3600"],
        }]),
    )  # fmt: skip
    platform.aws("ecs", "create-cluster")
    service(platform, "cpu", "burn")
    service(platform, "steps", "idle")
    service(platform, "cron", "idle")

    # cpu: target tracking at 50 % CPU.
    policy = platform.aws(
        "application-autoscaling", "put-scaling-policy", "--service-namespace", "ecs",
        "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", "service/default/cpu",
        "--policy-name", "cpu50", "--policy-type", "TargetTrackingScaling",
        "--target-tracking-scaling-policy-configuration", json.dumps({
            "TargetValue": 50.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 60,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
        }),
    )  # fmt: skip
    alarm_names = [a["AlarmName"] for a in policy["Alarms"]]
    assert len(alarm_names) == 2 and all(
        n.startswith("TargetTracking-service/default/cpu-Alarm") for n in alarm_names
    )

    # steps: a user's alarm on a custom metric, and a step policy that adds a task.
    step = platform.aws(
        "application-autoscaling", "put-scaling-policy", "--service-namespace", "ecs",
        "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", "service/default/steps",
        "--policy-name", "add-one", "--policy-type", "StepScaling",
        "--step-scaling-policy-configuration", json.dumps({
            "AdjustmentType": "ChangeInCapacity", "Cooldown": 600, "MetricAggregationType": "Maximum",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        }),
    )  # fmt: skip
    platform.aws(
        "cloudwatch", "put-metric-alarm", "--alarm-name", "queue-deep", "--namespace", "Dockyard/Test",
        "--metric-name", "QueueDepth", "--statistic", "Maximum", "--period", "60",
        "--evaluation-periods", "1", "--threshold", "100", "--comparison-operator", "GreaterThanThreshold",
        "--alarm-actions", step["PolicyARN"],
    )  # fmt: skip

    # cron: at the start of the (scaled) minute after next, at least 2 tasks.
    fire = dt.datetime.fromtimestamp(server_now(platform), dt.UTC).replace(second=0, microsecond=0)
    fire += dt.timedelta(minutes=2)
    platform.aws(
        "application-autoscaling", "put-scheduled-action", "--service-namespace", "ecs",
        "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", "service/default/cron",
        "--scheduled-action-name", "morning",
        "--schedule", f"cron({fire.minute} {fire.hour} * * ? *)",
        "--scalable-target-action", "MinCapacity=2,MaxCapacity=3",
    )  # fmt: skip

    # The custom metric breaches (timestamped by the server's clock, which runs ahead).
    stamp = dt.datetime.fromtimestamp(server_now(platform), dt.UTC).isoformat()
    platform.aws(
        "cloudwatch", "put-metric-data", "--namespace", "Dockyard/Test",
        "--metric-data", json.dumps([{"MetricName": "QueueDepth", "Value": 250, "Timestamp": stamp}]),
    )  # fmt: skip
    until(lambda: desired(platform, "steps") == 2, timeout=60, what="the step policy to add a task")
    until(lambda: desired(platform, "cron") == 2, timeout=60, what="the scheduled action")
    until(lambda: running_count(platform, "cron") == 2, timeout=60, what="the second cron task to run")

    # The burning task drives CPUUtilization over 50 %: out to the maximum...
    until(lambda: desired(platform, "cpu") == 3, timeout=90, what="target tracking to scale out to 3")
    until(lambda: running_count(platform, "cpu") == 3, timeout=60, what="three cpu tasks running")
    now = dt.datetime.now(dt.UTC)
    statistics = platform.aws(
        "cloudwatch", "get-metric-statistics", "--namespace", "AWS/ECS", "--metric-name", "CPUUtilization",
        "--dimensions", "Name=ClusterName,Value=default", "Name=ServiceName,Value=cpu",
        "--start-time", (now - dt.timedelta(hours=2)).isoformat(),
        "--end-time", (now + dt.timedelta(hours=2)).isoformat(),
        "--period", "60", "--statistics", "Maximum",
    )["Datapoints"]  # fmt: skip
    assert max(p["Maximum"] for p in statistics) > 50.0
    assert max(p["Maximum"] for p in statistics) < 150.0  # a quarter of a core is all a task gets
    # ...and once the burn is over, back in to the minimum (AlarmLow: 15 datapoints below 45 %).
    until(lambda: desired(platform, "cpu") == 1, timeout=150, what="target tracking to scale back in")

    causes = [a["Cause"] for a in activities(platform, "cpu")]
    assert any("AlarmHigh" in c and "triggered policy cpu50" in c for c in causes), causes
    assert any("AlarmLow" in c and "triggered policy cpu50" in c for c in causes), causes
    assert any("queue-deep" in a["Cause"] and "add-one" in a["Cause"] for a in activities(platform, "steps"))
    cron = activities(platform, "cron")
    assert any("scheduled action name morning was triggered" in a["Cause"] for a in cron), cron
    assert all(a["StatusCode"] == "Successful" for a in [*cron, *activities(platform, "cpu")])
