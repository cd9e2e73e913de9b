"""From stored buckets to per-period statistics: the read path GetMetricStatistics,
GetMetricData and alarms share.

```
buckets of one metric (1 s or 1 min) --group by period--> Aggregate per period (and unit)
   --statistic--> {period start: value}
```
Periods start at the query's start time, rounded down as CloudWatch rounds it: to the minute
when it is less than 15 days ago, to 5 minutes up to 63 days, to the hour beyond (to the period
itself for periods under a minute). A period with no data has no value: it is missing, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.services.cloudwatch.metric_store import Bucket, MetricId, MetricStore
from dockyard.services.cloudwatch.statistics import Aggregate, Stat, compute, merge

__all__ = ["round_start", "grouped", "points", "series", "valid_period", "Point", "Series", "SeriesQuery"]

Series = dict[float, float]  # period start -> value


def valid_period(period: int) -> bool:
    """1, 5, 10, 20, 30 or a multiple of 60 (high-resolution periods are the short ones)."""
    return period in (1, 5, 10, 20, 30) or (period >= 60 and period % 60 == 0)


def round_start(start: float, period: int, *, now: float) -> float:
    if period < 60:
        step = float(period)
    else:
        age = now - start
        step = 60.0 if age < 15 * 86400 else 300.0 if age < 63 * 86400 else 3600.0
    return start - start % step


def grouped(
    buckets: list[Bucket], start: float, period: int, *, by_unit: bool
) -> dict[tuple[float, str], Aggregate]:
    """Merge buckets into periods from `start` (keyed by period start, and unit when `by_unit`)."""
    parts: dict[tuple[float, str], list[Aggregate]] = {}
    for bucket in buckets:
        slot = start + ((bucket.timestamp - start) // period) * period
        parts.setdefault((slot, bucket.unit if by_unit else ""), []).append(bucket.aggregate)
    out: dict[tuple[float, str], Aggregate] = {}
    for key, aggregates in parts.items():
        merged = merge(aggregates)
        if merged is not None:
            out[key] = merged
    return out


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    account_id: str
    region: str
    metric: MetricId
    stat: Stat
    period: int
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Point:
    timestamp: float  # the period's start
    value: float
    sample_count: float


def points(metrics: MetricStore, query: SeriesQuery, start: float, end: float) -> list[Point]:
    """The statistic per period over [start, end), oldest first; `start` should already be rounded."""
    buckets = metrics.buckets(query.account_id, query.region, query.metric, start, end, unit=query.unit)
    out = []
    for (slot, _), aggregate in sorted(grouped(buckets, start, query.period, by_unit=False).items()):
        value = compute(query.stat, aggregate)
        if value is not None:
            out.append(Point(slot, value, aggregate.count))
    return out


def series(metrics: MetricStore, query: SeriesQuery, start: float, end: float) -> Series:
    return {p.timestamp: p.value for p in points(metrics, query, start, end)}
