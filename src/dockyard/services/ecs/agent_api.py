"""The agent-facing ECS operations: DiscoverPollEndpoint and the Submit*StateChange calls.

Dockyard's own agent reports over the agent channel; these public operations apply the same
reports, so any client that speaks the ECS agent API is understood too.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ecs import errors
from dockyard.services.ecs.api import api
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import TASK, get_cluster, key
from dockyard.services.ecs.task_state import apply_report

__all__ = ["discover_poll_endpoint", "submit_task_state_change", "submit_container_state_change"]


@api.operation("DiscoverPollEndpoint")
async def discover_poll_endpoint(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    if request.get("cluster"):
        await get_cluster(ecs, ctx, request["cluster"])
    endpoint = ecs.settings.poll_endpoint
    return {"endpoint": endpoint, "telemetryEndpoint": endpoint, "serviceConnectEndpoint": endpoint}


async def _task_arn(ecs: Ecs, ctx: RequestContext, cluster: str | None, task: str) -> str:
    found = await get_cluster(ecs, ctx, cluster)
    name = found.value["clusterName"]
    task_id = task.rsplit("/", 1)[-1]
    doc = await ecs.store.get(key(ctx, TASK, f"{name}/{task_id}"))
    if doc is None:
        raise errors.InvalidParameterException("The referenced task was not found.")
    return str(doc.value["taskArn"])


def _container_report(item: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = {"name": item.get("containerName")}
    for name in ("runtimeId", "imageDigest", "exitCode", "reason", "networkBindings"):
        if item.get(name) is not None:
            report[name] = item[name]
    if item.get("status"):
        report["lastStatus"] = item["status"]
    return report


@api.operation("SubmitTaskStateChange")
async def submit_task_state_change(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    if not request.get("task"):
        raise errors.InvalidParameterException("Task cannot be empty.")
    report: dict[str, Any] = {
        "taskArn": await _task_arn(ecs, ctx, request.get("cluster"), request["task"]),
        "containers": [_container_report(c) for c in request.get("containers", [])],
    }
    if request.get("status"):
        report["lastStatus"] = request["status"]
    if request.get("reason"):
        report["stoppedReason"] = request["reason"]
    for name in ("pullStartedAt", "pullStoppedAt", "executionStoppedAt"):
        if request.get(name) is not None:
            report[name] = request[name]
    await apply_report(ecs, report)
    return {"acknowledgment": "ACK"}


@api.operation("SubmitContainerStateChange")
async def submit_container_state_change(
    ecs: Ecs, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    if not request.get("task"):
        raise errors.InvalidParameterException("Task cannot be empty.")
    report = {
        "taskArn": await _task_arn(ecs, ctx, request.get("cluster"), request["task"]),
        "containers": [_container_report(request)],
    }
    await apply_report(ecs, report)
    return {"acknowledgment": "ACK"}
