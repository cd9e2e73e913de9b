"""PutMetricAlarm's rules: what makes a valid metric alarm, and the alarm document it makes.

An alarm watches one metric (Namespace, MetricName, Dimensions, Statistic or
ExtendedStatistic, Period, Unit) or a metric-math `Metrics` list of which exactly one query
returns data. Periods are 10, 20, 30 or a multiple of 60; EvaluationPeriods x Period is at most a
day; DatapointsToAlarm (M, default N) is at most EvaluationPeriods (N). The four threshold
operators are evaluated; the anomaly-band operators (which need an ANOMALY_DETECTION_BAND
model) and PromQL criteria are refused, since Dockyard cannot evaluate them. Action ARNs must
be ARNs of the alarm's region.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import ValidationException
from dockyard.services.cloudwatch.alarm_documents import INITIAL_REASON, alarm_arn
from dockyard.services.cloudwatch.errors import (
    InvalidParameterValueException,
    MissingRequiredParameterException,
)
from dockyard.services.cloudwatch.evaluation import OPERATORS
from dockyard.services.cloudwatch.metric_validation import check_dimensions, exclusive
from dockyard.services.cloudwatch.queries import check_queries, query_period
from dockyard.services.cloudwatch.statistics import BASIC_STATISTICS, parse_stat

__all__ = ["build_alarm", "alarm_period", "returned_query", "ACTION_LISTS"]

ACTION_LISTS = ("OKActions", "AlarmActions", "InsufficientDataActions")
_SINGLE = ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit")
_TREATMENTS = ("breaching", "notBreaching", "ignore", "missing")
_MAX_SPAN = 86400


def _alarm_period(period: int) -> bool:
    return period in (10, 20, 30) or (period >= 60 and period % 60 == 0)


def returned_query(metrics: list[dict[str, Any]]) -> dict[str, Any]:
    return next(q for q in metrics if q.get("ReturnData", True))


def alarm_period(doc: dict[str, Any]) -> int:
    if doc.get("Metrics"):
        return query_period(returned_query(doc["Metrics"]), doc["Metrics"])
    return int(doc["Period"])


def _check_single(request: dict[str, Any]) -> None:
    for name in ("Namespace", "MetricName"):
        if not request.get(name):
            raise MissingRequiredParameterException(f"The parameter {name} is required.")
    statistic, extended = request.get("Statistic"), request.get("ExtendedStatistic")
    if statistic and extended:
        raise exclusive("Statistic", "ExtendedStatistic")
    if not statistic and not extended:
        raise MissingRequiredParameterException("The parameter Statistic or ExtendedStatistic is required.")
    if extended:
        parsed = parse_stat(extended)
        if parsed is None or parsed.kind in BASIC_STATISTICS:
            raise InvalidParameterValueException(
                f"The value {extended} for parameter ExtendedStatistic is not supported."
            )
    check_dimensions(request.get("Dimensions") or [], "Dimensions")
    if request.get("Period") is None:
        raise MissingRequiredParameterException("The parameter Period is required.")
    if not _alarm_period(int(request["Period"])):
        raise ValidationException("Period must be 10, 30 or a multiple of 60")


def _check_metrics(metrics: list[dict[str, Any]]) -> None:
    check_queries(metrics, member="Metrics")
    if sum(1 for q in metrics if q.get("ReturnData", True)) != 1:
        raise ValidationException("Exactly one element of the metrics list should return data.")
    for query in metrics:
        stat = query.get("MetricStat")
        period = int(stat["Period"]) if stat is not None else query.get("Period")
        if period is not None and not _alarm_period(int(period)):
            raise ValidationException("Period must be 10, 30 or a multiple of 60")


def _check_actions(ctx: RequestContext, request: dict[str, Any]) -> None:
    for name in ACTION_LISTS:
        for arn in request.get(name) or []:
            parts = arn.split(":")
            if len(parts) < 6 or parts[0] != "arn" or not parts[2]:
                raise ValidationException(f"Invalid arn syntax: {arn}")
            if parts[3] and parts[3] != ctx.region:
                raise ValidationException(
                    f"Invalid region {parts[3]} specified. Only {ctx.region} is supported."
                )


def _check_evaluation(request: dict[str, Any], period: int) -> None:
    if request.get("EvaluationPeriods") is None:
        raise MissingRequiredParameterException("The parameter EvaluationPeriods is required.")
    periods = int(request["EvaluationPeriods"])
    if request.get("DatapointsToAlarm") is not None and int(request["DatapointsToAlarm"]) > periods:
        raise ValidationException("DatapointsToAlarm must be less than or equal to EvaluationPeriods.")
    if periods * period > _MAX_SPAN:
        raise ValidationException(
            "Metrics cannot be checked across more than a day (EvaluationPeriods * Period must be <= 86400)"
        )
    operator = request.get("ComparisonOperator")
    if operator is None:
        raise MissingRequiredParameterException("The parameter ComparisonOperator is required.")
    if operator not in OPERATORS:
        raise ValidationException(
            f"Dockyard does not evaluate anomaly detection bands: ComparisonOperator {operator} is not "
            "supported."
        )
    if request.get("ThresholdMetricId") is not None:
        raise ValidationException(
            f"ThresholdMetricId can only be used with an anomaly detection band, not with {operator}."
        )
    if request.get("Threshold") is None:
        raise MissingRequiredParameterException("The parameter Threshold is required.")
    treatment = request.get("TreatMissingData")
    if treatment is not None and treatment not in _TREATMENTS:
        raise ValidationException(
            f"The value {treatment} is not supported for TreatMissingData parameter. Supported values are "
            "[breaching, notBreaching, ignore, missing]."
        )
    low = request.get("EvaluateLowSampleCountPercentile")
    if low is not None and low not in ("evaluate", "ignore"):
        raise ValidationException(
            f"Option {low} is not supported. Supported options for parameter "
            "EvaluateLowSampleCountPercentile are evaluate and ignore."
        )


def build_alarm(
    ctx: RequestContext, request: dict[str, Any], *, now: float, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """The alarm document for a PutMetricAlarm request (state kept from `previous`)."""
    if request.get("EvaluationCriteria") is not None or request.get("EvaluationInterval") is not None:
        raise ValidationException(
            "Dockyard does not evaluate PromQL alarms (EvaluationCriteria, EvaluationInterval)."
        )
    metrics = request.get("Metrics")
    if metrics:
        given = [name for name in _SINGLE if request.get(name)]
        if given:
            raise exclusive("Metrics", given[0])
        _check_metrics(metrics)
    elif request.get("MetricName") or request.get("Namespace"):
        _check_single(request)
    else:
        raise MissingRequiredParameterException("The parameter MetricName or Metrics is required.")
    _check_actions(ctx, request)
    doc: dict[str, Any] = {
        "AlarmName": request["AlarmName"],
        "AlarmArn": alarm_arn(ctx, request["AlarmName"]),
        "AlarmConfigurationUpdatedTimestamp": now,
        "ActionsEnabled": request.get("ActionsEnabled", True),
        **{name: list(request.get(name) or []) for name in ACTION_LISTS},
    }
    if request.get("AlarmDescription") is not None:
        doc["AlarmDescription"] = request["AlarmDescription"]
    if metrics:
        doc["Metrics"] = metrics
    else:
        for name in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Period", "Unit"):
            if request.get(name) is not None:
                doc[name] = request[name]
        doc["Dimensions"] = list(request.get("Dimensions") or [])
    for name in (
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "Threshold",
        "ComparisonOperator",
        "TreatMissingData",
        "EvaluateLowSampleCountPercentile",
    ):
        if request.get(name) is not None:
            doc[name] = request[name]
    _check_evaluation(request, alarm_period(doc))
    if previous is None:
        doc.update(
            StateValue="INSUFFICIENT_DATA",
            StateReason=INITIAL_REASON,
            StateUpdatedTimestamp=now,
            StateTransitionedTimestamp=now,
        )
        doc["dockyard"] = {"tags": list(request.get("Tags") or [])}
    else:
        for name in (
            "StateValue",
            "StateReason",
            "StateReasonData",
            "StateUpdatedTimestamp",
            "StateTransitionedTimestamp",
        ):
            if previous.get(name) is not None:
                doc[name] = previous[name]
        doc["dockyard"] = dict(previous.get("dockyard") or {"tags": []})
    return doc
