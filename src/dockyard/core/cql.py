"""The ECS cluster query language (CQL): parse an expression once, evaluate it against instances.

Used by `ListContainerInstances(filter=...)` and by `memberOf` placement constraints. Pure: no I/O.

```
"attribute:ecs.instance-type =~ t2.* and not(task:group == db)"
   -> tokens -> parse (or < and < not/parens < term) -> Expr tree (Term predicates built once)
   -> expr.evaluate(InstanceView) -> bool
```

Grammar (reference §5.3; operators and their word synonyms are interchangeable):

    expr  := and (("||" | "or") and)*
    and   := unary (("&&" | "and") unary)*
    unary := ("!" | "not") unary | "(" expr ")" | term
    term  := subject op [argument]          exists / !exists take no argument
    argument := literal | "[" literal ("," literal)* "]"   lists only for in / !in

Literals are bare words or single/double-quoted strings. `=~` / `!~` take a Java-style regular
expression that must match the whole value (`t2.*` matches `t2.micro`). Which operators a subject
accepts follows the ECS documentation; a mistake is a `CQLError` with a message for the caller.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from dockyard.core import _cql_lexer as lexer
from dockyard.core import _cql_literals as literals
from dockyard.core._cql_lexer import CQLError, Token

__all__ = ["CQLError", "InstanceView", "Expr", "Term", "Not", "And", "Or", "parse", "matches"]


@dataclass(frozen=True, slots=True)
class InstanceView:
    """What a CQL expression can see of a container instance."""

    attributes: Mapping[str, str | None]
    ec2_instance_id: str = ""
    registered_at: float = 0.0
    running_tasks_count: int = 0
    agent_connected: bool = True
    agent_version: str | None = None
    task_groups: frozenset[str] = frozenset()


Predicate = Callable[[InstanceView], bool]


@dataclass(frozen=True, slots=True)
class Term:
    # agentConnected, agentVersion, ec2InstanceId, registeredAt, runningTasksCount, task:group, attribute
    subject: str
    name: str | None  # the attribute name for `attribute:NAME`
    op: str  # canonical: == != > >= < <= exists !exists in !in =~ !~
    args: tuple[str, ...]
    test: Predicate = field(compare=False, repr=False)

    def evaluate(self, view: InstanceView) -> bool:
        return self.test(view)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr

    def evaluate(self, view: InstanceView) -> bool:
        return not self.operand.evaluate(view)


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Expr, ...]

    def evaluate(self, view: InstanceView) -> bool:
        return all(o.evaluate(view) for o in self.operands)


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Expr, ...]

    def evaluate(self, view: InstanceView) -> bool:
        return any(o.evaluate(view) for o in self.operands)


Expr = Term | Not | And | Or

_ORDER = frozenset({">", ">=", "<", "<="})
_EQUALITY = frozenset({"==", "!="})
_MEMBERSHIP = frozenset({"in", "!in"})
_REGEX = frozenset({"=~", "!~"})
_EXISTENCE = frozenset({"exists", "!exists"})
_ALL = _ORDER | _EQUALITY | _MEMBERSHIP | _REGEX | _EXISTENCE

_VALID_OPS: dict[str, frozenset[str]] = {
    "agentConnected": _EQUALITY | _MEMBERSHIP | _REGEX,
    "ec2InstanceId": _EQUALITY | _MEMBERSHIP | _REGEX,
    "agentVersion": _EQUALITY | _ORDER,
    "registeredAt": _EQUALITY | _ORDER,
    "runningTasksCount": _EQUALITY | _ORDER,
    "task:group": _ALL,
    "attribute": _ALL,
}
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_./\\-]{1,128}")


# parsing --------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def parse(text: str) -> Expr:
    """Parse a CQL expression (cached: the same text is parsed once)."""
    parser = _Parser(lexer.tokenize(text))
    expr = parser.expression()
    token = parser.peek()
    if token.kind != "END":
        raise CQLError(f"Unexpected '{token.text}' at position {token.pos + 1} of the expression.")
    return expr


def matches(text: str, view: InstanceView) -> bool:
    return parse(text).evaluate(view)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._i = 0

    def peek(self) -> Token:
        return self._tokens[self._i]

    def _next(self) -> Token:
        token = self._tokens[self._i]
        if token.kind != "END":
            self._i += 1
        return token

    def expression(self) -> Expr:
        operands = [self._and()]
        while self._is_keyword(self.peek(), "||", "or"):
            self._next()
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _and(self) -> Expr:
        operands = [self._unary()]
        while self._is_keyword(self.peek(), "&&", "and"):
            self._next()
            operands.append(self._unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _unary(self) -> Expr:
        token = self.peek()
        if self._is_keyword(token, "!", "not"):
            self._next()
            return Not(self._unary())
        if token.kind == "(":
            self._next()
            inner = self.expression()
            closing = self._next()
            if closing.kind != ")":
                raise CQLError(f"Expected ')' at position {closing.pos + 1} of the expression.")
            return inner
        return self._term()

    @staticmethod
    def _is_keyword(token: Token, symbol: str, word: str) -> bool:
        if token.kind == "OP":
            return token.text == symbol
        return token.kind == "WORD" and token.text.lower() == word

    def _term(self) -> Term:
        token = self._next()
        if token.kind == "END":
            raise CQLError("The expression ended where a subject was expected.")
        if token.kind != "WORD":
            raise CQLError(
                f"Expected a subject at position {token.pos + 1} of the expression, found '{token.text}'."
            )
        subject, name = _subject(token.text)
        op = self._operator(token.text)
        if op not in _VALID_OPS[subject]:
            raise CQLError(f"The operator '{op}' is not valid for the subject '{token.text}'.")
        args = self._arguments(op)
        return Term(subject, name, op, args, _predicate(subject, name, op, args))

    def _operator(self, subject: str) -> str:
        token = self._next()
        if token.kind == "OP" and token.text == "!":
            word = self._next()
            if word.kind == "WORD" and word.text.lower() in ("exists", "in"):
                return "!" + word.text.lower()
            raise CQLError(f"Expected an operator after '{subject}'.")
        if token.kind == "OP" and token.text in _ALL:
            return token.text
        if token.kind == "WORD" and token.text.lower() in lexer.OPERATOR_WORDS:
            return lexer.OPERATOR_WORDS[token.text.lower()]
        found = "the end of the expression" if token.kind == "END" else f"'{token.text}'"
        raise CQLError(f"Expected an operator after '{subject}', found {found}.")

    def _arguments(self, op: str) -> tuple[str, ...]:
        if op in _EXISTENCE:
            return ()
        token = self._next()
        if op in _MEMBERSHIP:
            if token.kind != "[":
                raise CQLError(f"The operator '{op}' expects an argument list: [value1, value2, ...].")
            items = [self._literal(self._next())]
            while self.peek().kind == ",":
                self._next()
                items.append(self._literal(self._next()))
            closing = self._next()
            if closing.kind != "]":
                raise CQLError(f"Expected ']' at position {closing.pos + 1} of the expression.")
            return tuple(items)
        if token.kind == "[":
            raise CQLError(f"The operator '{op}' does not accept an argument list.")
        return (self._literal(token),)

    @staticmethod
    def _literal(token: Token) -> str:
        if token.kind in ("WORD", "STRING"):
            return token.text
        if token.kind == "END":
            raise CQLError("The expression ended where a value was expected.")
        raise CQLError(
            f"Expected a value at position {token.pos + 1} of the expression, found '{token.text}'."
        )


def _subject(text: str) -> tuple[str, str | None]:
    if text.startswith("attribute:"):
        name = text[len("attribute:") :]
        if not _ATTRIBUTE_NAME.fullmatch(name):
            raise CQLError(f"'{name}' is not a valid attribute name.")
        return "attribute", name
    if text in _VALID_OPS and text != "attribute":
        return text, None
    raise CQLError(f"Unknown subject '{text}'.")


# predicates -----------------------------------------------------------------------------------


def _predicate(subject: str, name: str | None, op: str, args: tuple[str, ...]) -> Predicate:
    if subject == "attribute":
        assert name is not None
        return _attribute_predicate(name, op, args)
    if subject == "task:group":
        return _group_predicate(op, args)
    if subject == "runningTasksCount":
        target = literals.integer(args[0])
        return _ordered(lambda v: v.running_tasks_count, op, target)
    if subject == "agentVersion":
        version = literals.version(args[0], strict=True)
        compare = _COMPARE[op]

        def by_version(v: InstanceView) -> bool:
            mine = literals.version(v.agent_version or "", strict=False)
            return bool(mine) and compare(mine, version)

        return by_version
    if subject == "registeredAt":
        return _registered_at_predicate(op, args[0])
    if subject == "agentConnected":
        if op not in _REGEX:
            for arg in args:
                if arg.lower() not in ("true", "false"):
                    raise CQLError(f"agentConnected must be compared with true or false, not '{arg}'.")
            args = tuple(a.lower() for a in args)
        return _text_predicate(lambda v: "true" if v.agent_connected else "false", op, args)
    return _text_predicate(lambda v: v.ec2_instance_id, op, args)


def _text_predicate(get: Callable[[InstanceView], str], op: str, args: tuple[str, ...]) -> Predicate:
    if op == "==":
        return lambda v: get(v) == args[0]
    if op == "!=":
        return lambda v: get(v) != args[0]
    if op in _MEMBERSHIP:
        members = frozenset(args)
        return (lambda v: get(v) in members) if op == "in" else (lambda v: get(v) not in members)
    pattern = literals.regex(args[0])
    if op == "=~":
        return lambda v: pattern.fullmatch(get(v)) is not None
    return lambda v: pattern.fullmatch(get(v)) is None


def _attribute_predicate(name: str, op: str, args: tuple[str, ...]) -> Predicate:
    if op == "exists":
        return lambda v: name in v.attributes
    if op == "!exists":
        return lambda v: name not in v.attributes
    if op in _ORDER:
        compare = _COMPARE[op]
        arg = args[0]
        number = literals.number(arg)

        def ordered(v: InstanceView) -> bool:
            value = v.attributes.get(name)
            if value is None:
                return False
            mine = literals.number(value)
            if mine is not None and number is not None:
                return compare(mine, number)
            return compare(value, arg)

        return ordered
    if op == "!=":
        return lambda v: v.attributes.get(name) != args[0]
    if op == "!in":
        members = frozenset(args)
        return lambda v: v.attributes.get(name) not in members
    if op == "!~":
        pattern = literals.regex(args[0])
        return lambda v: (value := v.attributes.get(name)) is None or pattern.fullmatch(value) is None
    positive = _text_predicate(lambda v: v.attributes.get(name) or "", op, args)
    return lambda v: v.attributes.get(name) is not None and positive(v)


def _group_predicate(op: str, args: tuple[str, ...]) -> Predicate:
    """`task:group` holds when any task on the instance satisfies the comparison."""
    if op == "exists":
        return lambda v: bool(v.task_groups)
    if op == "!exists":
        return lambda v: not v.task_groups
    negated = {"!=": "==", "!in": "in", "!~": "=~"}
    if op in negated:
        positive = _group_predicate(negated[op], args)
        return lambda v: not positive(v)
    if op == "==":
        return lambda v: args[0] in v.task_groups
    if op == "in":
        members = frozenset(args)
        return lambda v: not members.isdisjoint(v.task_groups)
    if op == "=~":
        pattern = literals.regex(args[0])
        return lambda v: any(pattern.fullmatch(g) for g in v.task_groups)
    compare = _COMPARE[op]
    return lambda v: any(compare(g, args[0]) for g in v.task_groups)


def _registered_at_predicate(op: str, arg: str) -> Predicate:
    moment, day_only = literals.timestamp(arg)
    compare = _COMPARE[op]
    if day_only:
        day = datetime.fromtimestamp(moment, UTC).date()
        return lambda v: compare(datetime.fromtimestamp(v.registered_at, UTC).date(), day)
    return lambda v: compare(math.floor(v.registered_at), math.floor(moment))


def _ordered(get: Callable[[InstanceView], object], op: str, target: object) -> Predicate:
    compare = _COMPARE[op]
    return lambda v: compare(get(v), target)


_COMPARE: dict[str, Callable[[object, object], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
    "<": lambda a, b: a < b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
}
