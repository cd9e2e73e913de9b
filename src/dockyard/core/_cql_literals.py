"""Literal values of the cluster query language: numbers, agent versions, dates, Java-style regexes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import lru_cache

from dockyard.core._cql_lexer import CQLError

__all__ = ["integer", "number", "version", "timestamp", "regex"]


def integer(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise CQLError(f"runningTasksCount must be compared with a whole number, not '{text}'.")
    return int(text)


def number(text: str) -> float | None:
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
        return None
    return float(text)


_VERSION = re.compile(r"v?(\d+(?:\.\d+)*)")


def version(text: str, *, strict: bool) -> tuple[int, ...]:
    """`1.14.5` -> (1, 14, 5, 0); trailing zeros are padded so 1.14 == 1.14.0."""
    found = _VERSION.fullmatch(text) if strict else _VERSION.match(text)
    if found is None:
        if strict:
            raise CQLError(f"'{text}' is not a valid agent version.")
        return ()
    parts = tuple(int(p) for p in found.group(1).split("."))
    return parts + (0,) * (4 - len(parts)) if len(parts) < 4 else parts


def timestamp(text: str) -> tuple[float, bool]:
    """An epoch for a CQL date: `2018-06-18`, `2018-06-18T22:28:28`, with `Z` or `+00:00`."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise CQLError(f"'{text}' is not a valid date.") from exc
        return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp(), True
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})?", text):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise CQLError(f"'{text}' is not a valid date.") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp(), False
    raise CQLError(
        f"'{text}' is not a valid date; use 2018-06-18, 2018-06-18T22:28:28, "
        "2018-06-18T22:28:28Z or 2018-06-18T22:28:28+00:00."
    )


@lru_cache(maxsize=512)
def regex(pattern: str) -> re.Pattern[str]:
    """Compile a Java-style regular expression (`\\Q...\\E` quoting included) for full matching."""
    translated = re.sub(r"\\Q(.*?)(?:\\E|$)", lambda m: re.escape(m.group(1)), pattern, flags=re.DOTALL)
    try:
        return re.compile(translated)
    except re.error as exc:
        raise CQLError(f"'{pattern}' is not a valid regular expression: {exc}.") from exc
