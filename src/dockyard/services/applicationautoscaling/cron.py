"""AWS's six-field cron expressions: parsing and the next matching minute (pure, no I/O).

```
cron(Minutes Hours Day-of-month Month Day-of-week Year)
      0-59    0-23  1-31 L LW nW 1-12    1-7 (SUN=1) L nL n#k   1970-2199
      , - * /  in every field;  ? in day-of-month or day-of-week (exactly one of them)
```
Month and day-of-week take names (JAN-DEC, SUN-SAT). `L` in day-of-month is the month's last
day, `LW` its last weekday and `15W` the weekday nearest the 15th (never leaving the month); `L`
alone in day-of-week is Saturday, `6L` the month's last Friday and `3#2` its second Tuesday.

`Cron.next_after(moment)` works in the expression's own calendar: it is given and returns naive
local date-times; time zones are applied by the caller (schedules.py).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = ["Cron", "CronError", "parse_cron"]

_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS = {k.upper(): v for k, v in _MONTHS.items()}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_YEARS = (1970, 2199)

DayTest = Callable[[date], bool]


class CronError(ValueError):
    """The expression is not a valid AWS cron expression; the message says why."""


@dataclass(frozen=True, slots=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    day_tests: tuple[DayTest, ...]  # the date matches when any test passes
    months: frozenset[int]
    years: frozenset[int]

    def matches_day(self, day: date) -> bool:
        return day.month in self.months and day.year in self.years and any(t(day) for t in self.day_tests)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first matching minute strictly after `moment` (naive), or None when none is left."""
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        last_year = max(self.years)
        while day.year <= last_year:
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = _first_of_next_month(day)
                continue
            if self.matches_day(day):
                found = self._first_time(day, start)
                if found is not None:
                    return found
            day += timedelta(days=1)
        return None

    def _first_time(self, day: date, start: datetime) -> datetime | None:
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                candidate = datetime(day.year, day.month, day.day, hour, minute)
                if candidate >= start:
                    return candidate
        return None


def parse_cron(fields: str) -> Cron:
    """Parse what is between `cron(` and `)`."""
    parts = fields.split()
    if len(parts) != 6:
        raise CronError(f"a cron expression needs 6 fields, found {len(parts)}")
    minute, hour, dom, month, dow, year = parts
    if (dom == "?") == (dow == "?"):
        raise CronError("exactly one of day-of-month and day-of-week must be '?'")
    day_tests = _day_of_month(dom) if dow == "?" else _day_of_week(dow)
    return Cron(
        minutes=_numbers(minute, "minutes", 0, 59),
        hours=_numbers(hour, "hours", 0, 23),
        day_tests=day_tests,
        months=_numbers(month, "month", 1, 12, names=_MONTHS),
        years=_numbers(year, "year", *_YEARS),
    )


def _numbers(
    field: str, what: str, low: int, high: int, *, names: dict[str, int] | None = None
) -> frozenset[int]:
    values: set[int] = set()
    for item in field.split(","):
        values |= _item(item, what, low, high, names)
    return frozenset(values)


def _item(item: str, what: str, low: int, high: int, names: dict[str, int] | None) -> set[int]:
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        step = _number(step_text, what, 1, high - low + 1, None)
    if base == "*":
        first, last = low, high
    elif "-" in base:
        a, _, b = base.partition("-")
        first, last = _number(a, what, low, high, names), _number(b, what, low, high, names)
        if first > last:
            raise CronError(f"the range {base} in the {what} field runs backwards")
    else:
        first = _number(base, what, low, high, names)
        last = high if slash else first
    return set(range(first, last + 1, step))


def _number(text: str, what: str, low: int, high: int, names: dict[str, int] | None) -> int:
    if names is not None and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise CronError(f"{text!r} is not a valid value for the {what} field")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{value} is out of range for the {what} field ({low}-{high})")
    return value


def _day_of_month(field: str) -> tuple[DayTest, ...]:
    tests: list[DayTest] = []
    numbers: set[int] = set()
    for item in field.split(","):
        upper = item.upper()
        if upper == "L":
            tests.append(lambda d: d.day == _month_length(d))
        elif upper == "LW":
            tests.append(lambda d: d == _last_weekday(d.year, d.month))
        elif upper.endswith("W") and upper[:-1].isdigit():
            target = _number(upper[:-1], "day-of-month", 1, 31, None)
            tests.append(_nearest_test(target))
        else:
            numbers |= _item(item, "day-of-month", 1, 31, None)
    if numbers:
        wanted = frozenset(numbers)
        tests.append(lambda d: d.day in wanted)
    return tuple(tests)


def _day_of_week(field: str) -> tuple[DayTest, ...]:
    tests: list[DayTest] = []
    numbers: set[int] = set()
    items = field.split(",")
    for item in items:
        upper = item.upper()
        if "#" in upper:
            if len(items) > 1:
                raise CronError("a '#' day-of-week expression cannot be combined with other values")
            day_text, _, nth_text = upper.partition("#")
            weekday = _number(day_text, "day-of-week", 1, 7, _DAYS)
            nth = _number(nth_text, "day-of-week", 1, 5, None)
            tests.append(_nth_test(weekday, nth))
        elif upper == "L":
            numbers.add(7)
        elif upper.endswith("L"):
            weekday = _number(upper[:-1], "day-of-week", 1, 7, _DAYS)
            tests.append(_last_of_month_test(weekday))
        else:
            numbers |= _item(upper, "day-of-week", 1, 7, _DAYS)
    if numbers:
        wanted = frozenset(numbers)
        tests.append(lambda d: _aws_weekday(d) in wanted)
    return tuple(tests)


def _nearest_test(target: int) -> DayTest:
    return lambda d: d == _nearest_weekday(d.year, d.month, target)


def _nth_test(weekday: int, nth: int) -> DayTest:
    return lambda d: _aws_weekday(d) == weekday and (d.day - 1) // 7 + 1 == nth


def _last_of_month_test(weekday: int) -> DayTest:
    return lambda d: _aws_weekday(d) == weekday and d.day + 7 > _month_length(d)


def _aws_weekday(day: date) -> int:
    """1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _month_length(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _last_weekday(year: int, month: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    while last.weekday() >= 5:
        last -= timedelta(days=1)
    return last


def _nearest_weekday(year: int, month: int, target: int) -> date | None:
    """The weekday nearest the `target`th, within the month (None when the month is shorter)."""
    length = calendar.monthrange(year, month)[1]
    if target > length:
        return None
    day = date(year, month, target)
    if day.weekday() == 5:  # Saturday: Friday before, or Monday after when the 1st
        return day - timedelta(days=1) if target > 1 else day + timedelta(days=2)
    if day.weekday() == 6:  # Sunday: Monday after, or Friday before when the last day
        return day + timedelta(days=1) if target < length else day - timedelta(days=2)
    return day


def _first_of_next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)
