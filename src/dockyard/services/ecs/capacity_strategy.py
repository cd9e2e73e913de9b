"""Where a RunTask, StartTask or a service's tasks run: launch type or capacity provider strategy.

Resolution order (reference §7.2): the request's `capacityProviderStrategy`, else its
`launchType`, else the cluster's `defaultCapacityProviderStrategy`, else EC2. A strategy is
checked as ECS checks it, with ECS's messages:

```
launchType and a strategy together                 -> "Specifying both a launch type and ..."
more than 20 items, duplicates, more than one base -> InvalidParameterException
a provider not associated with the cluster (or not ACTIVE) -> "... not associated with the cluster ..."
Fargate and Auto Scaling group providers together  -> "... cannot contain a mix ..."
no weight above 0                                  -> "... at least one capacity provider with a weight ..."
```
A Fargate strategy launches FARGATE tasks, an Auto Scaling group one EC2 tasks; tasks of a
provider with managed scaling wait in PROVISIONING when nothing fits (`CapacityChoice.waiting`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.scheduler.capacity_split import StrategyItem, strategy_items
from dockyard.services.ecs import errors
from dockyard.services.ecs.capacity_provider_documents import scaling_enabled
from dockyard.services.ecs.cluster_documents import FARGATE_PROVIDERS, MIXED_STRATEGY
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import CAPACITY_PROVIDER, key

__all__ = ["CapacityChoice", "resolve_capacity", "NOT_ASSOCIATED", "BOTH_GIVEN"]

MAX_ITEMS = 20
BOTH_GIVEN = (
    "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."
)
NOT_ASSOCIATED = (
    "The specified capacity provider strategy cannot contain a capacity provider that is not associated "
    "with the cluster. Associate the capacity provider with the cluster or specify a valid capacity "
    "provider and try again."
)


@dataclass(frozen=True, slots=True)
class CapacityChoice:
    launch_type: str  # FARGATE | EC2 | EXTERNAL
    strategy: tuple[StrategyItem, ...] = ()  # empty: the launch type was asked for (or EC2 by default)
    waiting: frozenset[str] = frozenset()  # providers with managed scaling: their tasks may wait

    @property
    def single(self) -> str | None:
        """The provider every task goes to when the strategy can only name one."""
        usable = [i.provider for i in self.strategy if i.weight > 0 or i.base > 0]
        return usable[0] if len(usable) == 1 else None


async def resolve_capacity(
    ecs: Ecs, ctx: RequestContext, cluster: Mapping[str, Any], request: Mapping[str, Any], default: str | None
) -> CapacityChoice:
    """`default`: StartTask's launch type (it places on named instances: no default strategy)."""
    launch_type = request.get("launchType")
    given = request.get("capacityProviderStrategy")
    if launch_type and given:
        raise errors.InvalidParameterException(BOTH_GIVEN)
    if launch_type:
        if launch_type not in ("EC2", "FARGATE", "EXTERNAL"):
            raise errors.InvalidParameterException(f"The launch type {launch_type} is not supported.")
        return CapacityChoice(str(launch_type))
    strategy = given or ([] if default else cluster.get("defaultCapacityProviderStrategy") or [])
    if not strategy:
        return CapacityChoice(default or "EC2")
    if len(strategy) > MAX_ITEMS:
        raise errors.InvalidParameterException(
            f"capacityProviderStrategy can have at most {MAX_ITEMS} items."
        )
    items = strategy_items(strategy)
    names = [i.provider for i in items]
    if len(set(names)) != len(names):
        raise errors.InvalidParameterException(
            "The capacity provider strategy cannot contain duplicate capacity providers."
        )
    associated = set(cluster.get("capacityProviders", []))
    waiting = set()
    for name in names:
        if name not in associated:
            raise errors.InvalidParameterException(NOT_ASSOCIATED)
        if name in FARGATE_PROVIDERS:
            continue
        provider = await ecs.store.get(key(ctx, CAPACITY_PROVIDER, name))
        if provider is None or provider.value.get("status") != "ACTIVE":
            raise errors.InvalidParameterException(NOT_ASSOCIATED)
        if scaling_enabled(provider.value):
            waiting.add(name)
    if len({n in FARGATE_PROVIDERS for n in names}) > 1:
        raise errors.InvalidParameterException(MIXED_STRATEGY)
    if sum(1 for i in items if i.base > 0) > 1:
        raise errors.InvalidParameterException(
            "The capacity provider strategy can contain a maximum of one capacity provider with a base "
            "value greater than 0."
        )
    if not any(i.weight > 0 for i in items):
        raise errors.InvalidParameterException(
            "The specified capacity provider strategy must contain at least one capacity provider with a "
            "weight value greater than 0."
        )
    fargate = names[0] in FARGATE_PROVIDERS
    return CapacityChoice("FARGATE" if fargate else "EC2", items, frozenset(waiting))
