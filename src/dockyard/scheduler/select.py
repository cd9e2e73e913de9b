"""Choosing an instance for each copy of a task, and saying why when none will do.

```
place(ctx, demand, strategies) = select(...) + ctx.reserve(...)
   select: ranking_for(ctx, demand, strategies)  -- checkers filter, rankers order (built once, kept current)
           best() -> node -> Placement(arn)
                  -> None -> unplaceable(ctx, demand): the closest candidate and its reason
   reserve: the node's resources and counts change, so the next copy sees this one
```

The closest candidate is the one that got furthest down the checker chain (then nearest to
passing the check it failed): its ARN and reason are what RunTask reports in `failures`.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.scheduler.checks import CHECKS, Failure, first_failure, is_candidate
from dockyard.scheduler.model import NO_INSTANCES, Placement, Strategy, TaskDemand, Unplaceable
from dockyard.scheduler.ranking import ranking_for
from dockyard.scheduler.state import NodeState, PlanContext

__all__ = ["select", "place", "place_many", "candidates", "unplaceable", "check_node"]

_ORDER = {checker.name: i for i, checker in enumerate(CHECKS)}


def candidates(ctx: PlanContext, demand: TaskDemand) -> list[NodeState]:
    """The registered instances of the task's launch type (RunTask's candidates)."""
    return [n for n in ctx.nodes if is_candidate(n, demand)]


def select(
    ctx: PlanContext, demand: TaskDemand, strategies: Sequence[Strategy] = ()
) -> Placement | Unplaceable:
    """The instance one copy would go to now (nothing reserved), or why none fits."""
    best = ranking_for(ctx, demand, strategies).best()
    if best is None:
        return unplaceable(ctx, demand)
    return Placement(best[1].arn)


def place(
    ctx: PlanContext, demand: TaskDemand, strategies: Sequence[Strategy] = ()
) -> Placement | Unplaceable:
    """Choose an instance for one copy and reserve it there, or say why none fits."""
    result = select(ctx, demand, strategies)
    if isinstance(result, Placement):
        ctx.reserve(ctx.by_arn[result.arn], demand)
    return result


def place_many(
    ctx: PlanContext, demand: TaskDemand, strategies: Sequence[Strategy], count: int
) -> list[Placement | Unplaceable]:
    """`count` copies in order, each seeing the reservations of the ones before it."""
    out: list[Placement | Unplaceable] = []
    for _ in range(count):
        result = place(ctx, demand, strategies)
        out.append(result)
        if isinstance(result, Unplaceable):
            # Nothing changed, so the remaining copies cannot fit either.
            out.extend(result for _ in range(count - len(out)))
            break
    return out


def unplaceable(ctx: PlanContext, demand: TaskDemand) -> Unplaceable:
    """Why nothing fits: the closest candidate's reason, and how many each check excluded."""
    closest: tuple[int, float, NodeState, Failure] | None = None
    filtered: dict[str, int] = {}
    for node in candidates(ctx, demand):
        failure = first_failure(node, demand)
        if failure is None:  # pragma: no cover - a feasible node is always ranked
            continue
        filtered[failure.check] = filtered.get(failure.check, 0) + 1
        rank = (_ORDER[failure.check], failure.closeness)
        if closest is None or rank > closest[:2]:
            closest = (*rank, node, failure)
    if closest is None:
        return Unplaceable(NO_INSTANCES, None, filtered)
    return Unplaceable(closest[3].reason, closest[2].arn, filtered)


def check_node(ctx: PlanContext, arn: str, demand: TaskDemand, *, reserve: bool = True) -> Failure | None:
    """StartTask on a named instance: the checks without placement constraints, then reserve."""
    node = ctx.node(arn)
    if node is None:
        raise KeyError(arn)
    failure = first_failure(node, demand, constraints=False)
    if failure is None and reserve:
        ctx.reserve(node, demand)
    return failure
