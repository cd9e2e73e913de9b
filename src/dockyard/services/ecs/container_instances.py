"""ECS container instances: register (agent-facing), deregister, describe, list, drain.

```
agent --RegisterContainerInstance--> new ARN container-instance/<cluster>/<32 hex>, ACTIVE
        (again with containerInstanceArn after a restart: same identity, resources refreshed)
user  --UpdateContainerInstancesState--> ACTIVE <-> DRAINING
user  --DeregisterContainerInstance--> INACTIVE (force=true when tasks still want to run there)
```
Documents and their rules live in `instance_documents`; registration details in `registration`.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.cql import CQLError, parse
from dockyard.services.ecs import registration
from dockyard.services.ecs.api import api
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.errors import InvalidParameterException
from dockyard.services.ecs.instance_documents import (
    get_instance,
    instance_arn,
    instance_ref,
    instance_view,
    modify,
    render_instance,
    tasks_by_instance,
)
from dockyard.services.ecs.paging import page
from dockyard.services.ecs.resources import CONTAINER_INSTANCE, get_active_cluster

__all__ = [
    "register_container_instance",
    "deregister_container_instance",
    "describe_container_instances",
    "list_container_instances",
    "update_container_instances_state",
]

_DESCRIBE_LIMIT = 100
_UPDATE_LIMIT = 10


@api.operation("RegisterContainerInstance")
async def register_container_instance(
    ecs: Ecs, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    cluster = (await get_active_cluster(ecs, ctx, request.get("cluster"))).value["clusterName"]
    doc = await registration.register(ecs, ctx, cluster, request)
    tasks = (await tasks_by_instance(ecs, ctx, cluster)).get(doc["containerInstanceArn"], [])
    return {"containerInstance": render_instance(doc, tasks)}


@api.operation("DeregisterContainerInstance")
async def deregister_container_instance(
    ecs: Ecs, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    cluster = (await get_active_cluster(ecs, ctx, request.get("cluster"))).value["clusterName"]
    found = await get_instance(ecs, ctx, cluster, request["containerInstance"])
    if found is None:
        raise InvalidParameterException("The referenced container instance was not found.")
    arn = found.value["containerInstanceArn"]
    tasks = (await tasks_by_instance(ecs, ctx, cluster)).get(arn, [])
    wanted = [t for t in tasks if t.get("desiredStatus") == "RUNNING" and t.get("lastStatus") != "STOPPED"]
    if wanted and not request.get("force", False) and found.value.get("status") != "INACTIVE":
        raise InvalidParameterException("Found running tasks on the instance.")

    def deregister(doc: dict[str, Any]) -> dict[str, Any] | None:
        if doc.get("status") == "INACTIVE":
            return None
        doc["status"] = "INACTIVE"
        doc["version"] = int(doc.get("version", 0)) + 1
        return doc

    updated = await modify(ecs, found.key, deregister)
    doc = updated.value if updated is not None else found.value
    return {"containerInstance": render_instance(doc, tasks)}


@api.operation("DescribeContainerInstances")
async def describe_container_instances(
    ecs: Ecs, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    refs: list[str] = request["containerInstances"]
    if len(refs) > _DESCRIBE_LIMIT:
        raise InvalidParameterException(f"instanceIds can have at most {_DESCRIBE_LIMIT} items.")
    cluster = (await get_active_cluster(ecs, ctx, request.get("cluster"))).value["clusterName"]
    include = set(request.get("include", []))
    by_instance = await tasks_by_instance(ecs, ctx, cluster)
    instances: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    for ref in refs:
        found = await get_instance(ecs, ctx, cluster, ref)
        if found is None:
            failures.append({"arn": _failure_arn(ctx, cluster, ref), "reason": "MISSING"})
            continue
        tasks = by_instance.get(found.value["containerInstanceArn"], [])
        instances.append(
            render_instance(
                found.value, tasks, tags="TAGS" in include, health="CONTAINER_INSTANCE_HEALTH" in include
            )
        )
    return {"containerInstances": instances, "failures": failures}


@api.operation("ListContainerInstances")
async def list_container_instances(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    cluster = (await get_active_cluster(ecs, ctx, request.get("cluster"))).value["clusterName"]
    query = None
    if request.get("filter"):
        try:
            query = parse(request["filter"])
        except CQLError as exc:
            raise InvalidParameterException(f"Invalid filter expression: {exc.message}") from exc
    status = request.get("status")
    stored = await ecs.store.list(
        CONTAINER_INSTANCE, account_id=ctx.account_id, region=ctx.region, prefix=f"{cluster}/"
    )
    by_instance = await tasks_by_instance(ecs, ctx, cluster) if query is not None else {}
    selected = []
    for item in stored:
        doc = item.value
        shown = doc.get("status") == status if status else doc.get("status") != "INACTIVE"
        if not shown:
            continue
        if query is not None and not query.evaluate(
            instance_view(doc, by_instance.get(doc["containerInstanceArn"], []))
        ):
            continue
        selected.append(item)
    items, token = page(selected, request, key=lambda v: v.key.name)
    response: dict[str, Any] = {"containerInstanceArns": [v.value["containerInstanceArn"] for v in items]}
    if token:
        response["nextToken"] = token
    return response


@api.operation("UpdateContainerInstancesState")
async def update_container_instances_state(
    ecs: Ecs, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    refs: list[str] = request["containerInstances"]
    if len(refs) > _UPDATE_LIMIT:
        raise InvalidParameterException(f"instanceIds can have at most {_UPDATE_LIMIT} items")
    status = request["status"]
    if status not in ("ACTIVE", "DRAINING"):
        raise InvalidParameterException("Container instances status should be one of [ACTIVE,DRAINING]")
    cluster = (await get_active_cluster(ecs, ctx, request.get("cluster"))).value["clusterName"]
    by_instance = await tasks_by_instance(ecs, ctx, cluster)
    instances: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    for ref in refs:
        found = await get_instance(ecs, ctx, cluster, ref)
        if found is None:
            failures.append({"arn": _failure_arn(ctx, cluster, ref), "reason": "MISSING"})
            continue
        current = found.value.get("status")
        if current not in ("ACTIVE", "DRAINING"):
            failures.append({"arn": found.value["containerInstanceArn"], "reason": str(current)})
            continue

        def transition(doc: dict[str, Any]) -> dict[str, Any] | None:
            if doc.get("status") == status or doc.get("status") not in ("ACTIVE", "DRAINING"):
                return None
            doc["status"] = status
            doc["version"] = int(doc.get("version", 0)) + 1
            return doc

        updated = await modify(ecs, found.key, transition)
        doc = updated.value if updated is not None else found.value
        instances.append(render_instance(doc, by_instance.get(doc["containerInstanceArn"], [])))
    return {"containerInstances": instances, "failures": failures}


def _failure_arn(ctx: RequestContext, cluster: str, ref: str) -> str:
    named_cluster, instance_id = instance_ref(ref)
    if named_cluster is not None or ref.startswith("arn:"):
        return ref
    return instance_arn(ctx, cluster, instance_id)
