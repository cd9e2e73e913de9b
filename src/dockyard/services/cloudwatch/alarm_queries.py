"""DescribeAlarms, DescribeAlarmsForMetric and DescribeAlarmHistory.

DescribeAlarms filters by names or a name prefix, state and action prefix, returns metric alarms
(AlarmTypes defaults to MetricAlarm; Dockyard has no composite alarms, so CompositeAlarms is
always empty) sorted by name, 50 per page unless MaxRecords says otherwise.
DescribeAlarmsForMetric matches the metric (namespace, name) and each optional filter given;
dimensions must be the exact set. DescribeAlarmHistory lists items newest first (or oldest
first with ScanBy), filtered by alarm, type and date range, 100 per page.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, decode_token, encode_token, paginate
from dockyard.services.cloudwatch.alarm_documents import ALARM, HISTORY
from dockyard.services.cloudwatch.alarm_validation import ACTION_LISTS
from dockyard.services.cloudwatch.api import api
from dockyard.services.cloudwatch.deps import CloudWatch
from dockyard.services.cloudwatch.errors import InvalidNextToken, InvalidParameterCombinationException
from dockyard.services.cloudwatch.metric_validation import exclusive

__all__ = ["describe_alarms", "describe_alarms_for_metric", "describe_alarm_history"]

_TOKEN_MESSAGE = "The service cannot return the results for this NextToken."


def _pairs(dimensions: list[dict[str, str]] | None) -> set[tuple[str, str]]:
    return {(d["Name"], d["Value"]) for d in dimensions or []}


@api.operation("DescribeAlarms")
async def describe_alarms(cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    family = request.get("ChildrenOfAlarmName") or request.get("ParentsOfAlarmName")
    if family:
        others = [
            k
            for k in request
            if k not in ("ChildrenOfAlarmName", "ParentsOfAlarmName", "MaxRecords", "NextToken")
        ]
        if others or (request.get("ChildrenOfAlarmName") and request.get("ParentsOfAlarmName")):
            raise InvalidParameterCombinationException(
                "If you specify ChildrenOfAlarmName or ParentsOfAlarmName, you cannot specify other "
                "parameters in the request except for MaxRecords and NextToken."
            )
        return {"MetricAlarms": [], "CompositeAlarms": []}  # only composite alarms have children or parents
    if request.get("AlarmNames") and request.get("AlarmNamePrefix"):
        raise exclusive("AlarmNames", "AlarmNamePrefix")
    types = request.get("AlarmTypes") or ["MetricAlarm"]
    alarms = []
    if "MetricAlarm" in types:
        names = set(request.get("AlarmNames") or [])
        prefix = request.get("AlarmNamePrefix")
        state = request.get("StateValue")
        action_prefix = request.get("ActionPrefix")
        for found in await cw.store.list(
            ALARM, account_id=ctx.account_id, region=ctx.region, prefix=prefix or ""
        ):
            doc = found.value
            if names and doc["AlarmName"] not in names:
                continue
            if state and doc["StateValue"] != state:
                continue
            if action_prefix and not any(
                arn.startswith(action_prefix) for name in ACTION_LISTS for arn in doc.get(name) or []
            ):
                continue
            alarms.append(doc)
    try:
        page, token = paginate(
            alarms,
            key=lambda doc: doc["AlarmName"],
            max_results=request.get("MaxRecords"),
            next_token=request.get("NextToken"),
            default=50,
        )
    except InvalidToken as exc:
        raise InvalidNextToken(_TOKEN_MESSAGE) from exc
    response: dict[str, Any] = {"MetricAlarms": page, "CompositeAlarms": []}
    if token:
        response["NextToken"] = token
    return response


def _watches(doc: dict[str, Any], request: dict[str, Any]) -> bool:
    metrics = (
        [doc]
        if not doc.get("Metrics")
        else [
            {
                **q["MetricStat"]["Metric"],
                "Statistic": q["MetricStat"]["Stat"],
                "Period": q["MetricStat"]["Period"],
                "Unit": q["MetricStat"].get("Unit"),
            }
            for q in doc["Metrics"]
            if q.get("MetricStat")
        ]
    )
    for metric in metrics:
        if (
            metric.get("MetricName") != request["MetricName"]
            or metric.get("Namespace") != request["Namespace"]
        ):
            continue
        statistic = metric.get("Statistic") or metric.get("ExtendedStatistic")
        if request.get("Statistic") is not None and statistic != request["Statistic"]:
            continue
        if request.get("ExtendedStatistic") is not None and statistic != request["ExtendedStatistic"]:
            continue
        if request.get("Dimensions") is not None and _pairs(metric.get("Dimensions")) != _pairs(
            request["Dimensions"]
        ):
            continue
        if request.get("Period") is not None and metric.get("Period") != request["Period"]:
            continue
        if request.get("Unit") is not None and metric.get("Unit") != request["Unit"]:
            continue
        return True
    return False


@api.operation("DescribeAlarmsForMetric")
async def describe_alarms_for_metric(
    cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    found = await cw.store.list(ALARM, account_id=ctx.account_id, region=ctx.region)
    return {"MetricAlarms": [a.value for a in found if _watches(a.value, request)]}


@api.operation("DescribeAlarmHistory")
async def describe_alarm_history(
    cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    name = request.get("AlarmName")
    if name:
        found = await cw.store.find(HISTORY, "alarm", name, account_id=ctx.account_id, region=ctx.region)
    else:
        found = await cw.store.list(HISTORY, account_id=ctx.account_id, region=ctx.region)
    types = request.get("AlarmTypes") or ["MetricAlarm", "CompositeAlarm"]
    kind = request.get("HistoryItemType")
    start, end = request.get("StartDate"), request.get("EndDate")
    items = []
    for item in found:
        doc = item.value
        if doc["AlarmType"] not in types or (kind and doc["HistoryItemType"] != kind):
            continue
        if (start is not None and doc["Timestamp"] < start) or (end is not None and doc["Timestamp"] > end):
            continue
        items.append((item.key.name, doc))
    descending = request.get("ScanBy", "TimestampDescending") == "TimestampDescending"
    items.sort(key=lambda pair: pair[0], reverse=descending)
    start_at = 0
    if request.get("NextToken"):
        try:
            after = decode_token(request["NextToken"])
        except InvalidToken as exc:
            raise InvalidNextToken(_TOKEN_MESSAGE) from exc
        if not isinstance(after, str):
            raise InvalidNextToken(_TOKEN_MESSAGE)
        start_at = next(
            (i for i, (n, _) in enumerate(items) if (n < after if descending else n > after)), len(items)
        )
    limit = request.get("MaxRecords") or 100
    page = items[start_at : start_at + limit]
    token = encode_token(page[-1][0]) if page and start_at + limit < len(items) else None
    response: dict[str, Any] = {"AlarmHistoryItems": [doc for _, doc in page]}
    if token:
        response["NextToken"] = token
    return response
