"""ECS attributes: PutAttributes, DeleteAttributes, ListAttributes on container instances.

Attributes live in the container instance document's `attributes` list. A request is checked as a
whole before anything is written (bad name or value, unknown target, more than ten custom
attributes on one instance), then every touched instance is written in one atomic commit.
Built-in attributes (`ecs.*`, `com.amazonaws.ecs.*`) do not count toward the custom limit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ecs.api import api
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.errors import InvalidParameterException, TargetNotFoundException
from dockyard.services.ecs.instance_documents import (
    MAX_CUSTOM_ATTRIBUTES,
    check_attribute,
    custom_attribute_count,
    get_instance,
)
from dockyard.services.ecs.paging import page
from dockyard.services.ecs.registration import attribute_limit_error
from dockyard.services.ecs.resources import CONTAINER_INSTANCE, get_active_cluster
from dockyard.store import Conflict, Put, Versioned

__all__ = ["put_attributes", "delete_attributes", "list_attributes"]

Document = dict[str, Any]
Apply = Callable[[list[Document], Document], None]


@api.operation("PutAttributes")
async def put_attributes(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    def put(current: list[Document], attribute: Document) -> None:
        item: Document = {"name": attribute["name"]}
        if attribute.get("value") is not None:
            item["value"] = attribute["value"]
        for i, existing in enumerate(current):
            if existing["name"] == item["name"]:
                current[i] = item
                return
        current.append(item)

    await _apply(ecs, ctx, request, put, limit=True)
    return {"attributes": request["attributes"]}


@api.operation("DeleteAttributes")
async def delete_attributes(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    removed: list[Document] = []

    def delete(current: list[Document], attribute: Document) -> None:
        echo = dict(attribute)
        for existing in [a for a in current if a["name"] == attribute["name"]]:
            current.remove(existing)
            if existing.get("value") is not None:
                echo["value"] = existing["value"]
        removed.append(echo)

    await _apply(ecs, ctx, request, delete, limit=False)
    return {"attributes": removed}


@api.operation("ListAttributes")
async def list_attributes(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name, value = request.get("attributeName"), request.get("attributeValue")
    if value is not None and name is None:
        raise InvalidParameterException("attributeName must be specified when attributeValue is specified.")
    cluster = (await get_active_cluster(ecs, ctx, request.get("cluster"))).value["clusterName"]
    stored = await ecs.store.list(
        CONTAINER_INSTANCE, account_id=ctx.account_id, region=ctx.region, prefix=f"{cluster}/"
    )
    found: list[tuple[str, Document]] = []
    for instance in stored:
        if instance.value.get("status") == "INACTIVE":
            continue
        arn = instance.value["containerInstanceArn"]
        for attribute in instance.value.get("attributes", []):
            if name is not None and attribute["name"] != name:
                continue
            if value is not None and attribute.get("value") != value:
                continue
            item = {"name": attribute["name"], "targetId": arn}
            if attribute.get("value") is not None:
                item["value"] = attribute["value"]
            found.append((instance.key.name, item))
    items, token = page(found, request, key=lambda pair: [pair[0], pair[1]["name"]])
    response: dict[str, Any] = {"attributes": [item for _, item in items]}
    if token:
        response["nextToken"] = token
    return response


async def _apply(
    ecs: Ecs, ctx: RequestContext, request: dict[str, Any], change: Apply, *, limit: bool
) -> None:
    """Check every attribute, apply `change` per target, then commit all targets atomically."""
    attributes: list[Document] = request["attributes"]
    if not attributes:
        raise InvalidParameterException("attributes can not be empty.")
    cluster = (await get_active_cluster(ecs, ctx, request.get("cluster"))).value["clusterName"]
    for attribute in attributes:
        check_attribute(attribute)
    while True:
        targets: dict[str, Versioned] = {}
        documents: dict[str, Document] = {}
        for attribute in attributes:
            target = await _target(ecs, ctx, cluster, attribute)
            name = target.key.name
            if name not in targets:
                targets[name] = target
                documents[name] = copy.deepcopy(target.value)
            change(documents[name].setdefault("attributes", []), attribute)
        writes = []
        for name, doc in documents.items():
            if limit and custom_attribute_count(doc["attributes"]) > MAX_CUSTOM_ATTRIBUTES:
                raise attribute_limit_error()
            if doc != targets[name].value:
                doc["version"] = int(doc.get("version", 0)) + 1
                writes.append(Put(targets[name].key, doc, expected_revision=targets[name].revision))
        try:
            await ecs.store.commit(writes)
        except Conflict:
            continue
        return


async def _target(ecs: Ecs, ctx: RequestContext, cluster: str, attribute: Document) -> Versioned:
    target_id = attribute.get("targetId")
    if not target_id:
        raise InvalidParameterException("targetId must be specified for each attribute.")
    if not target_id.startswith("arn:") and attribute.get("targetType") is None:
        raise InvalidParameterException("targetType must be specified when targetId is not an ARN.")
    found = await get_instance(ecs, ctx, cluster, target_id)
    if found is None or found.value.get("status") == "INACTIVE":
        raise TargetNotFoundException(f"Could not find {target_id}.")
    return found
