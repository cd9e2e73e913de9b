"""PutMetricData: custom metrics in, validated as CloudWatch validates them, stored all or none.

`MetricData` (at most 1000 datums) and `EntityMetricData` (datums with an entity; the entity is
accepted and not kept) are both stored under `Namespace`. See `metric_validation` for the rules.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.cloudwatch.api import api
from dockyard.services.cloudwatch.deps import CloudWatch
from dockyard.services.cloudwatch.errors import (
    InvalidParameterValueException,
    MissingRequiredParameterException,
)
from dockyard.services.cloudwatch.metric_store import Datum, MetricId
from dockyard.services.cloudwatch.metric_validation import check_namespace, check_timestamps, datum
from dockyard.services.cloudwatch.publish import store_datums

__all__ = ["put_metric_data"]

_MAX_DATUMS = 1000


@api.operation("PutMetricData")
async def put_metric_data(cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    namespace = request["Namespace"]
    check_namespace(namespace)
    batches: list[tuple[str, list[dict[str, Any]]]] = []
    if request.get("MetricData") is not None:
        batches.append(("MetricData", request["MetricData"]))
    for k, entry in enumerate(request.get("EntityMetricData") or [], start=1):
        batches.append((f"EntityMetricData.member.{k}.MetricData", entry.get("MetricData") or []))
    if not batches or not any(items for _, items in batches):
        raise MissingRequiredParameterException("The parameter MetricData is required.")
    total = sum(len(items) for _, items in batches)
    if total > _MAX_DATUMS:
        raise InvalidParameterValueException(
            f"The collection MetricData must not have a size greater than {_MAX_DATUMS}."
        )
    now = cw.clock.now()
    writes: list[tuple[MetricId, Datum]] = []
    problems = []
    for prefix, items in batches:
        for i, item in enumerate(items, start=1):
            metric, one, problem = datum(item, f"{prefix}.member.{i}", now=now)
            writes.append((MetricId(namespace, metric.name, metric.dimensions), one))
            problems.append(problem)
    check_timestamps(problems)
    store_datums(
        cw.metrics,
        cw.clock,
        ctx.account_id,
        ctx.region,
        writes,
        retention=cw.settings.retention,
        state=cw.purge_state,
    )
    return {}
