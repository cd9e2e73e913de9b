"""Why a task would (or would not) go where: every instance, every check, every strategy key.

`explain(ctx, demand, strategies)` evaluates the whole chain for every node without choosing
or reserving anything, and returns plain data (str, int, bool, lists, dicts) ready to be shown
as JSON. A sketch of the shape:

```
{"group": "family:web", "demand": {"cpu": 256, "memory": 512, "portsTcp": [80], ...},
 "strategies": ["spread(attribute:ecs.availability-zone)", "binpack(memory)"],
 "candidates": 3, "feasible": 1,
 "instances": [{"containerInstanceArn": "...", "candidate": true, "feasible": false,
                "failedCheck": "memory", "reason": "RESOURCE:MEMORY",
                "checks": [{"check": "status", "passed": true}, ...,
                           {"check": "memory", "passed": false, "reason": "RESOURCE:MEMORY",
                            "detail": {"required": 512, "remaining": 128}}, ...]},
               {..., "feasible": true, "rank": [{"strategy": "...", "key": 1}, ...]}],
 "best": ["arn of every node tied for first place"],
 "outcome": {"placeable": true} | {"placeable": false, "reason": "RESOURCE:MEMORY", "closest": "..."}}
```
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dockyard.scheduler.checks import all_failures, is_candidate
from dockyard.scheduler.model import Strategy, TaskDemand
from dockyard.scheduler.ranking import effective_strategies, strategy_key
from dockyard.scheduler.select import unplaceable
from dockyard.scheduler.state import PlanContext

__all__ = ["explain", "demand_summary"]


def demand_summary(demand: TaskDemand) -> dict[str, Any]:
    resources = demand.resources
    return {
        "launchType": demand.launch_type,
        "cpu": resources.cpu,
        "memory": resources.memory,
        "portsTcp": sorted(resources.ports_tcp),
        "portsUdp": sorted(resources.ports_udp),
        "requiresAttributes": [
            {"name": r.name} if r.value is None else {"name": r.name, "value": r.value}
            for r in demand.requires
        ],
        "placementConstraints": [
            {"type": c.type} if c.expression is None else {"type": c.type, "expression": c.expression}
            for c in demand.constraints
        ],
        "availabilityZones": None if demand.zones is None else sorted(demand.zones),
    }


def explain(ctx: PlanContext, demand: TaskDemand, strategies: Sequence[Strategy] = ()) -> dict[str, Any]:
    """The full reasoning for placing one more copy of `demand` in the context's current state."""
    ranked = effective_strategies(strategies)
    keys = [(s.label, strategy_key(ctx, s, demand.group)) for s in ranked]
    instances: list[dict[str, Any]] = []
    scores: list[tuple[tuple[int, ...], str]] = []
    candidates = 0
    for node in ctx.nodes:
        entry: dict[str, Any] = {"containerInstanceArn": node.arn}
        if not is_candidate(node, demand):
            entry.update(candidate=False, feasible=False, note=_not_candidate(node.view.status, demand))
            instances.append(entry)
            continue
        candidates += 1
        checks: list[dict[str, Any]] = []
        first: dict[str, Any] | None = None
        for checker, failure in all_failures(node, demand):
            if failure is None:
                checks.append({"check": checker.name, "passed": True})
                continue
            item = {
                "check": checker.name,
                "passed": False,
                "reason": failure.reason,
                "detail": dict(failure.detail),
            }
            checks.append(item)
            first = first or item
        entry.update(candidate=True, feasible=first is None, checks=checks)
        if first is not None:
            entry.update(failedCheck=first["check"], reason=first["reason"])
        else:
            score = tuple(key(node) for _, key in keys)
            entry["rank"] = [
                {"strategy": label, "key": value} for (label, _), value in zip(keys, score, strict=True)
            ]
            scores.append((score, node.arn))
        instances.append(entry)
    result: dict[str, Any] = {
        "group": demand.group,
        "demand": demand_summary(demand),
        "strategies": [s.label for s in strategies] or ["random"],
        "candidates": candidates,
        "feasible": len(scores),
        "instances": instances,
    }
    if scores:
        top = min(score for score, _ in scores)
        result["best"] = [arn for score, arn in scores if score == top]
        result["outcome"] = {"placeable": True}
    else:
        failed = unplaceable(ctx, demand)
        result["best"] = []
        result["outcome"] = {
            "placeable": False,
            "reason": failed.reason,
            "closest": failed.closest,
            "filtered": dict(failed.filtered),
        }
    return result


def _not_candidate(status: str, demand: TaskDemand) -> str:
    if status == "INACTIVE":
        return "The container instance is deregistered (INACTIVE)."
    if demand.launch_type == "EXTERNAL":
        return "Not an external instance: EXTERNAL tasks run only on external instances."
    return f"An external instance: it takes only EXTERNAL tasks, not {demand.launch_type}."
