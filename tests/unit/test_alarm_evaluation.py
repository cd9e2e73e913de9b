"""Alarm evaluation, table-driven: M of N, every missing-data treatment, the premature-alarm
guard, low-sample percentiles, and CloudWatch's reason texts and reason data."""

from __future__ import annotations

import json

import pytest

from dockyard.services.cloudwatch.evaluation import AlarmSpec, Datapoint, evaluate, evaluation_range

T0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
NOW = T0 + 5 * 60 + 30


def slots(count: int = 5) -> list[float]:
    return [T0 + 60 * k for k in range(count)]


def series(pattern: str) -> dict[float, Datapoint]:
    """'0 - X - X': oldest first; X breaches (90.0), 0 does not (10.0), - is missing."""
    values = {"X": 90.0, "0": 10.0}
    return {
        T0 + 60 * k: Datapoint(T0 + 60 * k, values[c], 1.0) for k, c in enumerate(pattern.split()) if c != "-"
    }


def spec(n: int = 3, m: int | None = None, treat: str = "missing", **kwargs: object) -> AlarmSpec:
    return AlarmSpec(
        period=60,
        evaluation_periods=n,
        datapoints_to_alarm=m or n,
        threshold=50.0,
        comparison="GreaterThanThreshold",
        treat_missing=treat,
        statistic="Average",
        **kwargs,  # type: ignore[arg-type]
    )


# (pattern oldest..newest over the 5-period range, treatment, M of 3) -> state (None: kept)
CASES = [
    ("0 0 0 0 0", "missing", 3, "OK"),
    ("X X X X X", "missing", 3, "ALARM"),
    ("0 X X 0 X", "missing", 3, "OK"),
    ("0 X X 0 X", "missing", 2, "ALARM"),  # 2 of the last 3 breach, not consecutively
    ("0 - X - X", "missing", 3, "OK"),  # 3 real points: the 3 most recent real ones decide
    ("0 X X - X", "missing", 3, "ALARM"),
    ("- - - - -", "missing", 3, "INSUFFICIENT_DATA"),
    ("- - - - -", "ignore", 3, None),
    ("- - - - -", "breaching", 3, "ALARM"),
    ("- - - - -", "notBreaching", 3, "OK"),
    ("- - X - -", "missing", 3, "ALARM"),  # the premature-alarm guard lets an old breach alarm
    ("- - - - X", "missing", 3, None),  # ...but not a fresh one: wait for more data
    ("- - X - -", "ignore", 3, "ALARM"),
    ("- - - - 0", "missing", 3, "OK"),
    ("- - - X X", "breaching", 3, "ALARM"),  # 2 real + 1 missing counted as breaching
    ("- - - X X", "notBreaching", 3, "OK"),  # 2 real + 1 missing counted as fine
    ("- - - X X", "notBreaching", 2, "ALARM"),
    ("- - - 0 0", "breaching", 2, "OK"),  # only one missing point is used to make 3
    ("- - - 0 0", "breaching", 1, "ALARM"),
]


@pytest.mark.parametrize(("pattern", "treat", "m", "expected"), CASES)
def test_state_follows_aws_rules(pattern: str, treat: str, m: int, expected: str | None) -> None:
    result = evaluate(spec(3, m, treat), slots(), series(pattern), now=NOW)
    assert result.state == expected


def test_the_evaluation_range_is_wider_than_n() -> None:
    assert evaluation_range(1) == 3
    assert evaluation_range(3) == 5
    assert evaluation_range(15) == 20


def test_alarm_reason_lists_the_breaching_datapoints_newest_first() -> None:
    points = {T0 + 60 * k: Datapoint(T0 + 60 * k, v, 1.0) for k, v in enumerate([60.0, 70.0, 84.5])}
    result = evaluate(spec(3), slots(3), points, now=T0 + 200)
    assert result.state == "ALARM"
    assert result.reason == (
        "Threshold Crossed: 3 out of the last 3 datapoints [84.5 (15/01/27 08:02:00), 70.0 (15/01/27 "
        "08:01:00), "
        "60.0 (15/01/27 08:00:00)] were greater than the threshold (50.0) "
        "(minimum 3 datapoints for OK -> ALARM transition)."
    )


def test_ok_reason_counts_the_datapoints_within_the_threshold() -> None:
    points = series("0 0 X")
    result = evaluate(spec(3), slots(3), points, now=T0 + 200)
    assert result.state == "OK"
    assert result.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints [10.0 (15/01/27 08:01:00), 10.0 (15/01/27 "
        "08:00:00)] "
        "were not greater than the threshold (50.0) (minimum 1 datapoint for ALARM -> OK transition)."
    )


def test_single_period_reason() -> None:
    points = {T0: Datapoint(T0, 42.0, 3.0)}
    one = AlarmSpec(60, 1, 1, 40.0, "GreaterThanOrEqualToThreshold")
    result = evaluate(one, [T0], points, now=T0 + 61)
    assert result.reason == (
        "Threshold Crossed: 1 datapoint [42.0 (15/01/27 08:00:00)] was greater than or equal to the "
        "threshold (40.0)."
    )


@pytest.mark.parametrize(
    ("treat", "state", "reason"),
    [
        ("missing", "INSUFFICIENT_DATA", "Insufficient Data: 3 datapoints were unknown."),
        (
            "breaching",
            "ALARM",
            "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints "
            "were treated as "
            "[Breaching].",
        ),
        (
            "notBreaching",
            "OK",
            "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints "
            "were treated as "
            "[NonBreaching].",
        ),
    ],
)
def test_reasons_when_every_datapoint_is_missing(treat: str, state: str, reason: str) -> None:
    result = evaluate(spec(3, treat=treat), slots(), {}, now=NOW)
    assert (result.state, result.reason) == (state, reason)


def test_single_missing_period_reason_is_singular() -> None:
    one = AlarmSpec(60, 1, 1, 1.0, "LessThanThreshold")
    assert evaluate(one, slots(3), {}, now=NOW).reason == "Insufficient Data: 1 datapoint was unknown."


@pytest.mark.parametrize(
    ("comparison", "value", "breaches"),
    [
        ("GreaterThanThreshold", 50.0, False),
        ("GreaterThanOrEqualToThreshold", 50.0, True),
        ("LessThanThreshold", 50.0, False),
        ("LessThanOrEqualToThreshold", 50.0, True),
        ("LessThanThreshold", 49.9, True),
    ],
)
def test_comparison_operators(comparison: str, value: float, breaches: bool) -> None:
    alarm = AlarmSpec(60, 1, 1, 50.0, comparison)
    result = evaluate(alarm, [T0], {T0: Datapoint(T0, value, 1.0)}, now=T0 + 60)
    assert result.state == ("ALARM" if breaches else "OK")


def test_reason_data_is_cloudwatch_json() -> None:
    points = series("X X X")
    result = evaluate(spec(3, unit="Percent"), slots(3), points, now=T0 + 185.25)
    data = result.reason_data
    assert data["version"] == "1.0"
    assert data["queryDate"] == "2027-01-15T08:03:05.250+0000"
    assert data["startDate"] == "2027-01-15T08:00:00.000+0000"
    assert data["statistic"] == "Average"
    assert data["unit"] == "Percent"
    assert data["period"] == 60
    assert data["threshold"] == 50.0
    assert data["recentDatapoints"] == [90.0, 90.0, 90.0]
    assert data["evaluatedDatapoints"][0] == {
        "timestamp": "2027-01-15T08:02:00.000+0000",
        "sampleCount": 1.0,
        "value": 90.0,
    }
    json.dumps(data)  # it is stored as a JSON text


def test_missing_points_filled_appear_without_a_value() -> None:
    result = evaluate(spec(3, treat="breaching"), slots(), series("- - - X X"), now=NOW)
    timestamps = [p["timestamp"] for p in result.reason_data["evaluatedDatapoints"]]
    assert len(timestamps) == 3
    assert result.reason_data["evaluatedDatapoints"][-1] == {"timestamp": "2027-01-15T08:02:00.000+0000"}


def test_low_sample_percentile_with_ignore_keeps_the_state() -> None:
    p99 = spec(1, percentile=99.0, low_sample="ignore")
    few = {T0: Datapoint(T0, 90.0, 20.0)}  # p99 needs 1000 samples to be significant
    assert evaluate(p99, [T0], few, now=T0 + 60).state is None
    many = {T0: Datapoint(T0, 90.0, 1000.0)}
    assert evaluate(p99, [T0], many, now=T0 + 60).state == "ALARM"
    evaluated = spec(1, percentile=99.0, low_sample="evaluate")
    assert evaluate(evaluated, [T0], few, now=T0 + 60).state == "ALARM"
