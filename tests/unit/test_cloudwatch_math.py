"""Metric math and statistics, as pure functions: expressions over series, and the statistics
of aggregated datapoints (percentiles, trimmed means, statistic sets)."""

from __future__ import annotations

import pytest

from dockyard.services.cloudwatch.expressions import (
    ExpressionError,
    Scope,
    TimeSeries,
    Value,
    evaluate,
    references,
)
from dockyard.services.cloudwatch.statistics import Aggregate, compute, merge, parse_stat

GRID = [0.0, 60.0, 120.0, 180.0]
M1 = TimeSeries("m1", {0.0: 10.0, 60.0: 20.0, 180.0: 40.0})
M2 = TimeSeries("m2", {0.0: 1.0, 60.0: 0.0, 120.0: 3.0, 180.0: 4.0})
ERRORS = TimeSeries("errors5xx", {0.0: 2.0, 60.0: 4.0})


def run(expression: str) -> Value:
    series = {"m1": M1, "m2": M2, "errors5xx": ERRORS}

    def lookup(name: str) -> Value:
        if name not in series:
            raise ExpressionError(f"Unrecognized metric id {name}.")
        return series[name]

    return evaluate(expression, Scope(lookup, ["m1", "m2", "errors5xx"], GRID, 60))


def points(value: Value) -> dict[float, float]:
    assert isinstance(value, TimeSeries)
    return value.points


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("m1 * 2", {0.0: 20.0, 60.0: 40.0, 180.0: 80.0}),
        ("m1 + m2", {0.0: 11.0, 60.0: 20.0, 180.0: 44.0}),  # only where both have a point
        ("m1 / m2", {0.0: 10.0, 180.0: 10.0}),  # division by zero drops the point
        ("-m1 + 100", {0.0: 90.0, 60.0: 80.0, 180.0: 60.0}),
        ("(m1 - 10) / 10 * 100", {0.0: 0.0, 60.0: 100.0, 180.0: 300.0}),
        ("m2 ^ 2", {0.0: 1.0, 60.0: 0.0, 120.0: 9.0, 180.0: 16.0}),
        ("SUM([m1, m2])", {0.0: 11.0, 60.0: 20.0, 120.0: 3.0, 180.0: 44.0}),
        ("MAX(METRICS())", {0.0: 10.0, 60.0: 20.0, 120.0: 3.0, 180.0: 40.0}),
        ('AVG(METRICS("m"))', {0.0: 5.5, 60.0: 10.0, 120.0: 3.0, 180.0: 22.0}),
        ("FILL(m1, 0)", {0.0: 10.0, 60.0: 20.0, 120.0: 0.0, 180.0: 40.0}),
        ("FILL(m1, REPEAT)", {0.0: 10.0, 60.0: 20.0, 120.0: 20.0, 180.0: 40.0}),
        ("FILL(m1, LINEAR)", {0.0: 10.0, 60.0: 20.0, 120.0: 30.0, 180.0: 40.0}),
        ("RATE(m1)", {60.0: 10.0 / 60, 180.0: 20.0 / 120}),
        ("DIFF(m1)", {60.0: 10.0, 180.0: 20.0}),
        ("ABS(m2 - 2)", {0.0: 1.0, 60.0: 2.0, 120.0: 1.0, 180.0: 2.0}),
        ("m1 * 0 + PERIOD(m1)", {0.0: 60.0, 60.0: 60.0, 180.0: 60.0}),
    ],
)
def test_series_results(expression: str, expected: dict[float, float]) -> None:
    assert points(run(expression)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("SUM(m1)", 70.0), ("AVG(m2)", 2.0), ("MIN(m1)", 10.0), ("MAX(m2)", 4.0), ("2 * 3 + 1", 7.0)],
)
def test_scalar_results(expression: str, expected: float) -> None:
    assert run(expression) == pytest.approx(expected)


def test_metrics_with_a_filter_selects_by_id() -> None:
    value = run('METRICS("errors")')
    assert isinstance(value, list) and [s.label for s in value] == ["errors5xx"]


def test_array_arithmetic_applies_to_each_series() -> None:
    value = run("METRICS() * 10")
    assert isinstance(value, list)
    assert [s.points[0.0] for s in value] == [100.0, 10.0, 20.0]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("m1 +", "Syntax error: the expression ends too early."),
        ("m1 $ 2", "Syntax error at position 4: unexpected '$'."),
        ("NOPE(m1)", "Unknown function NOPE."),
        ("m9 * 2", "Unrecognized metric id m9."),
        ("FILL(m1)", "FILL takes 2 arguments, not 1."),
        ("METRICS() + METRICS()", "The operator + cannot combine two arrays of time series."),
        ("RATE(3)", "RATE takes a time series or an array of time series."),
        ('"text"', 'A string ("text") can only be an argument of METRICS.'),
    ],
)
def test_errors_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        run(expression)
    assert str(info.value) == message


def test_references_name_the_queries_used() -> None:
    assert references("SUM([m1, m2]) / FILL(e1, REPEAT)") == {"m1", "m2", "e1", "REPEAT"}


# -- statistics -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SampleCount", 10.0),
        ("Sum", 55.0),
        ("Average", 5.5),
        ("Minimum", 1.0),
        ("Maximum", 10.0),
        ("p50", 5.0),
        ("p90", 9.0),
        ("p99.9", 10.0),
        ("p0", 1.0),
        ("tm80", 4.5),  # mean of the values up to the 80th percentile (1..8)
        ("TM(10%:90%)", 5.5),  # values above p10 (1) up to p90 (9): 2..9
        ("IQM", 6.0),  # TM(25%:75%): values above p25 (3) up to p75 (8)
        ("tc50", 5.0),
        ("ts50", 15.0),
        ("wm90", 5.4),  # values below... clamped to [1, 9]
    ],
)
def test_statistics_over_raw_values(name: str, expected: float) -> None:
    stat = parse_stat(name)
    assert stat is not None
    aggregate = Aggregate.of_values([float(v) for v in range(1, 11)])
    assert compute(stat, aggregate) == pytest.approx(expected)


@pytest.mark.parametrize("name", ["Median", "p101", "pxx", "tm", "TM(90%:10%)", "avg"])
def test_unknown_statistics(name: str) -> None:
    assert parse_stat(name) is None


def test_values_with_counts_weigh_each_value() -> None:
    aggregate = Aggregate.of_values([1.0, 100.0], [99.0, 1.0])
    assert (aggregate.count, aggregate.sum) == (100.0, 199.0)
    stat = parse_stat("p99")
    assert stat is not None and compute(stat, aggregate) == 1.0


def test_statistic_sets_hide_percentiles_unless_min_equals_max() -> None:
    p50 = parse_stat("p50")
    assert p50 is not None
    assert compute(p50, Aggregate.of_set(4, 10.0, 1.0, 4.0)) is None
    assert compute(p50, Aggregate.of_set(4, 12.0, 3.0, 3.0)) == 3.0


def test_merging_keeps_the_statistic_set_and_drops_unknown_values() -> None:
    merged = merge([Aggregate.of_values([1.0, 2.0]), Aggregate.of_set(2, 10.0, 4.0, 6.0)])
    assert merged is not None
    assert (merged.count, merged.sum, merged.minimum, merged.maximum) == (4.0, 13.0, 1.0, 6.0)
    assert merged.values is None


def test_negative_values_make_percentiles_unavailable() -> None:
    p50 = parse_stat("p50")
    assert p50 is not None and compute(p50, Aggregate.of_values([-1.0, 2.0])) is None
