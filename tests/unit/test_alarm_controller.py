"""The alarm evaluator against a real store and datapoint store, driven by a fake clock:
evaluation once per interval, transitions with history, actions through the seam (succeeding,
failing, unreachable, repeating), SetAlarmState, and metric-math alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dockyard.aws.dispatch import RequestContext
from dockyard.core.ids import RandomIds
from dockyard.services.cloudwatch import (
    ActionFailed,
    AlarmAction,
    CloudWatch,
    CloudWatchSettings,
    MetricStore,
)
from dockyard.services.cloudwatch.alarm_documents import ALARM, HISTORY, alarm_key
from dockyard.services.cloudwatch.alarms import put_metric_alarm, set_alarm_state
from dockyard.services.cloudwatch.controller import AlarmEvaluator
from dockyard.services.cloudwatch.publish import Metrics
from dockyard.store import Key, SqliteStore
from dockyard.testing.clock import FakeClock

ACCOUNT, REGION = "123456789012", "us-east-1"
CTX = RequestContext(ACCOUNT, REGION, "rid", "test", "cloudwatch", "PutMetricAlarm")
POLICY = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:p:resource/ecs/service/c/s:policyName/up"


class World:
    def __init__(self) -> None:
        self.clock = FakeClock(start=1_800_000_000.0)  # a minute boundary
        self.store = SqliteStore(":memory:")
        self.cw = CloudWatch(
            self.store, MetricStore(":memory:"), self.clock, RandomIds(), settings=CloudWatchSettings()
        )
        self.metrics = Metrics(self.cw.metrics, self.clock, retention=self.cw.settings.retention)
        self.evaluator = AlarmEvaluator(self.cw)
        self.calls: list[AlarmAction] = []

    async def alarm(self, **request: Any) -> Key:
        base: dict[str, Any] = {
            "AlarmName": "cpu-high",
            "Namespace": "AWS/ECS",
            "MetricName": "CPUUtilization",
            "Dimensions": [{"Name": "ClusterName", "Value": "c"}, {"Name": "ServiceName", "Value": "s"}],
            "Statistic": "Average",
            "Period": 60,
            "EvaluationPeriods": 3,
            "Threshold": 50.0,
            "ComparisonOperator": "GreaterThanThreshold",
        }
        base.update(request)
        await put_metric_alarm(self.cw, CTX, base)
        return alarm_key(ACCOUNT, REGION, base["AlarmName"])

    async def cpu(self, value: float) -> None:
        await self.metrics.put(
            ACCOUNT,
            REGION,
            "AWS/ECS",
            "CPUUtilization",
            {"ClusterName": "c", "ServiceName": "s"},
            value=value,
            unit="Percent",
        )

    async def minutes(self, values: list[float], key: Key) -> None:
        """One datapoint a minute, evaluating after each, as the controller would."""
        for value in values:
            await self.cpu(value)
            await self.evaluator.reconcile(key)
            self.clock.advance(60)

    async def doc(self, key: Key) -> dict[str, Any]:
        found = await self.store.get(key)
        assert found is not None
        return found.value

    async def history(self, kind: str | None = None) -> list[dict[str, Any]]:
        items = [v.value for v in await self.store.list(HISTORY)]
        return [i for i in items if kind is None or i["HistoryItemType"] == kind]

    def record(self, *, fail: str = "") -> None:
        async def handler(action: AlarmAction) -> None:
            self.calls.append(action)
            if fail:
                raise ActionFailed(fail)

        self.cw.actions.register("autoscaling", handler, repeats=True)


@pytest.fixture
def world() -> World:
    return World()


async def test_three_breaching_minutes_raise_the_alarm_and_run_its_actions(world: World) -> None:
    world.record()
    key = await world.alarm(AlarmActions=[POLICY])
    await world.minutes([80.0, 90.0], key)
    assert (await world.doc(key))["StateValue"] == "INSUFFICIENT_DATA"  # 2 of 3: the guard waits
    await world.minutes([85.0], key)
    doc = await world.doc(key)
    assert doc["StateValue"] == "ALARM"
    assert doc["StateReason"].startswith(
        "Threshold Crossed: 3 out of the last 3 datapoints [85.0 (15/01/27 08:02:00)"
    )
    assert json.loads(doc["StateReasonData"])["recentDatapoints"] == [80.0, 90.0, 85.0]
    assert [c.arn for c in world.calls] == [POLICY]
    assert world.calls[0].state == "ALARM" and world.calls[0].previous_state == "INSUFFICIENT_DATA"
    assert world.calls[0].repeated is False
    updates = await world.history("StateUpdate")
    assert [u["HistorySummary"] for u in updates] == ["Alarm updated from INSUFFICIENT_DATA to ALARM"]
    actions = await world.history("Action")
    assert [a["HistorySummary"] for a in actions] == [f"Successfully executed action {POLICY}"]


async def test_auto_scaling_actions_repeat_while_in_alarm(world: World) -> None:
    world.record()
    key = await world.alarm(AlarmActions=[POLICY], EvaluationPeriods=1)
    await world.minutes([80.0, 81.0, 82.0], key)
    assert [c.repeated for c in world.calls] == [False, True, True]
    assert json.loads(world.calls[-1].reason_data or "{}")["recentDatapoints"] == [82.0]
    assert len(await world.history("Action")) == 1  # repeats leave no history


async def test_a_target_nobody_serves_is_a_failed_action(world: World) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:ops"
    key = await world.alarm(AlarmActions=[topic], EvaluationPeriods=1)
    await world.minutes([99.0], key)
    (item,) = await world.history("Action")
    assert item["HistorySummary"] == (
        f'Failed to execute action {topic}. Received error: "Dockyard has no target for arn:aws:sns actions."'
    )
    data = json.loads(item["HistoryData"])
    assert data["actionState"] == "Failed" and data["notificationResource"] == topic


async def test_a_failing_handler_is_recorded(world: World) -> None:
    world.record(fail="No scaling policy found")
    key = await world.alarm(AlarmActions=[POLICY], EvaluationPeriods=1)
    await world.minutes([99.0], key)
    (item,) = await world.history("Action")
    assert item["HistorySummary"].endswith('Received error: "No scaling policy found"')


async def test_disabled_actions_do_not_run(world: World) -> None:
    world.record()
    key = await world.alarm(AlarmActions=[POLICY], EvaluationPeriods=1, ActionsEnabled=False)
    await world.minutes([99.0, 99.0], key)
    assert (await world.doc(key))["StateValue"] == "ALARM"
    assert world.calls == []


async def test_evaluation_happens_once_per_interval(world: World) -> None:
    key = await world.alarm(EvaluationPeriods=1)
    assert (await world.evaluator.reconcile(key)).after == 60.0
    await world.cpu(99.0)
    self_requeue = await world.evaluator.reconcile(key)  # not due yet: nothing read
    assert self_requeue.after == 60.0
    assert (await world.doc(key))["StateValue"] == "INSUFFICIENT_DATA"
    world.clock.advance(60)
    await world.evaluator.reconcile(key)
    assert (await world.doc(key))["StateValue"] == "ALARM"


async def test_recovering_goes_back_to_ok(world: World) -> None:
    key = await world.alarm(EvaluationPeriods=2, DatapointsToAlarm=2, OKActions=[POLICY])
    world.record()
    await world.minutes([90.0, 90.0, 10.0], key)
    doc = await world.doc(key)
    assert doc["StateValue"] == "OK"
    assert doc["StateReason"] == (
        "Threshold Crossed: 1 out of the last 2 datapoints [10.0 (15/01/27 08:02:00)] was not "
        "greater than the "
        "threshold (50.0) (minimum 1 datapoint for ALARM -> OK transition)."
    )
    assert [c.state for c in world.calls] == ["OK"]


async def test_treat_missing_as_breaching_alarms_without_data(world: World) -> None:
    key = await world.alarm(TreatMissingData="breaching")
    await world.evaluator.reconcile(key)
    doc = await world.doc(key)
    assert doc["StateValue"] == "ALARM"
    assert "[Breaching]" in doc["StateReason"]


async def test_metric_math_alarm(world: World) -> None:
    metrics = [
        {
            "Id": "cpu",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/ECS",
                    "MetricName": "CPUUtilization",
                    "Dimensions": [
                        {"Name": "ClusterName", "Value": "c"},
                        {"Name": "ServiceName", "Value": "s"},
                    ],
                },
                "Period": 60,
                "Stat": "Maximum",
            },
            "ReturnData": False,
        },
        {"Id": "half", "Expression": "cpu / 2", "Label": "half the CPU", "ReturnData": True},
    ]
    key = await world.alarm(
        Metrics=metrics,
        Namespace=None,
        MetricName=None,
        Dimensions=None,
        Statistic=None,
        Period=None,
        EvaluationPeriods=1,
    )
    await world.minutes([80.0], key)  # 40 is not above 50
    assert (await world.doc(key))["StateValue"] == "OK"
    await world.minutes([120.0], key)  # 60 is
    assert (await world.doc(key))["StateValue"] == "ALARM"


async def test_set_alarm_state_transitions_and_runs_actions(world: World) -> None:
    world.record()
    key = await world.alarm(AlarmActions=[POLICY])
    await set_alarm_state(
        world.cw, CTX, {"AlarmName": "cpu-high", "StateValue": "ALARM", "StateReason": "testing"}
    )
    doc = await world.doc(key)
    assert (doc["StateValue"], doc["StateReason"]) == ("ALARM", "testing")
    assert len(world.calls) == 1
    await set_alarm_state(
        world.cw, CTX, {"AlarmName": "cpu-high", "StateValue": "ALARM", "StateReason": "again"}
    )
    assert (await world.doc(key))["StateReason"] == "testing"  # the same state changes nothing
    assert len(await world.history("StateUpdate")) == 1


async def test_deleted_alarms_are_forgotten(world: World) -> None:
    key = await world.alarm()
    await world.evaluator.reconcile(key)
    await world.store.delete(key)
    assert (await world.evaluator.reconcile(key)).after is None
    assert await world.store.list(ALARM) == []
