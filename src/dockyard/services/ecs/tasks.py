"""ECS task operations: RunTask, StartTask, StopTask, DescribeTasks, ListTasks."""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import parse_arn
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.services.ecs import errors
from dockyard.services.ecs.api import api
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import CLUSTER, TASK, cluster_name, ecs_arn, get_cluster, key
from dockyard.services.ecs.task_launch import launch_tasks, request_hash, task_labels
from dockyard.services.ecs.task_request import launch_from_request
from dockyard.store import Conflict, Put, Versioned

__all__ = ["run_task", "start_task", "stop_task", "describe_tasks", "list_tasks", "task_view"]


def task_view(task: dict[str, Any], *, include_tags: bool) -> dict[str, Any]:
    """A task as DescribeTasks shows it (tags only when asked for)."""
    if include_tags:
        return task
    return {k: v for k, v in task.items() if k != "tags"}


@api.operation("RunTask")
async def run_task(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    count = request.get("count", 1)
    if not 1 <= count <= 10:
        raise errors.InvalidParameterException("count must be between 1 and 10.")
    token = request.get("clientToken")
    if token is not None and not 1 <= len(token) <= 64:
        raise errors.InvalidParameterException("clientToken must be between 1 and 64 characters.")
    launch = await launch_from_request(ecs, ctx, request)
    tasks, failures = await launch_tasks(
        ecs, ctx, launch, count=count, client_token=token, request_digest=request_hash(request)
    )
    return {"tasks": [task_view(t, include_tags=True) for t in tasks], "failures": failures}


@api.operation("StartTask")
async def start_task(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    refs = request["containerInstances"]
    if not refs:
        raise errors.InvalidParameterException("Container instances cannot be empty.")
    if len(refs) > 10:
        raise errors.InvalidParameterException("containerInstances can have at most 10 items.")
    launch = await launch_from_request(ecs, ctx, {**request, "launchType": None}, launch_type_default="EC2")
    tasks, failures = await launch_tasks(ecs, ctx, launch, count=len(refs), instance_refs=refs)
    return {"tasks": [task_view(t, include_tags=True) for t in tasks], "failures": failures}


def _task_name(ctx: RequestContext, cluster: str, ref: str) -> tuple[str, str]:
    """(store name, full ARN) for a task id or ARN."""
    parsed = parse_arn(ref)
    if parsed is not None:
        parts = parsed.resource_path.split("/")
        if len(parts) == 2:
            return "/".join(parts), ref
        return f"{cluster}/{parts[-1]}", ecs_arn(ctx, f"task/{cluster}/{parts[-1]}")
    return f"{cluster}/{ref}", ecs_arn(ctx, f"task/{cluster}/{ref}")


@api.operation("StopTask")
async def stop_task(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    cluster = await get_cluster(ecs, ctx, request.get("cluster"))
    name, _ = _task_name(ctx, cluster.value["clusterName"], request["task"])
    reason = request.get("reason")
    if reason is not None and len(reason) > 255:
        raise errors.InvalidParameterException("reason must be 255 characters or fewer.")
    for _attempt in range(8):
        current = await ecs.store.get(key(ctx, TASK, name))
        if current is None or not name.startswith(cluster.value["clusterName"] + "/"):
            raise errors.InvalidParameterException("The referenced task was not found.")
        task = copy.deepcopy(current.value)
        if task.get("desiredStatus") == "STOPPED":
            return {"task": task_view(task, include_tags=False)}
        task["desiredStatus"] = "STOPPED"
        task["stopCode"] = "UserInitiated"
        task["stoppedReason"] = reason or "Task stopped by user"
        task["tags"] = []
        task["version"] = int(task.get("version", 1)) + 1
        try:
            await ecs.store.commit(
                [Put(current.key, task, expected_revision=current.revision, labels=task_labels(task))]
            )
        except Conflict:
            continue
        return {"task": task_view(task, include_tags=False)}
    raise errors.ServerException("The task could not be updated; try again.")


@api.operation("DescribeTasks")
async def describe_tasks(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    refs = request["tasks"]
    if not refs:
        raise errors.InvalidParameterException("Tasks cannot be empty.")
    if len(refs) > 100:
        raise errors.InvalidParameterException("taskIds can have at most 100 items.")
    cluster = await get_cluster(ecs, ctx, request.get("cluster"))
    name = cluster.value["clusterName"]
    include_tags = "TAGS" in (request.get("include") or [])
    tasks = []
    failures = []
    for ref in refs:
        store_name, task_arn = _task_name(ctx, name, ref)
        found = await ecs.store.get(key(ctx, TASK, store_name)) if store_name.startswith(name + "/") else None
        if found is None:
            failures.append({"arn": task_arn, "reason": "MISSING"})
        else:
            tasks.append(task_view(found.value, include_tags=include_tags))
    return {"tasks": tasks, "failures": failures}


def _family(task: dict[str, Any]) -> str:
    return str(task["taskDefinitionArn"]).rsplit("/", 1)[-1].rsplit(":", 1)[0]


@api.operation("ListTasks")
async def list_tasks(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    cluster = cluster_name(request.get("cluster"))
    found = await ecs.store.get(key(ctx, CLUSTER, cluster))
    if found is None:
        raise errors.ClusterNotFoundException("Cluster not found.")
    started_by = request.get("startedBy")
    if started_by and any(request.get(f) for f in ("family", "containerInstance", "serviceName")):
        raise errors.InvalidParameterException(
            "startedBy may not be specified with any other filter (family, containerInstance, serviceName)."
        )
    service = request.get("serviceName")
    if service is not None:
        service_name = service.rsplit("/", 1)[-1]
        if await ecs.store.get(key(ctx, "ecs:service", f"{cluster}/{service_name}")) is None:
            raise errors.ServiceNotFoundException("Service not found.")
    instance = request.get("containerInstance")
    desired = request.get("desiredStatus", "RUNNING")
    max_results = request.get("maxResults")
    if max_results is not None and not 1 <= max_results <= 100:
        raise errors.InvalidParameterException("maxResults must be between 1 and 100.")

    def wanted(task: dict[str, Any]) -> bool:
        if task.get("desiredStatus") != desired:
            return False
        if started_by is not None and task.get("startedBy") != started_by:
            return False
        if request.get("family") is not None and _family(task) != request["family"]:
            return False
        if request.get("launchType") is not None and task.get("launchType") != request["launchType"]:
            return False
        if service is not None and task.get("group") != f"service:{service.rsplit('/', 1)[-1]}":
            return False
        if instance is not None:
            arn = task.get("containerInstanceArn", "")
            if arn != instance and arn.rsplit("/", 1)[-1] != instance:
                return False
        return True

    docs: list[Versioned] = [
        v
        for v in await ecs.store.list(
            TASK, account_id=ctx.account_id, region=ctx.region, prefix=f"{cluster}/"
        )
        if wanted(v.value)
    ]
    try:
        page, token = paginate(
            docs, key=lambda v: v.key.name, max_results=max_results, next_token=request.get("nextToken")
        )
    except InvalidToken as exc:
        raise errors.InvalidParameterException("Invalid nextToken.") from exc
    result: dict[str, Any] = {"taskArns": [v.value["taskArn"] for v in page]}
    if token:
        result["nextToken"] = token
    return result
