"""Filter patterns of FilterLogEvents (no I/O): parse once, then match messages.

```
""  or blanks               every event
ERROR Exception              both terms (case-sensitive substrings)
"Failed to process"          an exact phrase
ERROR -Exiting               ERROR and not Exiting (also -"a phrase", - "a phrase")
?ERROR ?WARN                 either term (with plain terms too: those and one of these)
%[Ee]rror%                   a regular expression (letters, digits and :_#=@/;,- ^$?[]{}|\\*+.)
{ $.level = "error" }        a JSON pattern            (filter_json)
[ip, user, ..., status=5*]   a space-delimited pattern (filter_space)
```
Unquoted terms may hold letters, digits, `_`, `-` and `.`; others must be quoted, else
`Invalid filter pattern: Invalid character(s) in term '<term>'`.

Term patterns compile to SQL (`instr`, evaluated by SQLite next to the index walk); regular
expressions, JSON and space-delimited patterns to a predicate run on each candidate message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dockyard.services.logs.event_reads import FilterCondition
from dockyard.services.logs.filter_json import parse_json_pattern
from dockyard.services.logs.filter_space import parse_space_pattern
from dockyard.services.logs.filter_values import InvalidFilterPattern, regex

__all__ = ["FilterPattern", "InvalidFilterPattern", "parse_filter_pattern"]

_BARE = re.compile(r"[\w.\-]+")


@dataclass(frozen=True, slots=True)
class _Term:
    text: str = ""
    pattern: re.Pattern[str] | None = None

    def found(self, message: str) -> bool:
        if self.pattern is not None:
            return self.pattern.search(message) is not None
        return self.text in message


@dataclass(frozen=True, slots=True)
class FilterPattern:
    """A parsed pattern: `matches(message)` in Python, `condition` for the event database."""

    required: tuple[_Term, ...] = ()
    excluded: tuple[_Term, ...] = ()
    optional: tuple[_Term, ...] = ()
    predicate: Callable[[str], bool] | None = None
    condition: FilterCondition = field(default_factory=FilterCondition)

    def matches(self, message: str) -> bool:
        if self.predicate is not None and not self.predicate(message):
            return False
        if not all(term.found(message) for term in self.required):
            return False
        if any(term.found(message) for term in self.excluded):
            return False
        return not self.optional or any(term.found(message) for term in self.optional)


def parse_filter_pattern(text: str | None) -> FilterPattern:
    """Parse a pattern; raises InvalidFilterPattern (its `str()` is AWS's message)."""
    stripped = (text or "").strip()
    if not stripped:
        return FilterPattern()
    if stripped.startswith("{"):
        return _predicate_only(parse_json_pattern(stripped))
    if stripped.startswith("["):
        return _predicate_only(parse_space_pattern(stripped))
    return _terms(stripped)


def _predicate_only(predicate: Callable[[str], bool]) -> FilterPattern:
    return FilterPattern(predicate=predicate, condition=FilterCondition(predicate=predicate))


def _quoted(text: str, at: int) -> tuple[str, int]:
    """The phrase of a quoted term starting at `text[at]` (a `"`), and where it ends."""
    chars: list[str] = []
    at += 1
    while at < len(text):
        char = text[at]
        if char == "\\" and at + 1 < len(text):
            chars.append(text[at + 1])
            at += 2
            continue
        if char == '"':
            return "".join(chars), at + 1
        chars.append(char)
        at += 1
    raise InvalidFilterPattern()


def _terms(text: str) -> FilterPattern:
    groups: dict[str, list[_Term]] = {"": [], "-": [], "?": []}
    at = 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        kind = ""
        if text[at] in "-?":
            kind = text[at]
            at += 1
            while at < len(text) and text[at].isspace():
                at += 1
            if at >= len(text):
                raise InvalidFilterPattern()
        if text[at] == '"':
            phrase, end = _quoted(text, at)
            if not phrase:
                raise InvalidFilterPattern("Invalid character(s) in term '\"\"'")
            at = end
            if phrase.strip():
                groups[kind].append(_Term(phrase))
            continue
        end = at
        while end < len(text) and not text[end].isspace():
            end += 1
        word = text[at:end]
        at = end
        if len(word) > 1 and word.startswith("%") and word.endswith("%"):
            groups[kind].append(_Term(pattern=regex(word[1:-1])))
        elif _BARE.fullmatch(word):
            groups[kind].append(_Term(word))
        else:
            raise InvalidFilterPattern(f"Invalid character(s) in term '{word}'")
    return _compile(tuple(groups[""]), tuple(groups["-"]), tuple(groups["?"]))


def _absent(term: _Term) -> Callable[[str], bool]:
    return lambda message: not term.found(message)


def _compile(
    required: tuple[_Term, ...], excluded: tuple[_Term, ...], optional: tuple[_Term, ...]
) -> FilterPattern:
    clauses: list[str] = []
    params: list[str] = []
    python: list[Callable[[str], bool]] = []
    for term in required:
        if term.pattern is None:
            clauses.append("instr(message, ?) > 0")
            params.append(term.text)
        else:
            python.append(term.found)
    for term in excluded:
        if term.pattern is None:
            clauses.append("instr(message, ?) = 0")
            params.append(term.text)
        else:
            python.append(_absent(term))
    if optional:
        if all(term.pattern is None for term in optional):
            clauses.append("(" + " OR ".join("instr(message, ?) > 0" for _ in optional) + ")")
            params += [term.text for term in optional]
        else:
            python.append(lambda message: any(t.found(message) for t in optional))

    def predicate(message: str) -> bool:
        return all(check(message) for check in python)

    condition = FilterCondition(
        sql=" AND ".join(clauses) or "1", params=tuple(params), predicate=predicate if python else None
    )
    return FilterPattern(required, excluded, optional, condition=condition)
