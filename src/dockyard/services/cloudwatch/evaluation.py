"""Alarm evaluation: AWS's rules as a pure function of the datapoints in the evaluation range.

```
slots (oldest..newest, one per period: the evaluation range, N + max(N // 3, 2) periods)
  no real datapoint          missing -> INSUFFICIENT_DATA   ignore -> keep the state
                             breaching -> ALARM             notBreaching -> OK
  >= N real datapoints       the N most recent real ones decide: >= M breaching -> ALARM else OK
  fewer than N real          breaching/notBreaching: every real one, plus just enough missing ones
                             (counted as breaching / not) to make N, decide
                             missing/ignore: ALARM early when the oldest breaching datapoint of
                             the last N periods is at least M periods old and every more recent
                             real one breaches ("- - X - -" alarms for 3 of 3, "- - - - X" does
                             not: the state is kept until more data comes); otherwise the real
                             ones decide
```
`evaluate` returns the state (None: keep the current one), CloudWatch's reason text

    Threshold Crossed: 3 out of the last 3 datapoints [84.0 (21/11/26 10:17:00), ...] were
    greater than the threshold (50.0) (minimum 3 datapoints for OK -> ALARM transition).

and the StateReasonData JSON (version, queryDate, startDate, statistic, period,
recentDatapoints, threshold, evaluatedDatapoints). A percentile alarm with
EvaluateLowSampleCountPercentile=ignore keeps its state while a datapoint has fewer samples
than the percentile needs to be significant (10 / (1 - p), or 10 / p below the median).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.services.cloudwatch.alarm_documents import iso
from dockyard.services.cloudwatch.metric_validation import java_double

__all__ = ["AlarmSpec", "Datapoint", "Evaluation", "evaluate", "evaluation_range", "OPERATORS", "breaches"]

OPERATORS = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}


@dataclass(frozen=True, slots=True)
class AlarmSpec:
    period: int
    evaluation_periods: int  # N
    datapoints_to_alarm: int  # M
    threshold: float
    comparison: str
    treat_missing: str = "missing"
    statistic: str | None = None  # for StateReasonData (Statistic or ExtendedStatistic)
    unit: str | None = None
    percentile: float | None = None  # the ExtendedStatistic's percentile, when it is one
    low_sample: str = "evaluate"  # EvaluateLowSampleCountPercentile


@dataclass(frozen=True, slots=True)
class Datapoint:
    timestamp: float  # the period's start
    value: float
    sample_count: float | None = None


@dataclass(frozen=True, slots=True)
class Evaluation:
    state: str | None  # None: the alarm keeps its state
    reason: str
    reason_data: dict[str, Any]


def evaluation_range(evaluation_periods: int) -> int:
    return evaluation_periods + max(evaluation_periods // 3, 2)


def breaches(comparison: str, value: float, threshold: float) -> bool:
    if comparison == "GreaterThanOrEqualToThreshold":
        return value >= threshold
    if comparison == "GreaterThanThreshold":
        return value > threshold
    if comparison == "LessThanThreshold":
        return value < threshold
    if comparison == "LessThanOrEqualToThreshold":
        return value <= threshold
    raise ValueError(f"comparison {comparison!r} is not evaluated by Dockyard")


def _when(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%d/%m/%y %H:%M:%S")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _min_samples(percentile: float) -> float:
    if percentile >= 50:
        return 10.0 / (1 - percentile / 100) if percentile < 100 else float("inf")
    return 10.0 / (percentile / 100) if percentile > 0 else float("inf")


def evaluate(
    spec: AlarmSpec, slots: Sequence[float], points: Mapping[float, Datapoint], *, now: float
) -> Evaluation:
    """Evaluate `spec` over `slots` (period starts, oldest first) given the datapoints present."""
    n, m = spec.evaluation_periods, spec.datapoints_to_alarm
    real = [points[s] for s in slots if s in points]
    data: dict[str, Any] = {"version": "1.0", "queryDate": iso(now)}
    if slots:
        data["startDate"] = iso(slots[max(0, len(slots) - n)])
    if spec.statistic:
        data["statistic"] = spec.statistic
    data["period"] = spec.period
    if spec.unit:
        data["unit"] = spec.unit
    data["recentDatapoints"] = [p.value for p in real[-n:]]
    data["threshold"] = spec.threshold

    if not real:
        data["evaluatedDatapoints"] = [{"timestamp": iso(s)} for s in reversed(slots[-n:])]
        received = f"no datapoints were received for {_plural(n, 'period')} and "
        treated = f"{n} missing datapoint{' was' if n == 1 else 's were'} treated as"
        if spec.treat_missing == "breaching":
            return Evaluation("ALARM", f"Threshold Crossed: {received}{treated} [Breaching].", data)
        if spec.treat_missing == "notBreaching":
            return Evaluation("OK", f"Threshold Crossed: {received}{treated} [NonBreaching].", data)
        if spec.treat_missing == "ignore":
            return Evaluation(None, "", data)
        return Evaluation(
            "INSUFFICIENT_DATA",
            f"Insufficient Data: {_plural(n, 'datapoint')} {'was' if n == 1 else 'were'} unknown.",
            data,
        )

    if spec.percentile is not None and spec.low_sample == "ignore":
        needed = _min_samples(spec.percentile)
        if any(p.sample_count is not None and p.sample_count < needed for p in real[-n:]):
            return Evaluation(None, "", data)

    filled = 0
    if len(real) >= n:
        evaluated = real[-n:]
    else:
        evaluated = list(real)
        if spec.treat_missing in ("breaching", "notBreaching"):
            filled = n - len(real)
    hits = [p for p in evaluated if breaches(spec.comparison, p.value, spec.threshold)]
    hit_count = len(hits) + (filled if spec.treat_missing == "breaching" else 0)
    alarm = hit_count >= m or (
        len(real) < n and spec.treat_missing in ("missing", "ignore") and _early(spec, slots, points)
    )
    missing_filled = [s for s in reversed(slots) if s not in points][:filled]
    data["evaluatedDatapoints"] = [_evaluated(p) for p in sorted(evaluated, key=lambda p: -p.timestamp)] + [
        {"timestamp": iso(s)} for s in missing_filled
    ]
    op = OPERATORS[spec.comparison]
    threshold = java_double(spec.threshold)
    if alarm:
        shown, count, verb = hits, hit_count, op
    else:
        shown = [p for p in evaluated if p not in hits]
        count = len(shown) + (filled if spec.treat_missing == "notBreaching" else 0)
        verb = f"not {op}"
        if count == 0:  # too few datapoints, all breaching: wait for more (the premature-alarm guard)
            return Evaluation(None, "", data)
    listed = ", ".join(
        f"{java_double(p.value)} ({_when(p.timestamp)})" for p in sorted(shown, key=lambda p: -p.timestamp)
    )
    if n == 1:
        reason = f"Threshold Crossed: 1 datapoint [{listed}] was {verb} the threshold ({threshold})."
    else:
        minimum = m if alarm else n - m + 1
        transition = "OK -> ALARM" if alarm else "ALARM -> OK"
        be = "was" if count == 1 else "were"
        reason = (
            f"Threshold Crossed: {count} out of the last {n} datapoints [{listed}] {be} {verb} the threshold "
            f"({threshold}) (minimum {_plural(minimum, 'datapoint')} for {transition} transition)."
        )
    return Evaluation("ALARM" if alarm else "OK", reason, data)


def _early(spec: AlarmSpec, slots: Sequence[float], points: Mapping[float, Datapoint]) -> bool:
    """The premature-alarm rule: within the last N periods, the oldest breaching datapoint is at
    least M periods old and every more recent real datapoint breaches."""
    window = list(slots[-spec.evaluation_periods :])
    for index, slot in enumerate(window):
        point = points.get(slot)
        if point is None:
            continue
        if not breaches(spec.comparison, point.value, spec.threshold):
            continue
        age = len(window) - index
        if age < spec.datapoints_to_alarm:
            return False
        later = [points[s] for s in window[index + 1 :] if s in points]
        return all(breaches(spec.comparison, p.value, spec.threshold) for p in later)
    return False


def _evaluated(point: Datapoint) -> dict[str, Any]:
    item: dict[str, Any] = {"timestamp": iso(point.timestamp)}
    if point.sample_count is not None:
        item["sampleCount"] = point.sample_count
    item["value"] = point.value
    return item
