"""JSON filter patterns (no I/O): `{ $.level = "error" && ($.latency > 50 || $.retry IS TRUE) }`.

```
pattern    := '{' expression '}'
expression := conjunct ('||' conjunct)*            && binds tighter than ||
conjunct   := primary ('&&' primary)*
primary    := '(' expression ')' | selector test
test       := op value | IS NULL | IS TRUE | IS FALSE | EXISTS | NOT EXISTS
selector   := '$' ('.' name | '[' index ']')*       name: letters, digits, '_', '-', '@'
```
A comparison holds only when the selector reaches a value (string, number, boolean, null): one
that reaches an object or an array, or nothing, matches neither `=` nor `!=`. A message that is
not a JSON object or array matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from dockyard.services.logs.filter_values import COMPARISONS, InvalidFilterPattern, Value, compare, regex

__all__ = ["parse_json_pattern"]

Test = Callable[[Any], bool]
_MISSING = object()

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<regex>%[^%]*%)
    | (?P<op>&&|\|\||!=|<=|>=|[=<>(){}])
    | (?P<word>[^\s(){}=<>!&|"]+)
    )""",
    re.VERBOSE,
)
_SELECTOR = re.compile(r"\$((?:\.[A-Za-z0-9_\-@]+|\[\d+\])*)")
_STEP = re.compile(r"\.([A-Za-z0-9_\-@]+)|\[(\d+)\]")


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise InvalidFilterPattern()
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self._tokens = tokens
        self._at = 0

    def peek(self) -> tuple[str, str] | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise InvalidFilterPattern()
        self._at += 1
        return token

    def expect(self, text: str) -> None:
        if self.take()[1] != text:
            raise InvalidFilterPattern()

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].upper() in words:
            self._at += 1
            return True
        return False

    def pattern(self) -> Test:
        self.expect("{")
        test = self.expression()
        self.expect("}")
        if self.peek() is not None:
            raise InvalidFilterPattern()
        return test

    def expression(self) -> Test:
        parts = [self.conjunct()]
        while self.peek() == ("op", "||"):
            self._at += 1
            parts.append(self.conjunct())
        return parts[0] if len(parts) == 1 else (lambda doc: any(part(doc) for part in parts))

    def conjunct(self) -> Test:
        parts = [self.primary()]
        while self.peek() == ("op", "&&"):
            self._at += 1
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else (lambda doc: all(part(doc) for part in parts))

    def primary(self) -> Test:
        if self.peek() == ("op", "("):
            self._at += 1
            test = self.expression()
            self.expect(")")
            return test
        kind, text = self.take()
        if kind != "word":
            raise InvalidFilterPattern()
        steps = _selector(text)
        return self.test(steps)

    def test(self, steps: list[str | int]) -> Test:
        if self.keyword("IS"):
            for word, expected in (("NULL", None), ("TRUE", True), ("FALSE", False)):
                if self.keyword(word):
                    return _is_test(steps, expected)
            raise InvalidFilterPattern()
        if self.keyword("EXISTS"):
            return lambda doc: _reach(doc, steps) is not _MISSING
        if self.keyword("NOT"):
            if not self.keyword("EXISTS"):
                raise InvalidFilterPattern()
            return lambda doc: _reach(doc, steps) is _MISSING
        kind, op = self.take()
        if kind != "op" or op not in COMPARISONS:
            raise InvalidFilterPattern()
        value = self.value()
        if op not in ("=", "!=") and value.number is None:
            raise InvalidFilterPattern()
        return lambda doc: _compare(_reach(doc, steps), op, value)

    def value(self) -> Value:
        kind, text = self.take()
        if kind == "string":
            return Value(_unquote(text), quoted=True)
        if kind == "regex":
            return Value(text, pattern=regex(text[1:-1]))
        if kind == "word":
            return Value(text)
        raise InvalidFilterPattern()


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _selector(text: str) -> list[str | int]:
    match = _SELECTOR.fullmatch(text)
    if match is None:
        raise InvalidFilterPattern()
    return [name if name else int(index) for name, index in _STEP.findall(match.group(1))]


def _reach(doc: Any, steps: list[str | int]) -> Any:
    node = doc
    for step in steps:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return _MISSING
            node = node[step]
        else:
            if not isinstance(node, dict) or step not in node:
                return _MISSING
            node = node[step]
    return node


def _is_test(steps: list[str | int], expected: bool | None) -> Test:
    return lambda doc: _reach(doc, steps) is expected


def _compare(node: Any, op: str, value: Value) -> bool:
    if node is _MISSING or isinstance(node, (dict, list)):
        return False
    if isinstance(node, bool):
        return compare("true" if node else "false", op, value)
    if node is None:
        return compare("null", op, value)
    if isinstance(node, (int, float)):
        return compare(float(node), op, value)
    return compare(str(node), op, value)


def parse_json_pattern(text: str) -> Callable[[str], bool]:
    """A predicate on messages for a `{ ... }` pattern; InvalidFilterPattern when malformed."""
    test = _Parser(_tokens(text)).pattern()

    def matches(message: str) -> bool:
        stripped = message.lstrip()
        if not stripped or stripped[0] not in "{[":
            return False
        try:
            doc = orjson.loads(message)
        except orjson.JSONDecodeError:
            return False
        return test(doc)

    return matches
