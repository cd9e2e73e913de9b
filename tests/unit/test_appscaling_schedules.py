"""Scheduled-action schedules: at(), rate() and AWS's six-field cron, with time zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dockyard.services.applicationautoscaling.schedules import ScheduleError, next_run, parse_schedule, zone


def epoch(text: str, tz: str = "UTC") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=zone(tz)).timestamp()


def runs(
    schedule: str,
    after: str,
    count: int,
    *,
    tz: str = "UTC",
    created: float | None = None,
    start: float | None = None,
    end: float | None = None,
) -> list[str]:
    """The next `count` runs, shown as local wall-clock times with their UTC offset."""
    parsed = parse_schedule(schedule)
    moment = epoch(after, tz)
    made = moment if created is None else created
    shown = []
    for _ in range(count):
        found = next_run(parsed, after=moment, tz=zone(tz), created=made, start=start, end=end)
        if found is None:
            break
        shown.append(datetime.fromtimestamp(found, zone(tz)).isoformat())
        moment = found
    return shown


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        # every weekday at 09:00
        (
            "cron(0 9 ? * MON-FRI *)",
            "2024-03-01T10:00:00",  # a Friday
            ["2024-03-04T09:00:00+00:00", "2024-03-05T09:00:00+00:00", "2024-03-06T09:00:00+00:00"],
        ),
        # every 15 minutes from 8 to 9 o'clock
        (
            "cron(0/15 8 * * ? *)",
            "2024-01-01T08:20:00",
            ["2024-01-01T08:30:00+00:00", "2024-01-01T08:45:00+00:00", "2024-01-02T08:00:00+00:00"],
        ),
        # the last day of each month
        (
            "cron(30 23 L * ? *)",
            "2024-01-31T23:30:00",
            ["2024-02-29T23:30:00+00:00", "2024-03-31T23:30:00+00:00", "2024-04-30T23:30:00+00:00"],
        ),
        # the weekday nearest the 1st and the 15th (never leaving the month)
        (
            "cron(0 12 1W,15W * ? *)",
            "2024-06-01T00:00:00",  # June 1st 2024 is a Saturday -> Monday 3rd; the 15th a Saturday -> 14th
            ["2024-06-03T12:00:00+00:00", "2024-06-14T12:00:00+00:00", "2024-07-01T12:00:00+00:00"],
        ),
        # the last weekday of the month
        (
            "cron(0 18 LW * ? *)",
            "2024-08-01T00:00:00",
            ["2024-08-30T18:00:00+00:00", "2024-09-30T18:00:00+00:00"],
        ),
        # the second Tuesday (3#2) and the last Friday (6L) of each month
        (
            "cron(0 6 ? * 3#2 *)",
            "2024-01-01T00:00:00",
            ["2024-01-09T06:00:00+00:00", "2024-02-13T06:00:00+00:00"],
        ),
        (
            "cron(0 6 ? * 6L *)",
            "2024-01-01T00:00:00",
            ["2024-01-26T06:00:00+00:00", "2024-02-23T06:00:00+00:00"],
        ),
        # SUN is 1; names and numbers mix
        (
            "cron(0 0 ? JAN,JUL 1 *)",
            "2024-01-01T00:00:00",
            ["2024-01-07T00:00:00+00:00", "2024-01-14T00:00:00+00:00"],
        ),
        # a year list ends the schedule
        ("cron(0 0 1 1 ? 2025)", "2024-06-01T00:00:00", ["2025-01-01T00:00:00+00:00"]),
    ],
)
def test_cron_runs_in_utc(schedule: str, after: str, expected: list[str]) -> None:
    assert runs(schedule, after, len(expected) + 1)[: len(expected)] == expected
    if "2025)" in schedule:
        assert runs(schedule, after, 3) == expected  # and nothing after the last year


@pytest.mark.parametrize(
    ("schedule", "tz", "after", "expected"),
    [
        # a daily 09:00 in New York keeps its wall-clock time across the March change
        (
            "cron(0 9 * * ? *)",
            "America/New_York",
            "2024-03-09T12:00:00",
            ["2024-03-10T09:00:00-04:00", "2024-03-11T09:00:00-04:00"],
        ),
        # 02:30 does not exist on 10 March 2024 in New York: that run comes at 03:30 (same instant
        # as 02:30 on the old offset)
        (
            "cron(30 2 * * ? *)",
            "America/New_York",
            "2024-03-09T12:00:00",
            ["2024-03-10T03:30:00-04:00", "2024-03-11T02:30:00-04:00"],
        ),
        # 01:30 happens twice on 3 November 2024: one run, at the first
        (
            "cron(30 1 * * ? *)",
            "America/New_York",
            "2024-11-02T12:00:00",
            ["2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"],
        ),
        # Europe changes on the last Sunday of March
        (
            "cron(0 8 ? * 1 *)",
            "Europe/Paris",
            "2024-03-24T12:00:00",
            ["2024-03-31T08:00:00+02:00", "2024-04-07T08:00:00+02:00"],
        ),
        # at() is read in the time zone
        ("at(2024-07-01T09:30:00)", "Asia/Tokyo", "2024-06-30T00:00:00", ["2024-07-01T09:30:00+09:00"]),
    ],
)
def test_time_zones_and_daylight_saving(schedule: str, tz: str, after: str, expected: list[str]) -> None:
    assert runs(schedule, after, len(expected), tz=tz) == expected


def test_at_runs_once_and_not_in_the_past() -> None:
    assert runs("at(2024-05-01T12:00:00)", "2024-05-01T11:59:00", 3) == ["2024-05-01T12:00:00+00:00"]
    assert runs("at(2024-05-01T12:00:00)", "2024-05-01T12:00:00", 3) == []


def test_rate_counts_from_the_start_time_or_one_period_after_creation() -> None:
    created = epoch("2024-01-01T00:00:00")
    assert runs("rate(5 minutes)", "2024-01-01T00:00:00", 2, created=created) == [
        "2024-01-01T00:05:00+00:00",
        "2024-01-01T00:10:00+00:00",
    ]
    start = epoch("2024-01-01T06:00:00")
    assert runs("rate(1 hour)", "2024-01-01T00:00:00", 2, created=created, start=start) == [
        "2024-01-01T06:00:00+00:00",
        "2024-01-01T07:00:00+00:00",
    ]
    # after a long pause the next run stays on the grid
    assert runs("rate(2 days)", "2024-01-10T01:00:00", 1, created=created) == ["2024-01-11T00:00:00+00:00"]


def test_start_and_end_time_bound_a_cron_schedule() -> None:
    start = epoch("2024-01-03T00:00:00")
    end = epoch("2024-01-04T12:00:00")
    assert runs("cron(0 9 * * ? *)", "2024-01-01T00:00:00", 5, start=start, end=end) == [
        "2024-01-03T09:00:00+00:00",
        "2024-01-04T09:00:00+00:00",
    ]


@pytest.mark.parametrize(
    ("schedule", "reason"),
    [
        ("cron(0 9 * * MON-FRI *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 9 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 9 * * ?)", "a cron expression needs 6 fields, found 5"),
        ("cron(60 9 * * ? *)", "60 is out of range for the minutes field (0-59)"),
        ("cron(0 24 * * ? *)", "24 is out of range for the hours field (0-23)"),
        ("cron(0 9 32 * ? *)", "32 is out of range for the day-of-month field (1-31)"),
        ("cron(0 9 ? * 8 *)", "8 is out of range for the day-of-week field (1-7)"),
        ("cron(0 9 ? FOO * *)", "'FOO' is not a valid value for the month field"),
        ("cron(0 9 1 * ? 1969)", "1969 is out of range for the year field (1970-2199)"),
        ("cron(0 17-9 * * ? *)", "the range 17-9 in the hours field runs backwards"),
        ("cron(0 9 ? * 2#1,3#1 *)", "a '#' day-of-week expression cannot be combined with other values"),
    ],
)
def test_bad_cron_expressions_say_why(schedule: str, reason: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(schedule)
    assert str(caught.value) == f"{schedule} is not a valid cron expression: {reason}"


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("rate(0 minutes)", "rate(0 minutes) is not a valid rate expression: the value must be positive"),
        ("rate(5 weeks)", "rate(5 weeks) is not a valid rate expression: use rate(value unit)"),
        ("at(2024-02-30T00:00:00)", "at(2024-02-30T00:00:00) is not a valid date and time"),
        ("every day", "every day is not a valid schedule: use at(...), rate(...) or cron(...)"),
        ("0 9 * * *", "0 9 * * * is not a valid schedule: use at(...), rate(...) or cron(...)"),
    ],
)
def test_bad_schedules(schedule: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(schedule)
    assert str(caught.value) == message


def test_unknown_time_zone() -> None:
    with pytest.raises(ScheduleError) as caught:
        zone("Mars/Olympus_Mons")
    assert str(caught.value) == "Mars/Olympus_Mons is not a valid time zone"
    assert zone(None).key == "UTC"
    assert datetime.fromtimestamp(0, zone("UTC")) == datetime(1970, 1, 1, tzinfo=UTC)
