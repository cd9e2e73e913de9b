"""Metric math: evaluate GetMetricData / alarm expressions over time series. Pure.

The syntax is `expression_parser`'s. Values are scalars, time series (`{timestamp: value}`) or
arrays of time series. Arithmetic works point by point: scalar with series, series with series
(only where both have a point), array with scalar or series (each element); a result that is
not a finite number is dropped.

Functions: ABS CEIL FLOOR LOG LOG10 SQRT; SUM AVG MIN MAX STDDEV (of one series: a scalar over
its points; of an array: a series over the timestamps); METRICS() (every MetricStat query of the
request) and METRICS("text") (those whose Id contains the text); FILL(x, value | REPEAT |
LINEAR) over every period of the request; RATE (change per second) and DIFF (change) between
consecutive points; PERIOD (the series' period, a scalar); REMOVE_EMPTY (drops empty series).
Anything else is an `ExpressionError` naming what is wrong.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dockyard.services.cloudwatch.expression_parser import (
    Array,
    Bin,
    ExpressionError,
    Neg,
    Node,
    Num,
    Ref,
    Str,
    parse,
    references,
)

__all__ = ["ExpressionError", "TimeSeries", "Scope", "Value", "evaluate", "references"]


@dataclass(slots=True)
class TimeSeries:
    label: str
    points: dict[float, float] = field(default_factory=dict)


Value = float | TimeSeries | list[TimeSeries]


@dataclass(frozen=True, slots=True)
class Scope:
    """What an expression can see: results by query id, the MetricStat ids in request order, every
    period start of the request (for FILL) and the period."""

    lookup: Callable[[str], Value]
    metric_ids: Sequence[str]
    grid: Sequence[float]
    period: int


def evaluate(expression: str, scope: Scope) -> Value:
    return _Evaluator(scope).run(parse(expression))


_KEYWORDS = ("REPEAT", "LINEAR")
_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else math.nan,
    "^": lambda a, b: _power(a, b),
}


def _power(a: float, b: float) -> float:
    try:
        result = a**b
    except (OverflowError, ZeroDivisionError):
        return math.nan
    return result if isinstance(result, float | int) else math.nan


def _clean(points: dict[float, float]) -> dict[float, float]:
    return {t: v for t, v in points.items() if math.isfinite(v)}


def _pointwise(value: Value, fn: Callable[[float], float]) -> Value:
    if isinstance(value, list):
        return [TimeSeries(s.label, _clean({t: _safe(fn, v) for t, v in s.points.items()})) for s in value]
    if isinstance(value, TimeSeries):
        return TimeSeries(value.label, _clean({t: _safe(fn, v) for t, v in value.points.items()}))
    return _safe(fn, value)


def _apply(fn: Callable[[float, float], float], a: float, b: float) -> float:
    try:
        return fn(a, b)
    except (ValueError, OverflowError, ZeroDivisionError):
        return math.nan


def _series(value: Value) -> TimeSeries:
    assert isinstance(value, TimeSeries)
    return value


def _safe(fn: Callable[[float], float], v: float) -> float:
    try:
        return fn(v)
    except (ValueError, OverflowError, ZeroDivisionError):
        return math.nan


class _Evaluator:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def run(self, node: Node) -> Value:
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Str):
            raise ExpressionError(f'A string ("{node.text}") can only be an argument of METRICS.')
        if isinstance(node, Ref):
            if node.name in _KEYWORDS:
                raise ExpressionError(f"{node.name} can only be the second argument of FILL.")
            return self.scope.lookup(node.name)
        if isinstance(node, Neg):
            return _pointwise(self.run(node.operand), lambda v: -v)
        if isinstance(node, Bin):
            return self.binary(node.op, self.run(node.left), self.run(node.right))
        if isinstance(node, Array):
            items: list[TimeSeries] = []
            for part in node.items:
                value = self.run(part)
                if isinstance(value, float):
                    raise ExpressionError("An array can only hold time series.")
                items.extend(value if isinstance(value, list) else [value])
            return items
        return self.call(node.name, list(node.args))

    def binary(self, op: str, left: Value, right: Value) -> Value:
        fn = _BINARY[op]
        if isinstance(left, list) and isinstance(right, list):
            raise ExpressionError(f"The operator {op} cannot combine two arrays of time series.")
        if isinstance(left, list):
            return [_series(self.binary(op, s, right)) for s in left]
        if isinstance(right, list):
            return [_series(self.binary(op, left, s)) for s in right]
        if isinstance(left, TimeSeries) and isinstance(right, TimeSeries):
            shared = sorted(left.points.keys() & right.points.keys())
            pairs = {t: _apply(fn, left.points[t], right.points[t]) for t in shared}
            return TimeSeries(left.label, _clean(pairs))
        if isinstance(left, TimeSeries):
            assert isinstance(right, float)
            return TimeSeries(left.label, _clean({t: _apply(fn, v, right) for t, v in left.points.items()}))
        if isinstance(right, TimeSeries):
            return TimeSeries(right.label, _clean({t: _apply(fn, left, v) for t, v in right.points.items()}))
        return _apply(fn, left, right)

    def call(self, name: str, args: list[Node]) -> Value:
        unary_math: dict[str, Callable[[float], float]] = {
            "ABS": abs,
            "CEIL": lambda v: float(math.ceil(v)),
            "FLOOR": lambda v: float(math.floor(v)),
            "LOG": math.log,
            "LOG10": math.log10,
            "SQRT": math.sqrt,
        }
        if name == "METRICS":
            return self.metrics(args)
        if name == "FILL":
            return self.fill(args)
        self.arity(name, args, 1)
        value = self.run(args[0])
        if name in unary_math:
            return _pointwise(value, unary_math[name])
        if name in ("SUM", "AVG", "MIN", "MAX", "STDDEV"):
            return _aggregate(name, value)
        if name in ("RATE", "DIFF"):
            return _each(value, lambda s: _change(s, per_second=name == "RATE"), name)
        if name == "PERIOD":
            if isinstance(value, float):
                raise ExpressionError("PERIOD takes a time series.")
            return float(self.scope.period)
        if name == "REMOVE_EMPTY":
            if not isinstance(value, list):
                raise ExpressionError("REMOVE_EMPTY takes an array of time series.")
            return [s for s in value if s.points]
        raise ExpressionError(f"Unknown function {name}.")

    @staticmethod
    def arity(name: str, args: list[Node], count: int) -> None:
        if len(args) != count:
            raise ExpressionError(
                f"{name} takes {count} argument{'s' if count > 1 else ''}, not {len(args)}."
            )

    def metrics(self, args: list[Node]) -> Value:
        if len(args) > 1 or (args and not isinstance(args[0], Str)):
            raise ExpressionError("METRICS takes no argument or one string.")
        needle = args[0].text if args and isinstance(args[0], Str) else ""
        out = []
        for metric_id in self.scope.metric_ids:
            if needle in metric_id:
                value = self.scope.lookup(metric_id)
                if isinstance(value, TimeSeries):
                    out.append(value)
        return out

    def fill(self, args: list[Node]) -> Value:
        self.arity("FILL", args, 2)
        target = self.run(args[0])
        how: str | float
        second = args[1]
        if isinstance(second, Ref) and second.name in _KEYWORDS:
            how = second.name
        else:
            filler = self.run(second)
            if not isinstance(filler, float):
                raise ExpressionError("The second argument of FILL is a number, REPEAT or LINEAR.")
            how = filler
        return _each(target, lambda s: _fill(s, how, self.scope.grid), "FILL")


def _each(value: Value, fn: Callable[[TimeSeries], TimeSeries], name: str) -> Value:
    if isinstance(value, float):
        raise ExpressionError(f"{name} takes a time series or an array of time series.")
    if isinstance(value, list):
        return [fn(s) for s in value]
    return fn(value)


def _aggregate(name: str, value: Value) -> Value:
    def reduce(values: list[float]) -> float:
        if not values:
            return math.nan
        if name == "SUM":
            return math.fsum(values)
        if name == "AVG":
            return math.fsum(values) / len(values)
        if name == "MIN":
            return min(values)
        if name == "MAX":
            return max(values)
        return statistics.pstdev(values)

    if isinstance(value, float):
        raise ExpressionError(f"{name} takes a time series or an array of time series.")
    if isinstance(value, TimeSeries):
        return reduce(list(value.points.values()))
    stamps = sorted({t for s in value for t in s.points})
    return TimeSeries(
        name, _clean({t: reduce([s.points[t] for s in value if t in s.points]) for t in stamps})
    )


def _change(series: TimeSeries, *, per_second: bool) -> TimeSeries:
    stamps = sorted(series.points)
    out = {}
    for before, after in zip(stamps, stamps[1:], strict=False):
        delta = series.points[after] - series.points[before]
        out[after] = delta / (after - before) if per_second else delta
    return TimeSeries(series.label, out)


def _fill(series: TimeSeries, how: str | float, grid: Sequence[float]) -> TimeSeries:
    points = dict(series.points)
    known = sorted(points)
    if isinstance(how, float):
        return TimeSeries(series.label, {t: points.get(t, how) for t in sorted(set(grid) | set(known))})
    out = {}
    for t in sorted(set(grid) | set(known)):
        if t in points:
            out[t] = points[t]
            continue
        earlier = [k for k in known if k < t]
        later = [k for k in known if k > t]
        if how == "REPEAT" and earlier:
            out[t] = points[earlier[-1]]
        elif how == "LINEAR" and earlier and later:
            a, b = earlier[-1], later[0]
            out[t] = points[a] + (points[b] - points[a]) * (t - a) / (b - a)
    return TimeSeries(series.label, out)
