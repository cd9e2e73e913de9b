"""Store keys, ARNs and lookups shared by the ECS handlers.

Documents are stored in the shape of the ECS API object they represent (camelCase members), so
Describe calls return them as they are; the serializer writes only modelled members, so internal
fields live under the `dockyard` member of a document and never reach clients.

| kind                    | name                       | document                       |
|-------------------------|----------------------------|--------------------------------|
| ecs:cluster             | cluster name               | Cluster                        |
| ecs:family              | family                     | {family, lastRevision}         |
| ecs:task-definition     | family:0000000007          | TaskDefinition (+ tags)        |
| ecs:container-instance  | cluster/<32 hex>           | ContainerInstance              |
| ecs:task                | cluster/<32 hex>           | Task                           |
| ecs:client-token        | token                      | {hash, taskArns}               |
| ecs:capacity-provider   | provider name              | CapacityProvider (+ tags)      |
"""

from __future__ import annotations

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import arn, parse_arn
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.errors import ClusterNotFoundException
from dockyard.store import Key, Versioned

__all__ = [
    "CLUSTER",
    "FAMILY",
    "TASK_DEFINITION",
    "CONTAINER_INSTANCE",
    "TASK",
    "CLIENT_TOKEN",
    "CAPACITY_PROVIDER",
    "key",
    "ecs_arn",
    "cluster_arn",
    "cluster_name",
    "task_definition_key_name",
    "get_cluster",
    "get_active_cluster",
]

CLUSTER = "ecs:cluster"
FAMILY = "ecs:family"
TASK_DEFINITION = "ecs:task-definition"
CONTAINER_INSTANCE = "ecs:container-instance"
TASK = "ecs:task"
CLIENT_TOKEN = "ecs:client-token"
CAPACITY_PROVIDER = "ecs:capacity-provider"


def key(ctx: RequestContext, kind: str, name: str) -> Key:
    return Key(ctx.account_id, ctx.region, kind, name)


def ecs_arn(ctx: RequestContext, resource: str) -> str:
    return arn("ecs", ctx.region, ctx.account_id, resource)


def cluster_arn(ctx: RequestContext, name: str) -> str:
    return ecs_arn(ctx, f"cluster/{name}")


def cluster_name(value: str | None) -> str:
    """The cluster a request names: `default` when omitted, the name part of an ARN."""
    if not value:
        return "default"
    parsed = parse_arn(value)
    if parsed is not None:
        return parsed.resource_path
    return value


def task_definition_key_name(family: str, revision: int) -> str:
    return f"{family}:{revision:010d}"


async def get_cluster(ecs: Ecs, ctx: RequestContext, value: str | None) -> Versioned:
    """The stored cluster (in any status) or `ClusterNotFoundException`."""
    found = await ecs.store.get(key(ctx, CLUSTER, cluster_name(value)))
    if found is None:
        raise ClusterNotFoundException("Cluster not found.")
    return found


async def get_active_cluster(ecs: Ecs, ctx: RequestContext, value: str | None) -> Versioned:
    """Like `get_cluster`, but an INACTIVE (deleted) cluster is not found either."""
    found = await get_cluster(ecs, ctx, value)
    if found.value.get("status") != "ACTIVE":
        raise ClusterNotFoundException("Cluster not found.")
    return found
