"""Which capacity providers a cluster may use: PutClusterCapacityProviders and CreateCluster's list.

```
providers + default strategy --cluster_providers--> validated (reference §7.1, §7.2):
    every provider exists and is ACTIVE (FARGATE, FARGATE_SPOT, or the account's own)
    an Auto Scaling group provider belongs to one cluster at a time
    at most 20 per cluster, no duplicates; the strategy names only listed providers, never
    mixes Fargate and Auto Scaling group providers, has at most one base
PutClusterCapacityProviders: replaces the list and the default strategy; removing a provider a
    service's strategy or a task that is not yet STOPPED uses is ResourceInUseException
```
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ecs import errors
from dockyard.services.ecs.api import api
from dockyard.services.ecs.cluster_documents import (
    FARGATE_PROVIDERS,
    SERVICE,
    check_capacity_providers,
    cluster_counts,
    render_cluster,
)
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import CAPACITY_PROVIDER, CLUSTER, TASK, get_active_cluster
from dockyard.store import Conflict, Put

__all__ = [
    "active_providers",
    "associated_cluster",
    "cluster_providers",
    "in_use",
    "put_cluster_capacity_providers",
]

_ATTEMPTS = 8

Document = dict[str, Any]


async def active_providers(ecs: Ecs, ctx: RequestContext) -> dict[str, Document]:
    """The account's ACTIVE Auto Scaling group providers, by name."""
    return {
        v.key.name: v.value
        for v in await ecs.store.list(CAPACITY_PROVIDER, account_id=ctx.account_id, region=ctx.region)
        if v.value.get("status") == "ACTIVE"
    }


async def associated_cluster(ecs: Ecs, ctx: RequestContext, provider: str) -> str | None:
    """The ACTIVE cluster a provider is associated with, if any."""
    for cluster in await ecs.store.list(CLUSTER, account_id=ctx.account_id, region=ctx.region):
        if cluster.value.get("status") == "ACTIVE" and provider in cluster.value.get("capacityProviders", []):
            return str(cluster.value["clusterName"])
    return None


async def cluster_providers(
    ecs: Ecs, ctx: RequestContext, cluster: str, providers: list[str], strategy: list[Mapping[str, Any]]
) -> tuple[list[str], list[Document]]:
    """Validate a cluster's providers and default strategy; returns them normalized."""
    own = await active_providers(ecs, ctx)
    checked = check_capacity_providers(providers, strategy, known={*FARGATE_PROVIDERS, *own})
    for name in checked[0]:
        if name in own:
            other = await associated_cluster(ecs, ctx, name)
            if other is not None and other != cluster:
                raise errors.InvalidParameterException(
                    f"The specified capacity provider {name} is already associated with cluster {other}. "
                    "An Auto Scaling group capacity provider can only be associated with one cluster."
                )
    return checked


async def in_use(ecs: Ecs, ctx: RequestContext, cluster: str, provider: str) -> bool:
    """A service of the cluster uses it in a strategy, or a task not yet STOPPED runs on it."""
    scope = {"account_id": ctx.account_id, "region": ctx.region, "prefix": f"{cluster}/"}
    for service in await ecs.store.list(SERVICE, **scope):
        doc = service.value
        if doc.get("status") not in ("ACTIVE", "DRAINING"):
            continue
        strategies = [doc.get("capacityProviderStrategy") or []]
        strategies += [d.get("capacityProviderStrategy") or [] for d in doc.get("deployments", [])]
        if any(i.get("capacityProvider") == provider for s in strategies for i in s):
            return True
    return any(
        t.value.get("capacityProviderName") == provider and t.value.get("lastStatus") != "STOPPED"
        for t in await ecs.store.list(TASK, **scope)
    )


@api.operation("PutClusterCapacityProviders")
async def put_cluster_capacity_providers(
    ecs: Ecs, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    for _ in range(_ATTEMPTS):
        found = await get_active_cluster(ecs, ctx, request.get("cluster"))
        name = found.value["clusterName"]
        providers, strategy = await cluster_providers(
            ecs,
            ctx,
            name,
            list(request["capacityProviders"]),
            list(request["defaultCapacityProviderStrategy"]),
        )
        for removed in set(found.value.get("capacityProviders", [])) - set(providers):
            if await in_use(ecs, ctx, name, removed):
                raise errors.ResourceInUseException(
                    "The specified capacity provider is in use and cannot be removed."
                )
        doc = copy.deepcopy(found.value)
        doc["capacityProviders"] = providers
        doc["defaultCapacityProviderStrategy"] = strategy
        try:
            await ecs.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        except Conflict:
            continue
        return {"cluster": render_cluster(doc, await cluster_counts(ecs, ctx, name))}
    raise errors.ServerException("The cluster could not be updated; try again.")
