"""The alarm evaluator: every alarm, once per evaluation interval, by AWS's rules.

```
key (an alarm) <- the alarm was written | resync | its own requeue after the interval
reconcile:
  configuration unchanged and not yet due      -> requeue at the due time
  period P, N, evaluation range R = N + max(N // 3, 2) periods ending with the period in progress
    (or, while that period has no datapoint yet, with the one before it: it is not missing yet)
  datapoints <- the metric's statistic per period, or the metric-math query that returns data
  evaluation.evaluate(...) -> new state?  yes: store it (+ StateUpdate history), run its actions
                                           no: re-run the repeating actions (Auto Scaling)
  requeue after the interval: 60 s (the setting) for periods of a minute or more, 10 s for
  10-30 s periods (or the setting when shorter)
```
Alarm history older than two weeks is deleted, at most once an hour per alarm. Time is the
injected clock's; nothing here sleeps.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from dockyard.controllers.reconciler import DONE, Reconciler, Requeue
from dockyard.core.errors import AwsError, TemporaryError
from dockyard.services.cloudwatch.alarm_documents import ALARM, HISTORY
from dockyard.services.cloudwatch.alarm_validation import alarm_period
from dockyard.services.cloudwatch.deps import CloudWatch
from dockyard.services.cloudwatch.evaluation import AlarmSpec, Datapoint, evaluate, evaluation_range
from dockyard.services.cloudwatch.metric_store import MetricId
from dockyard.services.cloudwatch.queries import run_queries
from dockyard.services.cloudwatch.series import SeriesQuery, points
from dockyard.services.cloudwatch.statistics import parse_stat
from dockyard.services.cloudwatch.transitions import change_state, repeat_actions, run_actions
from dockyard.store import Change, Conflict, Delete, Key, Versioned

__all__ = ["AlarmEvaluator", "cloudwatch_controllers", "spec_of", "fetch"]

log = logging.getLogger(__name__)

_HISTORY_SWEEP = 3600.0


def spec_of(doc: dict[str, Any]) -> AlarmSpec:
    statistic = doc.get("Statistic") or doc.get("ExtendedStatistic")
    parsed = parse_stat(doc["ExtendedStatistic"]) if doc.get("ExtendedStatistic") else None
    n = int(doc["EvaluationPeriods"])
    return AlarmSpec(
        period=alarm_period(doc),
        evaluation_periods=n,
        datapoints_to_alarm=int(doc.get("DatapointsToAlarm") or n),
        threshold=float(doc["Threshold"]),
        comparison=doc["ComparisonOperator"],
        treat_missing=doc.get("TreatMissingData") or "missing",
        statistic=statistic,
        unit=doc.get("Unit"),
        percentile=parsed.high if parsed is not None and parsed.kind == "p" else None,
        low_sample=doc.get("EvaluateLowSampleCountPercentile") or "evaluate",
    )


def fetch(cw: CloudWatch, key: Key, doc: dict[str, Any], start: float, end: float) -> dict[float, Datapoint]:
    """The alarm's datapoints per period start over [start, end)."""
    if doc.get("Metrics"):
        results = run_queries(
            cw.metrics, key.account_id, key.region, doc["Metrics"], start, end, now=cw.clock.now()
        )
        result = next(r for r in results if r.return_data)
        return {t: Datapoint(t, v, result.sample_counts.get(t)) for t, v in result.points}
    stat = parse_stat(doc.get("Statistic") or doc["ExtendedStatistic"])
    assert stat is not None
    metric = MetricId.of(
        doc["Namespace"], doc["MetricName"], ((d["Name"], d["Value"]) for d in doc.get("Dimensions") or [])
    )
    query = SeriesQuery(key.account_id, key.region, metric, stat, int(doc["Period"]), doc.get("Unit"))
    return {
        p.timestamp: Datapoint(p.timestamp, p.value, p.sample_count)
        for p in points(cw.metrics, query, start, end)
    }


class AlarmEvaluator:
    name = "cloudwatch-alarms"
    kind = ALARM

    def __init__(self, cw: CloudWatch) -> None:
        self._cw = cw
        self._due: dict[Key, tuple[float, float]] = {}  # alarm -> (configuration timestamp, next evaluation)
        self._swept: dict[Key, float] = {}

    def triggers(self, change: Change) -> Iterable[Key]:
        return [change.key] if change.key.kind == ALARM else []

    def _interval(self, period: int) -> float:
        setting = self._cw.settings.evaluation_interval
        return setting if period >= 60 else min(10.0, setting)

    async def reconcile(self, key: Key) -> Requeue:
        cw = self._cw
        found = await cw.store.get(key)
        if found is None:
            self._due.pop(key, None)
            self._swept.pop(key, None)
            return DONE
        doc = found.value
        now = cw.clock.now()
        interval = self._interval(alarm_period(doc))
        configured = float(doc.get("AlarmConfigurationUpdatedTimestamp", 0.0))
        scheduled = self._due.get(key)
        if scheduled is not None and scheduled[0] == configured and now < scheduled[1]:
            return Requeue(after=scheduled[1] - now)
        await self._evaluate(found, now)
        self._due[key] = (configured, now + interval)
        await self._sweep(key, now)
        return Requeue(after=interval)

    async def _evaluate(self, alarm: Versioned, now: float) -> None:
        cw, key, doc = self._cw, alarm.key, alarm.value
        spec = spec_of(doc)
        period = spec.period
        current = now - now % period
        count = evaluation_range(spec.evaluation_periods)
        slots = [current - (count - 1 - k) * period for k in range(count)]
        try:
            found = fetch(cw, key, doc, slots[0] - period, current + period)
        except AwsError as exc:  # a math expression that cannot be evaluated over this data
            log.warning("alarm %s: cannot evaluate: %s", doc["AlarmName"], exc.message)
            return
        if current not in found:
            slots = [s - period for s in slots]
        evaluation = evaluate(spec, slots, found, now=now)
        reason_data = json.dumps(evaluation.reason_data, separators=(",", ":"))
        if evaluation.state is None or evaluation.state == doc["StateValue"]:
            await repeat_actions(cw, key.account_id, key.region, doc, reason_data=reason_data)
            return
        try:
            new = await change_state(
                cw, alarm, state=evaluation.state, reason=evaluation.reason, reason_data=reason_data, now=now
            )
        except Conflict as exc:
            raise TemporaryError(f"alarm {doc['AlarmName']} changed while evaluated", delay=0.1) from exc
        log.info("alarm %s: %s -> %s", doc["AlarmName"], doc["StateValue"], evaluation.state)
        await run_actions(cw, key.account_id, key.region, new, doc["StateValue"], now=now)

    async def _sweep(self, key: Key, now: float) -> None:
        if now - self._swept.get(key, 0.0) < _HISTORY_SWEEP:
            return
        self._swept[key] = now
        cw = self._cw
        before = now - cw.settings.history_retention
        items = await cw.store.find(HISTORY, "alarm", key.name, account_id=key.account_id, region=key.region)
        old = [Delete(i.key) for i in items if float(i.value["Timestamp"]) < before]
        if old:
            await cw.store.commit(old)


def cloudwatch_controllers(cw: CloudWatch) -> list[Reconciler]:
    return [AlarmEvaluator(cw)]
