"""GetMetricStatistics and ListMetrics.

GetMetricStatistics reads one metric (namespace, name and the exact dimension set) over
[StartTime, EndTime) in periods from the rounded start time, at most 1440 periods per call. A
datapoint per period (and unit, unless `Unit` picks one) carries the requested statistics, or
the percentiles of `ExtendedStatistics` (p0 to p100). ListMetrics lists metrics that have had
data in the retention window (or, with RecentlyActive=PT3H, in the last three hours), filtered
by namespace, name and dimensions (a filter without a value matches any value), 500 per page.
"""

from __future__ import annotations

import math
import re
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.services.cloudwatch.api import api
from dockyard.services.cloudwatch.deps import CloudWatch
from dockyard.services.cloudwatch.errors import (
    InvalidParameterCombinationException,
    InvalidParameterValueException,
)
from dockyard.services.cloudwatch.metric_store import MetricId
from dockyard.services.cloudwatch.metric_validation import check_dimensions, exclusive
from dockyard.services.cloudwatch.series import grouped, round_start, valid_period
from dockyard.services.cloudwatch.statistics import Stat, compute

__all__ = ["get_metric_statistics", "list_metrics", "check_time_range", "MAX_DATAPOINTS"]

MAX_DATAPOINTS = 1440
_PERCENTILE = re.compile(r"p(\d{1,3}(?:\.\d{1,2})?)")
_PAGE = 500


def check_time_range(start: float, end: float, period: int, *, now: float) -> float:
    """The rounded start; raises CloudWatch's errors for a bad period, range or size."""
    if not valid_period(period):
        raise InvalidParameterValueException(
            "The parameter Period must be 1, 5, 10, 20, 30, or a multiple of 60."
        )
    if start >= end:
        raise InvalidParameterValueException(
            "The parameter StartTime must be less than the parameter EndTime."
        )
    rounded = round_start(start, period, now=now)
    requested = math.ceil((end - rounded) / period)
    if requested > MAX_DATAPOINTS:
        raise InvalidParameterCombinationException(
            f"You have requested up to {requested:,} datapoints, which exceeds the limit of "
            f"{MAX_DATAPOINTS:,}. You may reduce the datapoints requested by increasing Period, or "
            "decreasing the time range."
        )
    return rounded


def _percentiles(names: list[str]) -> list[Stat]:
    stats = []
    for i, name in enumerate(names, start=1):
        match = _PERCENTILE.fullmatch(name)
        if match is None or float(match.group(1)) > 100:
            raise InvalidParameterValueException(
                f"The value {name} for parameter ExtendedStatistics.member.{i} is invalid."
            )
        stats.append(Stat(name, "p", float(match.group(1)), float(match.group(1))))
    return stats


@api.operation("GetMetricStatistics")
async def get_metric_statistics(
    cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    basic = list(dict.fromkeys(request.get("Statistics") or []))
    extended = request.get("ExtendedStatistics") or []
    if not basic and not extended:
        raise InvalidParameterCombinationException("Must specify either Statistics or ExtendedStatistics.")
    if basic and extended:
        raise exclusive("Statistics", "ExtendedStatistics")
    percentiles = _percentiles(extended)
    dimensions = check_dimensions(request.get("Dimensions") or [], "Dimensions")
    period = int(request["Period"])
    start, end = float(request["StartTime"]), float(request["EndTime"])
    rounded = check_time_range(start, end, period, now=cw.clock.now())
    metric = MetricId(request["Namespace"], request["MetricName"], dimensions)
    unit = request.get("Unit")
    buckets = cw.metrics.buckets(ctx.account_id, ctx.region, metric, rounded, end, unit=unit)
    datapoints = []
    for (slot, bucket_unit), aggregate in sorted(grouped(buckets, rounded, period, by_unit=True).items()):
        point: dict[str, Any] = {"Timestamp": slot, "Unit": bucket_unit}
        for name in basic:
            point[name] = compute(Stat(name, name), aggregate)
        if percentiles:
            values = {p.name: compute(p, aggregate) for p in percentiles}
            point["ExtendedStatistics"] = {k: v for k, v in values.items() if v is not None}
        datapoints.append(point)
    return {"Label": request["MetricName"], "Datapoints": datapoints}


def _matches(metric: MetricId, filters: list[dict[str, str]]) -> bool:
    dimensions = dict(metric.dimensions)
    for f in filters:
        if f["Name"] not in dimensions:
            return False
        if f.get("Value") is not None and dimensions[f["Name"]] != f["Value"]:
            return False
    return True


@api.operation("ListMetrics")
async def list_metrics(cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    now = cw.clock.now()
    since = now - 3 * 3600 if request.get("RecentlyActive") == "PT3H" else now - cw.settings.retention
    found = cw.metrics.metrics(
        ctx.account_id,
        ctx.region,
        namespace=request.get("Namespace"),
        name=request.get("MetricName"),
        active_since=since,
    )
    filters = request.get("Dimensions") or []
    selected = [m for m in found if _matches(m, filters)]
    try:
        page, token = paginate(
            selected,
            key=lambda m: [m.namespace, m.name, [list(d) for d in m.dimensions]],
            max_results=_PAGE,
            next_token=request.get("NextToken"),
        )
    except (InvalidToken, TypeError) as exc:
        raise InvalidParameterValueException("The value for parameter NextToken is invalid.") from exc
    metrics = [
        {"Namespace": m.namespace, "MetricName": m.name, "Dimensions": m.dimension_list()} for m in page
    ]
    response: dict[str, Any] = {"Metrics": metrics}
    if token:
        response["NextToken"] = token
    if request.get("IncludeLinkedAccounts"):
        response["OwningAccounts"] = [ctx.account_id] * len(metrics)
    return response
