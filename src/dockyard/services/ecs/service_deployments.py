"""The 2024 service history API: ListServiceDeployments, DescribeServiceDeployments,
DescribeServiceRevisions.

Every deployment of a service has a ServiceDeployment (status PENDING -> IN_PROGRESS ->
SUCCESSFUL | STOPPED | ROLLBACK_IN_PROGRESS -> ROLLBACK_SUCCESSFUL, its circuit breaker's
`{status, failureCount, threshold}` and any `rollback`) and a ServiceRevision (what it runs).
Both are written by the service handlers and the scheduler (service_rollout.py,
service_pass.py); here they are only read. Task counts of a deployment still running are live.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ecs import errors
from dockyard.services.ecs.api import api
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.paging import page
from dockyard.services.ecs.resources import TASK
from dockyard.services.ecs.service_documents import SERVICE, SERVICE_DEPLOYMENT, SERVICE_REVISION, task_counts
from dockyard.services.ecs.service_rollout import document_key
from dockyard.services.ecs.services import find_service
from dockyard.store import Key, Versioned

__all__ = ["list_service_deployments", "describe_service_deployments", "describe_service_revisions"]

_IN_PROGRESS = frozenset(
    {"PENDING", "IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED"}
)
_BRIEF = (
    "serviceDeploymentArn",
    "serviceArn",
    "clusterArn",
    "startedAt",
    "createdAt",
    "finishedAt",
    "status",
    "statusReason",
)


def _order(doc: Versioned) -> tuple[float, str]:
    return -float(doc.value["createdAt"]), doc.key.name


def _check_arns(arns: list[str]) -> None:
    if not arns:
        raise errors.InvalidParameterException("The ARN list cannot be empty.")
    if len(arns) > 20:
        raise errors.InvalidParameterException("You can specify a maximum of 20 ARNs.")


@api.operation("ListServiceDeployments")
async def list_service_deployments(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    service = await find_service(ecs, ctx, request.get("cluster"), request["service"])
    doc = service.value
    statuses = set(request.get("status") or [])
    window = request.get("createdAt") or {}
    found = await ecs.store.list(
        SERVICE_DEPLOYMENT, account_id=ctx.account_id, region=ctx.region, prefix=f"{service.key.name}/"
    )
    items = [
        v
        for v in found
        if v.value.get("serviceArn") == doc["serviceArn"]
        and float(v.value.get("createdAt", 0)) >= float(doc.get("createdAt", 0))
        and (not statuses or v.value.get("status") in statuses)
        and (window.get("before") is None or float(v.value["createdAt"]) < float(window["before"]))
        and (window.get("after") is None or float(v.value["createdAt"]) > float(window["after"]))
    ]
    newest_first = sorted(items, key=_order)
    chosen, token = page(newest_first, request, key=_order, default=20)
    briefs = []
    for item in chosen:
        brief = {name: item.value[name] for name in _BRIEF if item.value.get(name) is not None}
        brief["targetServiceRevisionArn"] = item.value["targetServiceRevision"]["arn"]
        briefs.append(brief)
    result: dict[str, Any] = {"serviceDeployments": briefs}
    if token:
        result["nextToken"] = token
    return result


async def _live_counts(ecs: Ecs, doc: Mapping[str, Any], cache: dict[str, Any]) -> dict[str, Any] | None:
    """The service of a ServiceDeployment with its task counts per deployment (cached per call)."""
    service_arn = str(doc["serviceArn"])
    if service_arn not in cache:
        sd_key = document_key(str(doc["serviceDeploymentArn"]), SERVICE_DEPLOYMENT)
        assert sd_key is not None
        cluster, name, _ = sd_key.name.split("/")
        found = await ecs.store.get(Key(sd_key.account_id, sd_key.region, SERVICE, f"{cluster}/{name}"))
        if found is None or found.value.get("serviceArn") != service_arn:
            cache[service_arn] = None
        else:
            tasks = [
                v.value
                for v in await ecs.store.find(
                    TASK, "service", found.key.name, account_id=found.key.account_id, region=found.key.region
                )
            ]
            cache[service_arn] = {"service": found.value, "counts": task_counts(tasks)}
    result: dict[str, Any] | None = cache[service_arn]
    return result


async def _render_deployment(ecs: Ecs, found: Versioned, cache: dict[str, Any]) -> dict[str, Any]:
    doc = {k: v for k, v in found.value.items() if k != "dockyard"}
    if doc.get("status") not in _IN_PROGRESS:
        return doc
    live = await _live_counts(ecs, found.value, cache)
    if live is None:
        return doc
    deployment_id = found.value.get("dockyard", {}).get("deploymentId", "")
    running, pending = live["counts"].get(deployment_id, (0, 0))
    target = dict(doc["targetServiceRevision"])
    target.update(
        requestedTaskCount=int(live["service"].get("desiredCount", 0)),
        runningTaskCount=running,
        pendingTaskCount=pending,
    )
    doc["targetServiceRevision"] = target
    return doc


@api.operation("DescribeServiceDeployments")
async def describe_service_deployments(
    ecs: Ecs, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    arns = request["serviceDeploymentArns"]
    _check_arns(arns)
    cache: dict[str, Any] = {}
    deployments = []
    failures = []
    for arn in arns:
        sd_key = document_key(arn, SERVICE_DEPLOYMENT)
        found = await ecs.store.get(sd_key) if sd_key is not None and _own(ctx, sd_key) else None
        if found is None:
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        deployments.append(await _render_deployment(ecs, found, cache))
    return {"serviceDeployments": deployments, "failures": failures}


def _own(ctx: RequestContext, found_key: Key) -> bool:
    return bool(found_key.account_id == ctx.account_id and found_key.region == ctx.region)


@api.operation("DescribeServiceRevisions")
async def describe_service_revisions(
    ecs: Ecs, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    arns = request["serviceRevisionArns"]
    _check_arns(arns)
    revisions = []
    failures = []
    for arn in arns:
        revision_key = document_key(arn, SERVICE_REVISION)
        found = (
            await ecs.store.get(revision_key)
            if revision_key is not None and _own(ctx, revision_key)
            else None
        )
        if found is None:
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        revisions.append(found.value)
    return {"serviceRevisions": revisions, "failures": failures}
