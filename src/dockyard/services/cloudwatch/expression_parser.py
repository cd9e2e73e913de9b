"""Metric math syntax: tokens and the parse tree of an expression. Pure.

```
expr   := term (('+' | '-') term)*          term := power (('*' | '/') power)*
power  := unary ('^' power)?                unary := '-' unary | atom
atom   := NUMBER | STRING | ID | FUNC '(' [expr (',' expr)*] ')' | '(' expr ')' | '[' expr, ... ']'
```
`parse` returns the tree (`Num`, `Str`, `Ref`, `Neg`, `Bin`, `Call`, `Array`); `references`
names the query ids an expression uses. Syntax errors are `ExpressionError`s saying where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ExpressionError",
    "Node",
    "Num",
    "Str",
    "Ref",
    "Neg",
    "Bin",
    "Call",
    "Array",
    "parse",
    "references",
]


class ExpressionError(ValueError):
    pass


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|(?P<id>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<str>\"[^\"]*\"|'[^']*')|(?P<op>[-+*/^(),\[\]]))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            position += len(text[position:]) - len(text[position:].lstrip())
            raise ExpressionError(
                f"Syntax error at position {position + 1}: unexpected '{text[position:].strip()[:1]}'."
            )
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


# -- the parse tree ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Num:
    value: float


@dataclass(frozen=True, slots=True)
class Str:
    text: str


@dataclass(frozen=True, slots=True)
class Ref:
    name: str


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Node


@dataclass(frozen=True, slots=True)
class Bin:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Array:
    items: tuple[Node, ...]


Node = Num | Str | Ref | Neg | Bin | Call | Array


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError("Syntax error: the expression ends too early.")
        if value is not None and token[1] != value:
            raise ExpressionError(f"Syntax error: expected '{value}' but found '{token[1]}'.")
        self.i += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("The expression is empty.")
        node = self.expr()
        extra = self.peek()
        if extra is not None:
            raise ExpressionError(f"Syntax error: unexpected '{extra[1]}'.")
        return node

    def expr(self) -> Node:
        node = self.term()
        while (token := self.peek()) is not None and token[1] in "+-" and token[0] == "op":
            self.take()
            node = Bin(token[1], node, self.term())
        return node

    def term(self) -> Node:
        node = self.power()
        while (token := self.peek()) is not None and token[1] in "*/" and token[0] == "op":
            self.take()
            node = Bin(token[1], node, self.power())
        return node

    def power(self) -> Node:
        node = self.unary()
        token = self.peek()
        if token is not None and token == ("op", "^"):
            self.take()
            return Bin("^", node, self.power())
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token == ("op", "-"):
            self.take()
            return Neg(self.unary())
        return self.atom()

    def atom(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            return Num(float(text))
        if kind == "str":
            return Str(text[1:-1])
        if kind == "id":
            if self.peek() == ("op", "("):
                self.take()
                args: list[Node] = []
                if self.peek() != ("op", ")"):
                    args.append(self.expr())
                    while self.peek() == ("op", ","):
                        self.take()
                        args.append(self.expr())
                self.take(")")
                return Call(text, tuple(args))
            return Ref(text)
        if text == "(":
            node = self.expr()
            self.take(")")
            return node
        if text == "[":
            items = [self.expr()]
            while self.peek() == ("op", ","):
                self.take()
                items.append(self.expr())
            self.take("]")
            return Array(tuple(items))
        raise ExpressionError(f"Syntax error: unexpected '{text}'.")


def references(expression: str) -> set[str]:
    """The query ids an expression names (for ordering and cycle checks)."""
    found: set[str] = set()

    def walk(node: Node) -> None:
        if isinstance(node, Ref):
            found.add(node.name)
        elif isinstance(node, Neg):
            walk(node.operand)
        elif isinstance(node, Bin):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, Call | Array):
            for item in node.args if isinstance(node, Call) else node.items:
                walk(item)

    walk(parse(expression))
    return found


def parse(expression: str) -> Node:
    return _Parser(expression).parse()
