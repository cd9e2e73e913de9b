"""Checking scaling policy configurations before anything is stored (pure).

Target tracking: a positive TargetValue; exactly one of a predefined metric (for ECS services:
ECSServiceAverageCPUUtilization, ECSServiceAverageMemoryUtilization, or
ALBRequestCountPerTarget with a ResourceLabel `app/<lb>/<lb id>/targetgroup/<tg>/<tg id>`) and a
customized one (MetricName + Namespace + Statistic, or `Metrics` queries of which exactly one
returns data). Step scaling: an AdjustmentType, step intervals that neither overlap nor leave
gaps (at most one open below, one open above), MinAdjustmentMagnitude only with
PercentChangeInCapacity.
"""

from __future__ import annotations

import math
import re
from typing import Any

from dockyard.services.applicationautoscaling.errors import ValidationException

__all__ = ["ECS_METRICS", "check_step", "check_target_tracking", "DEFAULT_COOLDOWN"]

DEFAULT_COOLDOWN = 300  # ECS's default for ScaleOutCooldown, ScaleInCooldown and Cooldown
ECS_METRICS = (
    "ECSServiceAverageCPUUtilization",
    "ECSServiceAverageMemoryUtilization",
    "ALBRequestCountPerTarget",
)
_RESOURCE_LABEL = re.compile(r"^app/[^/]+/[^/]+/targetgroup/[^/]+/[^/]+$")
_QUERY_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_SINGLE_METRIC = ("MetricName", "Namespace", "Dimensions", "Statistic", "Unit")


def check_target_tracking(config: dict[str, Any] | None) -> dict[str, Any]:
    if config is None:
        raise ValidationException(
            "TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy"
        )
    target = config["TargetValue"]
    if not math.isfinite(target) or target <= 0:
        raise ValidationException(f"TargetValue {target} is not valid: it must be greater than 0")
    _check_cooldowns(config, ("ScaleOutCooldown", "ScaleInCooldown"))
    predefined = config.get("PredefinedMetricSpecification")
    custom = config.get("CustomizedMetricSpecification")
    if (predefined is None) == (custom is None):
        raise ValidationException(
            "Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification must be specified"
        )
    if predefined is not None:
        _check_predefined(predefined)
    else:
        _check_custom(custom or {})
    return config


def _check_predefined(spec: dict[str, Any]) -> None:
    kind = spec["PredefinedMetricType"]
    if kind not in ECS_METRICS:
        raise ValidationException(
            f"The predefined metric type {kind} is not supported for the scalable dimension "
            "ecs:service:DesiredCount"
        )
    if kind == "ALBRequestCountPerTarget":
        label = spec.get("ResourceLabel")
        if not label:
            raise ValidationException(
                "Resource label should be specified for predefined metric type ALBRequestCountPerTarget"
            )
        if not _RESOURCE_LABEL.match(label):
            raise ValidationException(
                f"Resource label {label} is not valid: it must have the form "
                "app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>"
            )


def _check_custom(spec: dict[str, Any]) -> None:
    queries = spec.get("Metrics")
    if queries is not None:
        given = [name for name in _SINGLE_METRIC if spec.get(name) is not None]
        if given:
            raise ValidationException(
                f"{', '.join(given)} cannot be specified together with Metrics in a "
                "CustomizedMetricSpecification"
            )
        _check_queries(queries)
        return
    missing = [name for name in ("MetricName", "Namespace", "Statistic") if not spec.get(name)]
    if missing:
        raise ValidationException(f"CustomizedMetricSpecification is missing {', '.join(missing)}")


def _check_queries(queries: list[dict[str, Any]]) -> None:
    if not queries:
        raise ValidationException("Metrics must contain at least one metric data query")
    ids = [q["Id"] for q in queries]
    for query_id in ids:
        if not _QUERY_ID.match(query_id):
            raise ValidationException(
                f"The metric data query Id {query_id} is not valid: it must start with a lowercase letter "
                "and contain only letters, numbers and underscores"
            )
    if len(set(ids)) != len(ids):
        raise ValidationException("Metric data query Ids must be unique")
    for query in queries:
        if (query.get("Expression") is None) == (query.get("MetricStat") is None):
            raise ValidationException(
                f"The metric data query {query['Id']} must specify exactly one of Expression and MetricStat"
            )
    returning = [q for q in queries if q.get("ReturnData", True)]
    if len(returning) != 1:
        raise ValidationException("Exactly one metric data query in Metrics must have ReturnData set to true")


def check_step(config: dict[str, Any] | None) -> dict[str, Any]:
    if config is None:
        raise ValidationException("StepScalingPolicyConfiguration is required for a StepScaling policy")
    adjustment = config.get("AdjustmentType")
    if adjustment is None:
        raise ValidationException("AdjustmentType is required for a StepScaling policy")
    _check_cooldowns(config, ("Cooldown",))
    magnitude = config.get("MinAdjustmentMagnitude")
    if magnitude is not None:
        if adjustment != "PercentChangeInCapacity":
            raise ValidationException(
                "MinAdjustmentMagnitude is only supported with the adjustment type PercentChangeInCapacity"
            )
        if magnitude < 1:
            raise ValidationException("MinAdjustmentMagnitude must be at least 1")
    steps = config.get("StepAdjustments") or []
    if not steps:
        raise ValidationException("StepAdjustments must contain at least one step adjustment")
    _check_intervals(steps)
    if adjustment == "ExactCapacity" and any(s["ScalingAdjustment"] < 0 for s in steps):
        raise ValidationException(
            "ScalingAdjustment cannot be negative when the adjustment type is ExactCapacity"
        )
    return config


def _check_intervals(steps: list[dict[str, Any]]) -> None:
    def bounds(step: dict[str, Any]) -> tuple[float, float]:
        low = step.get("MetricIntervalLowerBound")
        high = step.get("MetricIntervalUpperBound")
        return (-math.inf if low is None else low, math.inf if high is None else high)

    intervals = sorted(bounds(s) for s in steps)
    if sum(1 for s in steps if s.get("MetricIntervalLowerBound") is None) > 1:
        raise ValidationException("Only one step adjustment can have an unspecified lower bound")
    if sum(1 for s in steps if s.get("MetricIntervalUpperBound") is None) > 1:
        raise ValidationException("Only one step adjustment can have an unspecified upper bound")
    for low, high in intervals:
        if low == -math.inf and high == math.inf and len(steps) > 1:
            raise ValidationException("A step adjustment without bounds cannot be combined with other steps")
        if low >= high:
            raise ValidationException(
                f"The step adjustment interval [{_fmt(low)}, {_fmt(high)}) is empty: "
                "its lower bound must be less than its upper bound"
            )
    for (_, previous_high), (low, _) in zip(intervals, intervals[1:], strict=False):
        if low < previous_high:
            raise ValidationException("Step adjustment intervals cannot overlap")
        if low > previous_high:
            raise ValidationException("Step adjustment intervals cannot have gaps between them")


def _check_cooldowns(config: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        value = config.get(name)
        if value is not None and value < 0:
            raise ValidationException(f"{name} must be greater than or equal to 0")


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "-infinity" if value < 0 else "infinity"
    return f"{value:g}"
