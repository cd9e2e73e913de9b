"""Statistics over aggregated datapoints: the pure arithmetic behind every metric read.

An `Aggregate` is what CloudWatch keeps per metric, unit and time bucket: a statistic set
(SampleCount, Sum, Minimum, Maximum) plus, when known, the raw values with their counts, which
percentile-style statistics need. A statistic set whose Minimum and Maximum differ hides its raw
values, so percentiles are unavailable for its bucket, as on AWS.

Statistic names (`parse_stat`): SampleCount, Average, Sum, Minimum, Maximum; `pNN` (percentile);
`tmNN`, `tsNN`, `tcNN`, `wmNN` (trimmed mean / sum / count and winsorized mean of the values up
to the NN percentile), their ranges `TM(10%:90%)` (bounds may be empty: `TM(:95%)`), and `IQM`
(`TM(25%:75%)`). A percentile needs raw values; any negative value also makes it unavailable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Aggregate",
    "Stat",
    "BASIC_STATISTICS",
    "parse_stat",
    "merge",
    "compute",
]

BASIC_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_MAX_DISTINCT = 2000  # raw values kept per bucket before they are rounded to 4 significant digits


@dataclass(slots=True)
class Aggregate:
    count: float
    sum: float
    minimum: float
    maximum: float
    values: dict[float, float] | None  # value -> count; None when the raw values are unknown

    @classmethod
    def of_values(cls, values: Iterable[float], counts: Iterable[float] | None = None) -> Aggregate:
        pairs: dict[float, float] = {}
        counted = list(counts) if counts is not None else None
        for i, value in enumerate(values):
            weight = counted[i] if counted is not None else 1.0
            if weight > 0:
                pairs[value] = pairs.get(value, 0.0) + weight
        if not pairs:
            raise ValueError("an aggregate needs at least one value with a positive count")
        return cls(
            count=sum(pairs.values()),
            sum=sum(v * c for v, c in pairs.items()),
            minimum=min(pairs),
            maximum=max(pairs),
            values=_bounded(pairs),
        )

    @classmethod
    def of_set(cls, count: float, total: float, minimum: float, maximum: float) -> Aggregate:
        values = {minimum: count} if minimum == maximum else None
        return cls(count=count, sum=total, minimum=minimum, maximum=maximum, values=values)


def merge(parts: Iterable[Aggregate]) -> Aggregate | None:
    result: Aggregate | None = None
    for part in parts:
        if result is None:
            result = Aggregate(
                part.count,
                part.sum,
                part.minimum,
                part.maximum,
                dict(part.values) if part.values is not None else None,
            )
            continue
        result.count += part.count
        result.sum += part.sum
        result.minimum = min(result.minimum, part.minimum)
        result.maximum = max(result.maximum, part.maximum)
        if result.values is None or part.values is None:
            result.values = None
        else:
            for value, count in part.values.items():
                result.values[value] = result.values.get(value, 0.0) + count
            result.values = _bounded(result.values)
    return result


def _bounded(pairs: dict[float, float]) -> dict[float, float]:
    if len(pairs) <= _MAX_DISTINCT:
        return pairs
    rounded: dict[float, float] = {}
    for value, count in pairs.items():
        key = float(f"{value:.4g}")
        rounded[key] = rounded.get(key, 0.0) + count
    return rounded


@dataclass(frozen=True, slots=True)
class Stat:
    """A parsed statistic: `kind` is a basic statistic name or one of p/tm/ts/tc/wm."""

    name: str  # as the caller spelled it, used in labels and ExtendedStatistics keys
    kind: str
    low: float = 0.0  # percentile bounds, in percent
    high: float = 100.0


_NUMBER = r"(\d{1,3}(?:\.\d{1,10})?)"
_SHORT = re.compile(rf"(p|tm|ts|tc|wm){_NUMBER}")
_RANGE = re.compile(rf"(tm|ts|tc|wm)\(\s*(?:{_NUMBER}%)?\s*:\s*(?:{_NUMBER}%)?\s*\)")


def parse_stat(name: str) -> Stat | None:
    """The statistic `name` stands for, or None when it names none."""
    if name in BASIC_STATISTICS:
        return Stat(name, name)
    if name.upper() == "IQM":
        return Stat(name, "tm", 25.0, 75.0)
    short = _SHORT.fullmatch(name)
    if short:
        kind, number = short.group(1), float(short.group(2))
        if number > 100:
            return None
        return Stat(name, kind, 0.0, number) if kind != "p" else Stat(name, "p", number, number)
    ranged = _RANGE.fullmatch(name.lower())
    if ranged:
        kind = ranged.group(1)
        low = float(ranged.group(2)) if ranged.group(2) else 0.0
        high = float(ranged.group(3)) if ranged.group(3) else 100.0
        if low > 100 or high > 100 or low >= high:
            return None
        return Stat(name, kind, low, high)
    return None


def compute(stat: Stat, aggregate: Aggregate) -> float | None:
    """The statistic's value over `aggregate`, or None when it cannot be computed."""
    kind = stat.kind
    if kind == "SampleCount":
        return aggregate.count
    if kind == "Sum":
        return aggregate.sum
    if kind == "Average":
        return aggregate.sum / aggregate.count if aggregate.count else None
    if kind == "Minimum":
        return aggregate.minimum
    if kind == "Maximum":
        return aggregate.maximum
    values = aggregate.values
    if values is None or not values or min(values) < 0:
        return None
    ordered = sorted(values.items())
    if kind == "p":
        return _percentile(ordered, stat.high)
    low_value = _percentile(ordered, stat.low) if stat.low > 0 else -math.inf
    high_value = _percentile(ordered, stat.high)
    if kind == "wm":
        total = sum(min(max(v, low_value), high_value) * c for v, c in ordered)
        return total / sum(c for _, c in ordered)
    kept = [(v, c) for v, c in ordered if (v > low_value if stat.low > 0 else True) and v <= high_value]
    count = sum(c for _, c in kept)
    if kind == "tc":
        return count
    if kind == "ts":
        return sum(v * c for v, c in kept)
    return sum(v * c for v, c in kept) / count if count else None


def _percentile(ordered: list[tuple[float, float]], percent: float) -> float:
    """Nearest-rank percentile over (value, count) pairs sorted by value."""
    total = sum(c for _, c in ordered)
    rank = max(1.0, math.ceil(percent / 100.0 * total))
    seen = 0.0
    for value, count in ordered:
        seen += count
        if seen >= rank:
            return value
    return ordered[-1][0]
