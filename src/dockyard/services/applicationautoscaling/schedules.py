"""Scheduled-action schedules: `at(...)`, `rate(...)` and `cron(...)`, and when each runs next.

```
at(2026-03-08T09:30:00)      once, in the action's Timezone (UTC by default)
rate(5 minutes)              every 5 minutes from StartTime (or from when the action was put)
cron(0 9 ? * MON-FRI *)      cron.py, evaluated in the Timezone, daylight saving included
```
`next_run` answers in epoch seconds and honours StartTime and EndTime. Local times that do not
exist (the hour skipped when clocks go forward) run at the same instant an hour later on the
wall clock; times that happen twice (clocks go back) run once, at the first occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dockyard.services.applicationautoscaling.cron import Cron, CronError, parse_cron

__all__ = ["At", "CronSchedule", "Rate", "Schedule", "ScheduleError", "next_run", "parse_schedule", "zone"]

_AT = re.compile(r"^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MAX_CRON_STEPS = 64  # local times skipped around clock changes before giving up


class ScheduleError(ValueError):
    """The schedule is not valid; the message says why."""


@dataclass(frozen=True, slots=True)
class At:
    local: datetime  # naive, in the action's time zone


@dataclass(frozen=True, slots=True)
class Rate:
    seconds: int


@dataclass(frozen=True, slots=True)
class CronSchedule:
    cron: Cron


Schedule = At | Rate | CronSchedule


def parse_schedule(text: str) -> Schedule:
    at = _AT.match(text)
    if at:
        try:
            year, month, day, hour, minute, second = (int(part) for part in at.groups())
            return At(datetime(year, month, day, hour, minute, second))
        except ValueError as exc:
            raise ScheduleError(f"{text} is not a valid date and time") from exc
    if text.startswith("rate("):
        rate = _RATE.match(text)
        if rate is None:
            raise ScheduleError(f"{text} is not a valid rate expression: use rate(value unit)")
        value = int(rate.group(1))
        if value < 1:
            raise ScheduleError(f"{text} is not a valid rate expression: the value must be positive")
        return Rate(value * _UNIT_SECONDS[rate.group(2).rstrip("s")])
    if text.startswith("cron(") and text.endswith(")"):
        try:
            return CronSchedule(parse_cron(text[5:-1]))
        except CronError as exc:
            raise ScheduleError(f"{text} is not a valid cron expression: {exc}") from exc
    raise ScheduleError(f"{text} is not a valid schedule: use at(...), rate(...) or cron(...)")


def zone(name: str | None) -> ZoneInfo:
    """The IANA time zone `name` (UTC when None)."""
    if name is None:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"{name} is not a valid time zone") from exc


def next_run(
    schedule: Schedule,
    *,
    after: float,
    tz: ZoneInfo,
    created: float,
    start: float | None = None,
    end: float | None = None,
) -> float | None:
    """The first run strictly after `after` (epoch seconds), or None when it will not run again."""
    if isinstance(schedule, At):
        when = _to_epoch(schedule.local, tz)
        found = when if when > after and (start is None or when >= start) else None
    elif isinstance(schedule, Rate):
        found = _next_rate(schedule.seconds, after=after, anchor=start, created=created)
    else:
        found = _next_cron(schedule.cron, after=max(after, start - 1 if start else after), tz=tz)
    if found is None or (end is not None and found > end):
        return None
    return found


def _next_rate(period: int, *, after: float, anchor: float | None, created: float) -> float:
    if anchor is None:
        anchor = created + period  # the first run comes one period after the action was put
    if after < anchor:
        return anchor
    steps = int((after - anchor) // period) + 1
    return anchor + steps * period


def _next_cron(cron: Cron, *, after: float, tz: ZoneInfo) -> float | None:
    local = datetime.fromtimestamp(after, tz).replace(tzinfo=None)
    for _ in range(_MAX_CRON_STEPS):
        candidate = cron.next_after(local)
        if candidate is None:
            return None
        when = _to_epoch(candidate, tz)
        if when > after:
            return when
        local = candidate  # an hour repeated when the clocks went back: look further on
    return None


def _to_epoch(local: datetime, tz: ZoneInfo) -> float:
    """Epoch seconds of a naive local time (fold 0: the first of a repeated hour, and for a
    skipped hour the instant the old offset gives, which the clock shows an hour later)."""
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC).timestamp()
