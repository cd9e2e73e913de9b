"""Capacity providers at launch: which provider each new task goes to, and tasks that wait.

```
Launch.capacity_strategy + the population so far --assign_providers--> one provider per copy
   (scheduler.capacity_split: base first, then weights; a RunTask is its own population, a
   service's population is its primary deployment's tasks)
copies of an Auto Scaling group provider: placed only on instances whose capacityProviderName
   is that provider; when none fits and the provider has managed scaling, the copy is created
   PROVISIONING without an instance (`dockyard.waiting`: what placing it later needs) instead
   of failing, within the cluster's quota of PROVISIONING tasks (ClientException past it)
```
`capacity_provisioning.py` places waiting tasks as capacity appears.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.scheduler import Constraint, Strategy, TaskDemand
from dockyard.scheduler.capacity_split import split
from dockyard.services.ecs import errors
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.instance_resources import placement_demand, task_demand
from dockyard.services.ecs.resources import TASK
from dockyard.services.ecs.task_request import Launch

__all__ = [
    "PROVISIONING_LIMIT",
    "assign_providers",
    "provider_groups",
    "waiting_record",
    "waiting_demand",
    "waiting_strategies",
    "check_provisioning_limit",
]

PROVISIONING_LIMIT = (
    "The maximum number of tasks in the PROVISIONING state for this cluster has been reached."
)


def assign_providers(launch: Launch, count: int, population: Mapping[str, int] | None) -> list[str | None]:
    """The capacity provider of each of `count` new copies (None: no strategy)."""
    if not launch.capacity_strategy:
        return [launch.capacity_provider] * count
    return list(split(launch.capacity_strategy, population or {}, count))


def provider_groups(providers: Sequence[str | None]) -> list[tuple[str | None, int]]:
    """Copies per provider, in the order providers first appear."""
    counts: dict[str | None, int] = {}
    for provider in providers:
        counts[provider] = counts.get(provider, 0) + 1
    return list(counts.items())


def waiting_record(
    launch: Launch, provider: str | None, *, zone: str | None, reason: str, now: float
) -> dict[str, Any]:
    """What placing a waiting task later needs (kept on the task as `dockyard.waiting`)."""
    return {
        "provider": provider,
        "since": now,
        "reason": reason,
        "cpu": launch.cpu,
        "memory": launch.memory,
        "zones": [zone] if zone else None,
        "constraints": [{"type": c.type, "expression": c.expression} for c in launch.constraints],
        "strategies": [{"type": s.type, "field": s.field} for s in launch.strategies],
    }


def waiting_demand(task: Mapping[str, Any]) -> TaskDemand:
    """The placement demand of a waiting task, rebuilt from its document."""
    internal = task.get("dockyard", {})
    record = internal["waiting"]
    td = internal.get("taskDefinition", {})
    zones = record.get("zones")
    return placement_demand(
        td,
        task_demand(td, int(record["cpu"]), int(record["memory"])),
        group=str(task.get("group", "")),
        launch_type=str(task.get("launchType", "EC2")),
        constraints=tuple(Constraint(c["type"], c.get("expression")) for c in record.get("constraints", [])),
        zones=set(zones) if zones else None,
    )


def waiting_strategies(task: Mapping[str, Any]) -> tuple[Strategy, ...]:
    record = task.get("dockyard", {}).get("waiting", {})
    return tuple(Strategy(s["type"], s.get("field")) for s in record.get("strategies", []))


async def check_provisioning_limit(ecs: Ecs, ctx: RequestContext, cluster: str, adding: int) -> None:
    """ClientException when `adding` more PROVISIONING tasks would pass the cluster's quota."""
    if adding <= 0:
        return
    limit = ecs.settings.capacity.provisioning_limit
    live = await ecs.store.find_labels(TASK, "cluster", cluster, account_id=ctx.account_id, region=ctx.region)
    provisioning = sum(1 for _, labels in live if labels.get("lastStatus") == "PROVISIONING")
    if provisioning + adding > limit:
        raise errors.ClientException(PROVISIONING_LIMIT)
