"""The in-process publishing seam: how Dockyard's own components emit `AWS/*` metrics.

PutMetricData refuses the reserved `AWS/` namespaces; the components that stand in for AWS
(ECS service utilization from container statistics, Application Load Balancer counters from
HAProxy, ...) publish through `Metrics` instead, which the server builds once and hands out:

```python
await metrics.put(
    "123456789012", "us-east-1", "AWS/ECS", "CPUUtilization",
    {"ClusterName": "default", "ServiceName": "web"},
    value=37.5, unit="Percent", timestamp=clock.now(),
)
await metrics.put(account, region, "AWS/ApplicationELB", "RequestCount",
                  {"LoadBalancer": "app/lb/0123456789abcdef"},
                  statistics=StatisticSet(sample_count=3, sum=3, minimum=1, maximum=1), unit="Count")
```

Exactly one of `value`, `values` (with optional `counts`) or `statistics`. `dimensions` is the
exact dimension set that identifies the metric (CloudWatch never rolls one set into another, so
publish every set a reader may ask for: `{ClusterName}` and `{ClusterName, ServiceName}`).
`timestamp` defaults to the clock's now; `storage_resolution` is 60 (one-minute buckets) or 1.
Bad arguments raise `ValueError`: they are programming errors, not client errors. The datapoints
are stored at once and readable by GetMetricStatistics, GetMetricData and alarms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dockyard.core.clock import Clock
from dockyard.services.cloudwatch.metric_store import Datum, MetricId, MetricStore
from dockyard.services.cloudwatch.statistics import Aggregate

__all__ = ["Metrics", "StatisticSet", "UNITS", "store_datums"]

UNITS = frozenset(
    "Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits "
    "Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second "
    "Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second "
    "Terabits/Second Count/Second None".split()
)
_PURGE_EVERY = 3600.0


@dataclass(frozen=True, slots=True)
class StatisticSet:
    sample_count: float
    sum: float
    minimum: float
    maximum: float


def store_datums(
    metrics: MetricStore,
    clock: Clock,
    account_id: str,
    region: str,
    writes: Sequence[tuple[MetricId, Datum]],
    *,
    retention: float,
    state: dict[str, float],
) -> None:
    """Store datums, and now and then drop buckets past `retention` (`state` remembers when)."""
    now = clock.now()
    metrics.put(account_id, region, writes, now=now)
    if now - state.get("last_purge", 0.0) >= _PURGE_EVERY:
        state["last_purge"] = now
        metrics.purge(now - retention)


class Metrics:
    """Publishes metrics in process, bypassing the `AWS/` reservation (see the module docstring)."""

    def __init__(self, store: MetricStore, clock: Clock, *, retention: float) -> None:
        self._store = store
        self._clock = clock
        self._retention = retention
        self._state: dict[str, float] = {}

    async def put(
        self,
        account_id: str,
        region: str,
        namespace: str,
        name: str,
        dimensions: Mapping[str, str],
        *,
        value: float | None = None,
        values: Sequence[float] | None = None,
        counts: Sequence[float] | None = None,
        statistics: StatisticSet | None = None,
        unit: str = "None",
        timestamp: float | None = None,
        storage_resolution: int = 60,
    ) -> None:
        if sum(x is not None for x in (value, values, statistics)) != 1:
            raise ValueError("give exactly one of value, values or statistics")
        if not namespace or not name:
            raise ValueError("a metric needs a namespace and a name")
        if len(dimensions) > 30 or any(not k or not v for k, v in dimensions.items()):
            raise ValueError("at most 30 dimensions, each with a name and a value")
        if unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r}")
        if storage_resolution not in (1, 60):
            raise ValueError("storage_resolution is 1 or 60")
        if value is not None:
            aggregate = Aggregate.of_values([_finite(value)])
        elif values is not None:
            if counts is not None and len(counts) != len(values):
                raise ValueError("values and counts differ in length")
            aggregate = Aggregate.of_values([_finite(v) for v in values], counts)
        else:
            assert statistics is not None
            aggregate = Aggregate.of_set(
                _finite(statistics.sample_count),
                _finite(statistics.sum),
                _finite(statistics.minimum),
                _finite(statistics.maximum),
            )
        metric = MetricId.of(namespace, name, dimensions.items())
        when = self._clock.now() if timestamp is None else timestamp
        store_datums(
            self._store,
            self._clock,
            account_id,
            region,
            [(metric, Datum(when, unit, storage_resolution, aggregate))],
            retention=self._retention,
            state=self._state,
        )


def _finite(number: float) -> float:
    if not math.isfinite(number):
        raise ValueError(f"{number} is not a finite number")
    return float(number)
