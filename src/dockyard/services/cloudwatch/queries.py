"""MetricDataQueries: validate them and run them, for GetMetricData and metric-math alarms.

```
queries --check--> MetricStat queries: stored buckets -> one series each (series.py)
                   Expression queries: evaluated in dependency order over those (expressions.py)
        --> Result per query (label, [(timestamp, value)] oldest first), ReturnData ones returned
```
Ids start with a lowercase letter and hold letters, digits and underscores, once per request.
A query has exactly one of MetricStat and Expression; a MetricStat names a namespace, a metric,
a valid period and a statistic `statistics.parse_stat` knows. Errors are `ValidationError`s
worded as CloudWatch words them, naming the query as `MetricDataQueries.member.N` (or, for an
alarm, `Metrics.member.N`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.core.errors import ValidationException
from dockyard.services.cloudwatch.expressions import (
    ExpressionError,
    Scope,
    TimeSeries,
    Value,
    evaluate,
    references,
)
from dockyard.services.cloudwatch.metric_store import MetricId, MetricStore
from dockyard.services.cloudwatch.metric_validation import check_dimensions
from dockyard.services.cloudwatch.series import SeriesQuery, points, round_start, valid_period
from dockyard.services.cloudwatch.statistics import parse_stat

__all__ = ["check_queries", "run_queries", "Result", "query_period", "MAX_QUERIES"]

MAX_QUERIES = 500
_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")


@dataclass(slots=True)
class Result:
    id: str
    label: str
    return_data: bool
    points: list[tuple[float, float]] = field(default_factory=list)  # oldest first
    sample_counts: dict[float, float] = field(default_factory=dict)  # MetricStat queries only


def check_queries(queries: Sequence[dict[str, Any]], *, member: str = "MetricDataQueries") -> None:
    if not queries:
        raise ValidationException(f"The parameter {member} is required.")
    if len(queries) > MAX_QUERIES:
        raise ValidationException(f"The collection {member} must not have a size greater than {MAX_QUERIES}.")
    seen: set[str] = set()
    for i, query in enumerate(queries, start=1):
        prefix = f"{member}.member.{i}"
        query_id = query["Id"]
        if not _ID.fullmatch(query_id):
            raise ValidationException(
                f"The value {query_id} for parameter {prefix}.Id is invalid. An Id must start with a "
                "lowercase letter and contain only letters, numbers and underscores."
            )
        if query_id in seen:
            raise ValidationException(f"The value {query_id} for parameter {prefix}.Id is not unique.")
        seen.add(query_id)
        stat, expression = query.get("MetricStat"), query.get("Expression")
        if stat is None and expression is None:
            raise ValidationException(f"The parameter {prefix}.MetricStat is required.\n")
        if stat is not None and expression is not None:
            raise ValidationException(
                f"The parameters {prefix}.MetricStat and {prefix}.Expression are mutually exclusive and you "
                "have specified both."
            )
        if stat is not None:
            _check_stat(stat, f"{prefix}.MetricStat")
        elif str(expression).lstrip().upper().startswith("SELECT"):
            raise ValidationException(
                f"The value of {prefix}.Expression is a Metrics Insights query, which Dockyard does not run."
            )
        if query.get("Period") is not None and not valid_period(int(query["Period"])):
            raise ValidationException(
                f"The value {query['Period']} for parameter {prefix}.Period is invalid."
            )
    ids = [q["Id"] for q in queries]
    for query in queries:
        if query.get("Expression") is None:
            continue
        try:
            names = references(query["Expression"])
        except ExpressionError as exc:
            raise ValidationException(f"Error in expression {query['Id']}: {exc}") from None
        unknown = sorted(n for n in names if n not in ids and n not in ("REPEAT", "LINEAR"))
        if unknown:
            raise ValidationException(
                f"Error in expression {query['Id']}: Unrecognized metric id {unknown[0]}."
            )
    _order(queries)


def _check_stat(stat: dict[str, Any], prefix: str) -> None:
    metric = stat["Metric"]
    for name in ("Namespace", "MetricName"):
        if not metric.get(name):
            raise ValidationException(f"The parameter {prefix}.Metric.{name} is required.")
    check_dimensions(metric.get("Dimensions") or [], f"{prefix}.Metric.Dimensions")
    if not valid_period(int(stat["Period"])):
        raise ValidationException(f"The value {stat['Period']} for parameter {prefix}.Period is invalid.")
    if parse_stat(stat["Stat"]) is None:
        raise ValidationException(f"The value {stat['Stat']} for parameter {prefix}.Stat is invalid.")


def _order(queries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queries in an order where each expression follows what it names; raises on a cycle."""
    by_id = {q["Id"]: q for q in queries}
    done: list[dict[str, Any]] = []
    state: dict[str, str] = {}

    def visit(query_id: str) -> None:
        if state.get(query_id) == "done":
            return
        if state.get(query_id) == "visiting":
            raise ValidationException(f"Error in expression {query_id}: Circular dependency between metrics.")
        state[query_id] = "visiting"
        query = by_id[query_id]
        if query.get("Expression") is not None:
            for name in sorted(references(query["Expression"])):
                if name in by_id:
                    visit(name)
        state[query_id] = "done"
        done.append(query)

    for query in queries:
        visit(query["Id"])
    return done


def query_period(query: dict[str, Any], queries: Sequence[dict[str, Any]]) -> int:
    if query.get("MetricStat") is not None:
        return int(query["MetricStat"]["Period"])
    if query.get("Period") is not None:
        return int(query["Period"])
    periods = [int(q["MetricStat"]["Period"]) for q in queries if q.get("MetricStat") is not None]
    return max(periods) if periods else 60


def run_queries(
    metrics: MetricStore,
    account_id: str,
    region: str,
    queries: Sequence[dict[str, Any]],
    start: float,
    end: float,
    *,
    now: float,
) -> list[Result]:
    """Every query's result, in request order (the caller keeps the ReturnData ones)."""
    values: dict[str, Value] = {}
    results: dict[str, list[Result]] = {}
    metric_ids = [q["Id"] for q in queries if q.get("MetricStat") is not None]

    def lookup(name: str) -> Value:
        if name not in values:
            raise ExpressionError(f"Unrecognized metric id {name}.")
        return values[name]

    for query in _order(queries):
        query_id = query["Id"]
        period = query_period(query, queries)
        rounded = round_start(start, period, now=now)
        keep = query.get("ReturnData", True)
        stat = query.get("MetricStat")
        if stat is not None:
            metric = stat["Metric"]
            dimensions = check_dimensions(metric.get("Dimensions") or [], "Dimensions")
            parsed = parse_stat(stat["Stat"])
            assert parsed is not None
            series_query = SeriesQuery(
                account_id,
                region,
                MetricId(metric["Namespace"], metric["MetricName"], dimensions),
                parsed,
                period,
                stat.get("Unit"),
            )
            found = points(metrics, series_query, rounded, end)
            label = query.get("Label") or metric["MetricName"]
            values[query_id] = TimeSeries(label, {p.timestamp: p.value for p in found})
            result = Result(query_id, label, keep, [(p.timestamp, p.value) for p in found])
            result.sample_counts = {p.timestamp: p.sample_count for p in found}
            results[query_id] = [result]
            continue
        grid = [
            rounded + k * period
            for k in range(int((end - rounded) // period) + (1 if (end - rounded) % period else 0))
        ]
        scope = Scope(lookup, metric_ids, grid, period)
        try:
            value = evaluate(query["Expression"], scope)
        except ExpressionError as exc:
            raise ValidationException(f"Error in expression {query_id}: {exc}") from None
        values[query_id] = value
        label = query.get("Label") or query_id
        if isinstance(value, float):
            value = TimeSeries(label, {t: value for t in grid} if value == value else {})
        if isinstance(value, TimeSeries):
            results[query_id] = [Result(query_id, label, keep, sorted(value.points.items()))]
        else:
            results[query_id] = [
                Result(query_id, query.get("Label") or s.label, keep, sorted(s.points.items())) for s in value
            ]
    return [r for q in queries for r in results[q["Id"]]]
