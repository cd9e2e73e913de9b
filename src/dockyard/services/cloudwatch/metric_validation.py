"""PutMetricData's rules for a datum, with CloudWatch's error codes and messages.

Parameters are named as the query protocol names them (`MetricData.member.2.Value`), which is
how CloudWatch words its messages whatever protocol carried the request:

- `AWS/` namespaces are reserved for AWS (`The value AWS/ECS for parameter Namespace is
  invalid.`); Dockyard's own components publish those through `publish.Metrics`.
- A dimension name may appear once per datum (`No metric may specify the same dimension name
  twice.`); a blank name or value is missing (`MissingParameter`).
- Value, Values and StatisticValues are mutually exclusive (`InvalidParameterCombination`);
  Counts pair with Values and must be as many; NaN, infinities and magnitudes outside
  [2^-260, 2^360] are invalid.
- Timestamps may be at most two weeks old and two hours ahead; every offending datum is
  reported, one line each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from dockyard.core.errors import AwsError
from dockyard.services.cloudwatch.errors import (
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    MissingRequiredParameterException,
)
from dockyard.services.cloudwatch.metric_store import Datum, MetricId
from dockyard.services.cloudwatch.statistics import Aggregate

__all__ = [
    "check_namespace",
    "exclusive",
    "check_dimensions",
    "datum",
    "check_timestamps",
    "java_double",
    "PAST_LIMIT",
    "FUTURE_LIMIT",
]

PAST_LIMIT = 14 * 24 * 3600.0
FUTURE_LIMIT = 2 * 3600.0
_MAX_VALUES = 150
_LARGEST = 2.0**360
_SMALLEST = 2.0**-260


def java_double(value: float) -> str:
    """A double as Java's `Double.toString` writes it (CloudWatch's messages and reasons do)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    shortest = repr(float(value))
    if 1e-3 <= abs(value) < 1e7:
        return shortest
    sign, digits, exponent = Decimal(shortest).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) - 1 + exponent
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def exclusive(first: str, second: str) -> AwsError:
    """CloudWatch's error for two parameters that cannot be used together."""
    return InvalidParameterCombinationException(
        f"The parameters {first} and {second} are mutually exclusive and you have specified both."
    )


def check_namespace(namespace: str) -> None:
    if namespace.startswith("AWS/"):
        raise InvalidParameterValueException(f"The value {namespace} for parameter Namespace is invalid.")


def check_dimensions(dimensions: Sequence[dict[str, str]], prefix: str) -> tuple[tuple[str, str], ...]:
    """The dimensions as sorted (name, value) pairs; `prefix` names the list in messages."""
    seen: set[str] = set()
    pairs = []
    for j, dimension in enumerate(dimensions, start=1):
        name, value = dimension.get("Name", ""), dimension.get("Value", "")
        if not name.strip():
            raise MissingRequiredParameterException(f"The parameter {prefix}.member.{j}.Name is required.")
        if not value.strip():
            raise MissingRequiredParameterException(f"The parameter {prefix}.member.{j}.Value is required.")
        if name in seen:
            raise InvalidParameterValueException("No metric may specify the same dimension name twice.")
        seen.add(name)
        pairs.append((name, value))
    return tuple(sorted(pairs))


def _check_number(value: float, parameter: str) -> None:
    magnitude = abs(value)
    if not math.isfinite(value) or (magnitude and not _SMALLEST <= magnitude <= _LARGEST):
        raise InvalidParameterValueException(
            f"The value {java_double(value)} for parameter {parameter} is invalid."
        )


def datum(item: dict[str, Any], prefix: str, *, now: float) -> tuple[MetricId, Datum, str]:
    """A validated datum (`prefix` is e.g. `MetricData.member.2`) and its namespace-less metric
    id; the caller sets the namespace. Returns (metric, datum, timestamp error or "")."""
    dimensions = check_dimensions(item.get("Dimensions", []), f"{prefix}.Dimensions")
    given = [k for k in ("Value", "Values", "StatisticValues") if item.get(k) is not None]
    if len(given) > 1:
        raise exclusive(f"{prefix}.{given[0]}", f"{prefix}.{given[1]}")
    counts = item.get("Counts")
    if counts is not None and item.get("Values") is None:
        raise InvalidParameterCombinationException(
            f"The parameter {prefix}.Counts must be specified with the parameter {prefix}.Values."
        )
    aggregate = _aggregate(item, prefix, counts)
    resolution = int(item.get("StorageResolution", 60))
    if resolution not in (1, 60):
        raise InvalidParameterValueException(
            f"The value {resolution} for parameter {prefix}.StorageResolution is invalid."
        )
    timestamp = float(item["Timestamp"]) if item.get("Timestamp") is not None else now
    problem = ""
    if timestamp > now + FUTURE_LIMIT:
        problem = (
            f"The parameter {prefix}.Timestamp must specify a time no more than two hours in the future."
        )
    elif timestamp < now - PAST_LIMIT:
        problem = f"The parameter {prefix}.Timestamp must specify a time within the past two weeks."
    unit = item.get("Unit") or "None"
    return (
        MetricId("", item["MetricName"], dimensions),
        Datum(timestamp, unit, resolution, aggregate),
        problem,
    )


def _aggregate(item: dict[str, Any], prefix: str, counts: list[float] | None) -> Aggregate:
    if item.get("Value") is not None:
        value = float(item["Value"])
        _check_number(value, f"{prefix}.Value")
        return Aggregate.of_values([value])
    if item.get("Values") is not None:
        values = [float(v) for v in item["Values"]]
        if not values:
            raise MissingRequiredParameterException(f"The parameter {prefix}.Values is required.")
        if len(values) > _MAX_VALUES:
            raise InvalidParameterValueException(
                f"The collection {prefix}.Values must not have a size greater than {_MAX_VALUES}."
            )
        for value in values:
            _check_number(value, f"{prefix}.Values")
        if counts is not None:
            if len(counts) != len(values):
                raise InvalidParameterValueException(
                    f"The parameters {prefix}.Values and {prefix}.Counts must be of the same size."
                )
            for count in counts:
                if not math.isfinite(count) or count < 0:
                    raise InvalidParameterValueException(
                        f"The value {java_double(count)} for parameter {prefix}.Counts is invalid."
                    )
            if not any(c > 0 for c in counts):
                raise InvalidParameterValueException(
                    f"The parameter {prefix}.Counts must have a positive count."
                )
        return Aggregate.of_values(values, counts)
    stats = item.get("StatisticValues")
    if stats is not None:
        for name in ("SampleCount", "Sum", "Minimum", "Maximum"):
            _check_number(float(stats[name]), f"{prefix}.StatisticValues.{name}")
        if stats["SampleCount"] <= 0:
            raise InvalidParameterValueException(
                f"The value {java_double(stats['SampleCount'])} for parameter "
                f"{prefix}.StatisticValues.SampleCount is invalid."
            )
        if stats["Minimum"] > stats["Maximum"]:
            raise InvalidParameterValueException(
                f"The parameter {prefix}.StatisticValues.Minimum must be less than or equal to the parameter "
                f"{prefix}.StatisticValues.Maximum."
            )
        return Aggregate.of_set(
            float(stats["SampleCount"]), float(stats["Sum"]), float(stats["Minimum"]), float(stats["Maximum"])
        )
    raise MissingRequiredParameterException(f"The parameter {prefix}.Value is required.")


def check_timestamps(problems: Sequence[str]) -> None:
    """Report every datum whose timestamp is out of range, one line each."""
    lines = [p for p in problems if p]
    if lines:
        raise InvalidParameterValueException("\n".join(lines))
