"""ECS clusters: CreateCluster, DeleteCluster, DescribeClusters, ListClusters, UpdateCluster(Settings).

```
CreateCluster --> ACTIVE   (again while ACTIVE: returned unchanged; while INACTIVE: made anew)
DeleteCluster --> INACTIVE (still describable; refused while instances, services or tasks remain)
```
What a request may set and what a response shows live in `cluster_documents`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.tags import TagError, check_tags, merge_tags
from dockyard.services.ecs.api import api
from dockyard.services.ecs.capacity_associations import cluster_providers
from dockyard.services.ecs.cluster_documents import (
    check_cluster_name,
    check_settings,
    cluster_counts,
    merge_settings,
    render_cluster,
)
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.errors import (
    ClusterContainsContainerInstancesException,
    ClusterContainsServicesException,
    ClusterContainsTasksException,
    InvalidParameterException,
)
from dockyard.services.ecs.paging import page
from dockyard.services.ecs.resources import CLUSTER, cluster_arn, cluster_name, get_active_cluster, key
from dockyard.store import Conflict, Put, Versioned

__all__ = [
    "create_cluster",
    "delete_cluster",
    "describe_clusters",
    "list_clusters",
    "update_cluster",
    "update_cluster_settings",
]

_DESCRIBE_LIMIT = 100
Document = dict[str, Any]


@api.operation("CreateCluster")
async def create_cluster(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name = request.get("clusterName") or "default"
    check_cluster_name(name)
    tags = list(request.get("tags", []))
    try:
        check_tags(tags)
    except TagError as exc:
        raise InvalidParameterException(str(exc)) from exc
    settings = list(request.get("settings", []))
    check_settings(settings)
    providers, strategy = await cluster_providers(
        ecs,
        ctx,
        name,
        list(request.get("capacityProviders", [])),
        list(request.get("defaultCapacityProviderStrategy", [])),
    )
    doc: Document = {
        "clusterArn": cluster_arn(ctx, name),
        "clusterName": name,
        "status": "ACTIVE",
        "tags": merge_tags([], tags),
        "settings": merge_settings([{"name": "containerInsights", "value": "disabled"}], settings),
        "capacityProviders": providers,
        "defaultCapacityProviderStrategy": strategy,
        "attachments": [],
    }
    if request.get("configuration") is not None:
        doc["configuration"] = request["configuration"]
    if request.get("serviceConnectDefaults") is not None:
        doc["serviceConnectDefaults"] = {"namespace": request["serviceConnectDefaults"]["namespace"]}
    at = key(ctx, CLUSTER, name)
    while True:
        current = await ecs.store.get(at)
        if current is not None and current.value.get("status") == "ACTIVE":
            doc = current.value
            break
        try:
            await ecs.store.commit([Put(at, doc, expected_revision=current.revision if current else 0)])
        except Conflict:
            continue
        break
    return {"cluster": render_cluster(doc, await cluster_counts(ecs, ctx, name))}


@api.operation("DeleteCluster")
async def delete_cluster(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    while True:
        found = await get_active_cluster(ecs, ctx, request["cluster"])
        name = found.value["clusterName"]
        counts = await cluster_counts(ecs, ctx, name)
        if counts.registered_instances:
            raise ClusterContainsContainerInstancesException(
                "The Cluster cannot be deleted while Container Instances are active or draining."
            )
        if counts.live_services:
            raise ClusterContainsServicesException("The Cluster cannot be deleted while Services are active.")
        if counts.live_tasks:
            raise ClusterContainsTasksException("The Cluster cannot be deleted while Tasks are active.")
        doc = {**found.value, "status": "INACTIVE"}
        try:
            await ecs.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        except Conflict:
            continue
        return {"cluster": render_cluster(doc, counts)}


@api.operation("DescribeClusters")
async def describe_clusters(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    refs: list[str] = request.get("clusters") or ["default"]
    if len(refs) > _DESCRIBE_LIMIT:
        raise InvalidParameterException(f"clusters can have at most {_DESCRIBE_LIMIT} items.")
    include = set(request.get("include", []))
    clusters: list[Document] = []
    failures: list[dict[str, str]] = []
    for ref in refs:
        name = cluster_name(ref)
        found = await ecs.store.get(key(ctx, CLUSTER, name))
        if found is None:
            failures.append({"arn": cluster_arn(ctx, name), "reason": "MISSING"})
            continue
        clusters.append(render_cluster(found.value, await cluster_counts(ecs, ctx, name), include))
    return {"clusters": clusters, "failures": failures}


@api.operation("ListClusters")
async def list_clusters(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    stored = await ecs.store.list(CLUSTER, account_id=ctx.account_id, region=ctx.region)
    active = [v for v in stored if v.value.get("status") == "ACTIVE"]
    items, token = page(active, request, key=lambda v: v.key.name)
    response: dict[str, Any] = {"clusterArns": [v.value["clusterArn"] for v in items]}
    if token:
        response["nextToken"] = token
    return response


@api.operation("UpdateCluster")
async def update_cluster(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    settings = list(request.get("settings", []))
    check_settings(settings)

    def change(doc: Document) -> None:
        doc["settings"] = merge_settings(doc.get("settings", []), settings)
        if request.get("configuration") is not None:
            doc["configuration"] = {**doc.get("configuration", {}), **request["configuration"]}
        if request.get("serviceConnectDefaults") is not None:
            namespace = request["serviceConnectDefaults"]["namespace"]
            if namespace:
                doc["serviceConnectDefaults"] = {"namespace": namespace}
            else:
                doc.pop("serviceConnectDefaults", None)

    return await _update(ecs, ctx, request["cluster"], change)


@api.operation("UpdateClusterSettings")
async def update_cluster_settings(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    settings = list(request["settings"])
    check_settings(settings)

    def change(doc: Document) -> None:
        doc["settings"] = merge_settings(doc.get("settings", []), settings)

    return await _update(ecs, ctx, request["cluster"], change)


async def _update(
    ecs: Ecs, ctx: RequestContext, ref: str, change: Callable[[Document], None]
) -> dict[str, Any]:
    while True:
        found: Versioned = await get_active_cluster(ecs, ctx, ref)
        doc = {**found.value}
        change(doc)
        try:
            await ecs.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        except Conflict:
            continue
        counts = await cluster_counts(ecs, ctx, doc["clusterName"])
        return {"cluster": render_cluster(doc, counts)}
