"""What the three kinds of filter pattern share (no I/O): the error, literal values and how a
value is compared with a field.

A value in a JSON or space-delimited pattern is a quoted or bare string (a `*` at its start or
end is a wildcard; one in the middle is a literal character, as AWS documents), a number, or a
`%regex%`. `=`/`!=` compare strings (numbers numerically when both sides are numbers);
`<`, `<=`, `>`, `>=` need a number on both sides.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["COMPARISONS", "InvalidFilterPattern", "Value", "compare", "parse_number", "regex"]

COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")

#: Characters a %regex% may hold besides letters and digits (AWS's list, plus the space).
_REGEX_CHARS = set(":_#=@/;,- ^$?[]{}|\\*+.")


class InvalidFilterPattern(ValueError):
    """The pattern is not valid; `str()` is AWS's message."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(f"Invalid filter pattern: {detail}" if detail else "Invalid filter pattern")


def regex(body: str) -> re.Pattern[str]:
    """A `%regex%` body, checked against the characters AWS allows (no groups)."""
    if not body or any(not (c.isascii() and c.isalnum()) and c not in _REGEX_CHARS for c in body):
        raise InvalidFilterPattern()
    try:
        return re.compile(body)
    except re.error:
        raise InvalidFilterPattern() from None


def parse_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True, slots=True)
class Value:
    """The right-hand side of a comparison."""

    text: str
    quoted: bool = False
    pattern: re.Pattern[str] | None = None  # %regex%

    @property
    def number(self) -> float | None:
        return None if self.quoted or self.pattern is not None else parse_number(self.text)

    def matches_text(self, candidate: str) -> bool:
        if self.pattern is not None:
            return self.pattern.search(candidate) is not None
        text = self.text
        if text == "*":
            return True
        starts, ends = text.startswith("*"), text.endswith("*") and len(text) > 1
        core = text[1 if starts else 0 : len(text) - 1 if ends else len(text)]
        if starts and ends:
            return core in candidate
        if starts:
            return candidate.endswith(core)
        if ends:
            return candidate.startswith(core)
        return candidate == text


def compare(candidate: str | float | None, op: str, value: Value) -> bool:
    """`candidate op value`; `candidate` is a field's text, or a number for JSON numbers."""
    if candidate is None:
        return False
    if op in ("=", "!="):
        expected = value.number
        if isinstance(candidate, float) and expected is not None:
            equal = candidate == expected
        elif (
            expected is not None
            and value.pattern is None
            and (number := parse_number(str(candidate))) is not None
        ):
            equal = number == expected
        else:
            equal = value.matches_text(_text(candidate))
        return equal if op == "=" else not equal
    expected = value.number
    actual = candidate if isinstance(candidate, float) else parse_number(candidate)
    if expected is None or actual is None:
        return False
    return {
        "<": actual < expected,
        "<=": actual <= expected,
        ">": actual > expected,
        ">=": actual >= expected,
    }[op]


def _text(candidate: str | float) -> str:
    if isinstance(candidate, float) and candidate.is_integer():
        return str(int(candidate))
    return str(candidate)
