"""Reading placement constraints and strategies from a request, with ECS's validation rules.

Pure: a mistake raises `PlacementSpecError` whose message the API layer returns as an
`InvalidParameterException`. Rules (reference §5.2, §5.3, §10.2):

- constraints: `distinctInstance` takes no expression; `memberOf` needs a valid cluster query
  (<= 2000 characters); task-definition and request constraints together number at most 10.
- strategies: `binpack` on `cpu` | `memory`; `spread` on `instanceId` | `host` |
  `attribute:<name>`; `random` takes no field; at most 5. Fields are case-insensitive
  (`MEMORY` works as on ECS); `host` means `instanceId`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dockyard.core.cql import CQLError, Expr
from dockyard.core.cql import parse as parse_cql
from dockyard.scheduler.model import Constraint, Strategy

__all__ = [
    "PlacementSpecError",
    "MAX_CONSTRAINTS",
    "MAX_STRATEGIES",
    "MAX_EXPRESSION_LENGTH",
    "parse_constraints",
    "parse_strategies",
    "expression_of",
]

MAX_CONSTRAINTS = 10
MAX_STRATEGIES = 5
MAX_EXPRESSION_LENGTH = 2000
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_./\\-]{1,128}")


class PlacementSpecError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def expression_of(constraint: Constraint) -> Expr:
    """The parsed expression of a memberOf constraint (parses are cached by text)."""
    assert constraint.expression is not None
    return parse_cql(constraint.expression)


def parse_constraints(
    requested: Iterable[Mapping[str, Any]] | None,
    *,
    task_definition: Iterable[Mapping[str, Any]] | None = None,
) -> tuple[Constraint, ...]:
    """The task definition's constraints followed by the request's, validated."""
    given = [*(task_definition or []), *(requested or [])]
    if len(given) > MAX_CONSTRAINTS:
        raise PlacementSpecError(f"The maximum number of placement constraints is {MAX_CONSTRAINTS}.")
    return tuple(_constraint(item) for item in given)


def _constraint(item: Mapping[str, Any]) -> Constraint:
    kind = item.get("type")
    expression = item.get("expression")
    if kind == "distinctInstance":
        if expression is not None:
            raise PlacementSpecError("distinctInstance expression should not be specified.")
        return Constraint("distinctInstance")
    if kind != "memberOf":
        raise PlacementSpecError(
            f"Invalid placement constraint type '{kind}'. Valid types are distinctInstance and memberOf."
        )
    text = (expression or "").strip()
    if not text:
        raise PlacementSpecError("Placement constraint of type memberOf must have an expression.")
    if len(expression or "") > MAX_EXPRESSION_LENGTH:
        raise PlacementSpecError(
            f"Placement constraint expression must be {MAX_EXPRESSION_LENGTH} characters or fewer."
        )
    try:
        parse_cql(text)
    except CQLError as exc:
        raise PlacementSpecError(f"Invalid placement constraint expression: {exc.message}") from exc
    return Constraint("memberOf", text)


def parse_strategies(requested: Sequence[Mapping[str, Any]] | None) -> tuple[Strategy, ...]:
    items = list(requested or [])
    if len(items) > MAX_STRATEGIES:
        raise PlacementSpecError(f"The maximum number of placement strategies is {MAX_STRATEGIES}.")
    return tuple(_strategy(item) for item in items)


def _strategy(item: Mapping[str, Any]) -> Strategy:
    kind = item.get("type")
    field = item.get("field")
    if kind == "random":
        if field:
            raise PlacementSpecError("Placement strategy of type random does not take a field.")
        return Strategy("random")
    if kind == "binpack":
        if not field:
            raise PlacementSpecError(
                "Placement strategy of type binpack must have a field. Valid fields are cpu and memory."
            )
        lowered = str(field).lower()
        if lowered not in ("cpu", "memory"):
            raise PlacementSpecError(
                f"Invalid field '{field}' for placement strategy of type binpack. "
                "Valid fields are cpu and memory."
            )
        return Strategy("binpack", lowered)
    if kind == "spread":
        if not field:
            raise PlacementSpecError(
                "Placement strategy of type spread must have a field. "
                "Valid fields are instanceId, host and attribute:<name>."
            )
        return Strategy("spread", _spread_field(str(field)))
    raise PlacementSpecError(
        f"Invalid placement strategy type '{kind}'. Valid types are binpack, random and spread."
    )


def _spread_field(field: str) -> str:
    lowered = field.lower()
    if lowered in ("instanceid", "host"):
        return "instanceId"
    if lowered.startswith("attribute:"):
        name = field[len("attribute:") :]
        if _ATTRIBUTE_NAME.fullmatch(name):
            return f"attribute:{name}"
    raise PlacementSpecError(
        f"Invalid field '{field}' for placement strategy of type spread. "
        "Valid fields are instanceId, host and attribute:<name>."
    )
