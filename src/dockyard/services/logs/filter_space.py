"""Space-delimited filter patterns (no I/O): `[ip, user, ..., status_code = 4* && bytes > 1000]`.

A message is split into fields at spaces; text between double quotes or square brackets is one
field (without them). The pattern names the fields in order; `...` stands for any number of
fields (several may be used) and an empty entry for one field without a name. Each entry is a
field name, optionally with conditions joined by `&&` and `||` (`&&` binds tighter) that may
name any field of the pattern:

```
[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes > 1000]
[w1 = ERROR || w1 = WARN, w2]
[..., status_code != 200, bytes]
[..., request = *.html*, status_code = 4*,]      the last field is left unnamed
```
Without `...` the message must have exactly as many fields as the pattern names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dockyard.services.logs.filter_values import COMPARISONS, InvalidFilterPattern, Value, compare, regex

__all__ = ["parse_space_pattern", "split_fields"]

Condition = Callable[[Mapping[str, str]], bool]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<regex>%[^%]*%)
    | (?P<op>&&|\|\||!=|<=|>=|[=<>])
    | (?P<word>[^\s"=<>!&|]+)
    )""",
    re.VERBOSE,
)
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_\-$]*")


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str | None  # None: `...` (or a field without a name, when `single`)
    condition: Condition | None = None
    single: bool = False


def split_fields(message: str) -> list[str]:
    fields: list[str] = []
    at, size = 0, len(message)
    while at < size:
        while at < size and message[at].isspace():
            at += 1
        if at >= size:
            break
        closer = {'"': '"', "[": "]"}.get(message[at])
        if closer is not None:
            end = message.find(closer, at + 1)
            if end >= 0:
                fields.append(message[at + 1 : end])
                at = end + 1
                continue
        end = at
        while end < size and not message[end].isspace():
            end += 1
        fields.append(message[at:end])
        at = end
    return fields


def _entries(body: str) -> list[str]:
    """Split the inside of `[...]` at commas outside quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in body:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if quoted:
        raise InvalidFilterPattern()
    parts.append("".join(current).strip())
    if not any(parts):
        raise InvalidFilterPattern()
    return parts


def _value(kind: str, text: str) -> Value:
    if kind == "string":
        return Value(re.sub(r"\\(.)", r"\1", text[1:-1]), quoted=True)
    if kind == "regex":
        return Value(text, pattern=regex(text[1:-1]))
    if kind == "word":
        return Value(text)
    raise InvalidFilterPattern()


def _comparison(name: str, op: str, value: Value) -> Condition:
    return lambda fields: compare(fields.get(name), op, value)


def _entry(text: str) -> _Entry:
    if text == "...":
        return _Entry(None)
    if not text:
        return _Entry(None, single=True)
    tokens = [(m.lastgroup or "", m.group(m.lastgroup or "")) for m in _scan(text)]
    if not tokens or tokens[0][0] != "word" or not _NAME.fullmatch(tokens[0][1]):
        raise InvalidFilterPattern()
    name = tokens[0][1]
    if len(tokens) == 1:
        return _Entry(name)
    alternatives: list[list[Condition]] = [[]]
    at = 0
    while at < len(tokens):
        if at + 2 >= len(tokens):
            raise InvalidFilterPattern()
        (kind, field), (_, op), (value_kind, value_text) = tokens[at : at + 3]
        if kind != "word" or not _NAME.fullmatch(field) or op not in COMPARISONS:
            raise InvalidFilterPattern()
        value = _value(value_kind, value_text)
        if op not in ("=", "!=") and value.number is None:
            raise InvalidFilterPattern()
        alternatives[-1].append(_comparison(field, op, value))
        at += 3
        if at < len(tokens):
            joiner = tokens[at][1]
            if joiner == "||":
                alternatives.append([])
            elif joiner != "&&":
                raise InvalidFilterPattern()
            at += 1
            if at >= len(tokens):
                raise InvalidFilterPattern()
    return _Entry(name, lambda fields: any(all(c(fields) for c in group) for group in alternatives))


def _scan(text: str) -> list[re.Match[str]]:
    matches: list[re.Match[str]] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise InvalidFilterPattern()
        matches.append(match)
        at = match.end()
        while at < len(text) and text[at].isspace():
            at += 1
    return matches


def _assign(entries: list[_Entry], fields: list[str], bound: dict[str, str], at: int, field: int) -> bool:
    if at == len(entries):
        return field == len(fields) and all(e.condition is None or e.condition(bound) for e in entries)
    entry = entries[at]
    if entry.name is None and not entry.single:
        return any(_assign(entries, fields, bound, at + 1, k) for k in range(field, len(fields) + 1))
    if field >= len(fields):
        return False
    if entry.name is not None:
        bound[entry.name] = fields[field]
    return _assign(entries, fields, bound, at + 1, field + 1)


def parse_space_pattern(text: str) -> Callable[[str], bool]:
    """A predicate on messages for a `[...]` pattern; InvalidFilterPattern when malformed."""
    stripped = text.strip()
    if not (stripped.startswith("[") and stripped.endswith("]")):
        raise InvalidFilterPattern()
    entries = [_entry(part) for part in _entries(stripped[1:-1])]

    def matches(message: str) -> bool:
        return _assign(entries, split_fields(message), {}, 0, 0)

    return matches
