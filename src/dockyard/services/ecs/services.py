"""ECS service operations: CreateService, UpdateService, DeleteService, DescribeServices, ListServices.

The handlers validate (service_validation.py), change the service document and commit it with
its deployment documents; they never start or stop a task themselves. The service scheduler
(service_controller.py) is woken by the commit and does the rest.

```
CreateService  -> ACTIVE, deployment 1 (PRIMARY, IN_PROGRESS)
UpdateService  -> desiredCount / configuration only: the same deployment
                  new task definition, network, placement, platform, capacity, forceNewDeployment:
                  a new PRIMARY deployment (the old one ACTIVE until its tasks are gone)
DeleteService  -> DRAINING (tasks stopped) -> INACTIVE (still describable) -> purged
```
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import parse_arn
from dockyard.services.ecs import errors
from dockyard.services.ecs.api import api
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.paging import page
from dockyard.services.ecs.resources import TASK, get_cluster, key
from dockyard.services.ecs.service_documents import (
    SERVICE,
    internal,
    primary,
    render_service,
    service_arn,
    task_counts,
)
from dockyard.services.ecs.service_rollout import new_deployment, source_revisions, spec_of, stop_previous
from dockyard.services.ecs.service_targets import check_target_groups
from dockyard.services.ecs.service_validation import (
    DAEMON_DESIRED_COUNT,
    capacity_choice,
    check_client_token,
    check_controller,
    check_daemon,
    check_desired_count,
    check_grace_period,
    check_service_name,
    check_tags_of,
    check_unsupported,
    deployment_configuration,
    finish_spec,
    validated_launch,
)
from dockyard.services.ecs.task_launch import request_hash
from dockyard.store import Conflict, Put, Versioned, Write

__all__ = [
    "create_service",
    "update_service",
    "delete_service",
    "describe_services",
    "list_services",
    "find_service",
    "service_tasks",
]

_ATTEMPTS = 8
_NOT_FOUND = "Service not found."


def _service_name(ref: str) -> tuple[str | None, str]:
    """(cluster named by an ARN or None, service name) for a name or either ARN format."""
    parsed = parse_arn(ref)
    if parsed is None:
        return None, ref
    parts = parsed.resource_path.split("/")
    return (parts[0] if len(parts) == 2 else None), parts[-1]


async def find_service(ecs: Ecs, ctx: RequestContext, cluster_ref: str | None, ref: str) -> Versioned:
    """The stored service (any status) or ServiceNotFoundException."""
    cluster = await get_cluster(ecs, ctx, cluster_ref)
    name = cluster.value["clusterName"]
    named_cluster, service = _service_name(ref)
    if named_cluster is not None and named_cluster != name:
        raise errors.ServiceNotFoundException(_NOT_FOUND)
    found = await ecs.store.get(key(ctx, SERVICE, f"{name}/{service}"))
    if found is None:
        raise errors.ServiceNotFoundException(_NOT_FOUND)
    return found


async def service_tasks(ecs: Ecs, doc: Versioned) -> list[dict[str, Any]]:
    k = doc.key
    return [
        v.value
        for v in await ecs.store.find(TASK, "service", k.name, account_id=k.account_id, region=k.region)
    ]


@api.operation("CreateService")
async def create_service(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    cluster_doc = await get_cluster(ecs, ctx, request.get("cluster"))
    cluster = cluster_doc.value
    if cluster.get("status") != "ACTIVE":
        raise errors.ClientException("Cluster was not ACTIVE.")
    name = request["serviceName"]
    check_service_name(name)
    token = request.get("clientToken")
    check_client_token(token)
    scheduling = request.get("schedulingStrategy") or "REPLICA"
    check_controller(request.get("deploymentController"))
    check_unsupported(request)
    check_desired_count(request.get("desiredCount"), scheduling, required=True)
    if scheduling == "DAEMON":
        check_daemon(request, cluster)
    store_key = key(ctx, SERVICE, f"{cluster['clusterName']}/{name}")
    existing = await ecs.store.get(store_key)
    digest = request_hash(request)
    if existing is not None and existing.value.get("status") in ("ACTIVE", "DRAINING"):
        state = internal(existing.value)
        if token and state.get("clientToken") == token and state.get("requestHash") == digest:
            return {"service": render_service(existing.value, await service_tasks(ecs, existing))}
        raise errors.InvalidParameterException("Creation of service was not idempotent.")
    if not request.get("taskDefinition"):
        raise errors.InvalidParameterException(
            "A task definition must be specified for a service that uses the ECS deployment controller."
        )
    spec: dict[str, Any] = {
        "taskDefinition": request["taskDefinition"],
        **capacity_choice(request, cluster),
        "placementConstraints": list(request.get("placementConstraints") or []),
        "placementStrategy": list(request.get("placementStrategy") or []),
        "loadBalancers": list(request.get("loadBalancers") or []),
        "serviceRegistries": list(request.get("serviceRegistries") or []),
    }
    for field in ("platformVersion", "networkConfiguration"):
        if request.get(field) is not None:
            spec[field] = request[field]
    launch = await validated_launch(ecs, ctx, cluster["clusterName"], spec)
    finish_spec(spec, launch, request.get("platformVersion"))
    if spec.get("loadBalancers"):
        network_mode = str(launch.task_definition.get("networkMode") or "bridge")
        await check_target_groups(ecs, ctx.account_id, ctx.region, spec["loadBalancers"], network_mode)
    check_grace_period(request.get("healthCheckGracePeriodSeconds"))
    config = deployment_configuration(request.get("deploymentConfiguration"), None, scheduling)
    tags = list(request.get("tags") or [])
    check_tags_of(tags)
    now = ecs.clock.now()
    doc: dict[str, Any] = {
        "serviceArn": service_arn(ctx, cluster["clusterName"], name),
        "serviceName": name,
        "clusterArn": cluster["clusterArn"],
        "status": "ACTIVE",
        "desiredCount": int(request.get("desiredCount") or 0),
        "runningCount": 0,
        "pendingCount": 0,
        "deploymentConfiguration": config,
        "taskSets": [],
        "deployments": [],
        "events": [],
        "createdAt": now,
        "schedulingStrategy": scheduling,
        "deploymentController": {"type": "ECS"},
        "tags": tags,
        "createdBy": f"arn:aws:iam::{ctx.account_id}:root",
        "enableECSManagedTags": bool(request.get("enableECSManagedTags", False)),
        "propagateTags": request.get("propagateTags") or "NONE",
        "enableExecuteCommand": bool(request.get("enableExecuteCommand", False)),
        "availabilityZoneRebalancing": request.get("availabilityZoneRebalancing")
        or ("DISABLED" if scheduling == "DAEMON" else "ENABLED"),
        "dockyard": {"clientToken": token, "requestHash": digest},
    }
    if request.get("healthCheckGracePeriodSeconds") is not None:
        doc["healthCheckGracePeriodSeconds"] = request["healthCheckGracePeriodSeconds"]
    if request.get("role"):
        doc["roleArn"] = request["role"]
    writes: list[Write] = new_deployment(
        ecs,
        ctx,
        doc,
        cluster=cluster["clusterName"],
        spec=spec,
        task_definition=launch.task_definition,
        sources=[],
        now=now,
    )
    writes.append(Put(store_key, doc, expected_revision=existing.revision if existing else 0))
    try:
        await ecs.store.commit(writes)
    except Conflict as exc:
        raise errors.InvalidParameterException("Creation of service was not idempotent.") from exc
    return {"service": render_service(doc, [])}


_SPEC_UPDATES = (
    "taskDefinition",
    "capacityProviderStrategy",
    "networkConfiguration",
    "placementConstraints",
    "placementStrategy",
    "platformVersion",
    "loadBalancers",
    "serviceRegistries",
)


@api.operation("UpdateService")
async def update_service(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    for attempt in range(_ATTEMPTS):
        current = await find_service(ecs, ctx, request.get("cluster"), request["service"])
        updated, writes = await _updated(ecs, ctx, current, request)
        try:
            await ecs.store.commit([*writes, Put(current.key, updated, expected_revision=current.revision)])
        except Conflict:
            if attempt == _ATTEMPTS - 1:
                raise errors.ServerException("The service could not be updated; try again.") from None
            continue
        return {"service": render_service(updated, await service_tasks(ecs, current))}
    raise AssertionError("unreachable")


async def _updated(
    ecs: Ecs, ctx: RequestContext, current: Versioned, request: dict[str, Any]
) -> tuple[dict[str, Any], list[Write]]:
    service = current.value
    if service.get("status") != "ACTIVE":
        raise errors.ServiceNotActiveException("Service was not ACTIVE.")
    cluster_doc = await get_cluster(ecs, ctx, request.get("cluster"))
    cluster = cluster_doc.value
    scheduling = service.get("schedulingStrategy", "REPLICA")
    if scheduling == "DAEMON" and request.get("desiredCount") is not None:
        raise errors.InvalidParameterException(DAEMON_DESIRED_COUNT)
    check_desired_count(request.get("desiredCount"), scheduling, required=False)
    if request.get("deploymentController") is not None:
        check_controller(request["deploymentController"])
    check_unsupported(request)
    if scheduling == "DAEMON":
        check_daemon({**request, "launchType": service.get("launchType")}, {})
    check_grace_period(request.get("healthCheckGracePeriodSeconds"))
    doc = copy.deepcopy(service)
    spec = spec_of(service)
    current_spec = copy.deepcopy(spec)
    for field in _SPEC_UPDATES:
        if request.get(field) is not None:
            spec[field] = request[field]
    if request.get("capacityProviderStrategy") is not None:
        spec.pop("launchType", None)
        spec.update(
            capacity_choice({"capacityProviderStrategy": request["capacityProviderStrategy"]}, cluster)
        )
    launch = await validated_launch(ecs, ctx, cluster["clusterName"], spec)
    finish_spec(spec, launch, request.get("platformVersion"))
    if spec.get("loadBalancers"):
        network_mode = str(launch.task_definition.get("networkMode") or "bridge")
        await check_target_groups(ecs, ctx.account_id, ctx.region, spec["loadBalancers"], network_mode)
    doc["deploymentConfiguration"] = deployment_configuration(
        request.get("deploymentConfiguration"), service.get("deploymentConfiguration"), scheduling
    )
    if request.get("desiredCount") is not None:
        doc["desiredCount"] = request["desiredCount"]
    if request.get("healthCheckGracePeriodSeconds") is not None:
        doc["healthCheckGracePeriodSeconds"] = request["healthCheckGracePeriodSeconds"]
    for field in (
        "enableExecuteCommand",
        "enableECSManagedTags",
        "propagateTags",
        "availabilityZoneRebalancing",
    ):
        if request.get(field) is not None:
            doc[field] = request[field]
    now = ecs.clock.now()
    writes: list[Write] = []
    if request.get("forceNewDeployment") or spec != current_spec:
        tasks = await service_tasks(ecs, current)
        writes += await stop_previous(ecs, service, now=now)
        writes += new_deployment(
            ecs,
            ctx,
            doc,
            cluster=cluster["clusterName"],
            spec=spec,
            task_definition=launch.task_definition,
            sources=source_revisions(service, task_counts(tasks)),
            now=now,
        )
    else:
        head = primary(doc)
        if head.get("desiredCount") != doc["desiredCount"]:
            head["desiredCount"] = doc["desiredCount"]
            head["updatedAt"] = now
    return doc, writes


@api.operation("DeleteService")
async def delete_service(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    for _attempt in range(_ATTEMPTS):
        current = await find_service(ecs, ctx, request.get("cluster"), request["service"])
        service = current.value
        if service.get("status") == "INACTIVE":
            raise errors.ServiceNotFoundException(_NOT_FOUND)
        if service.get("status") == "DRAINING":
            return {"service": render_service(service, await service_tasks(ecs, current))}
        if (
            service.get("schedulingStrategy", "REPLICA") == "REPLICA"
            and int(service.get("desiredCount", 0)) > 0
            and not request.get("force")
        ):
            raise errors.InvalidParameterException(
                "The service cannot be stopped while it is scaled above 0."
            )
        doc = copy.deepcopy(service)
        doc["status"] = "DRAINING"
        doc["desiredCount"] = 0
        head = primary(doc)
        head["desiredCount"] = 0
        head["updatedAt"] = ecs.clock.now()
        try:
            await ecs.store.commit([Put(current.key, doc, expected_revision=current.revision)])
        except Conflict:
            continue
        return {"service": render_service(doc, await service_tasks(ecs, current))}
    raise errors.ServerException("The service could not be deleted; try again.")


@api.operation("DescribeServices")
async def describe_services(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    refs = request["services"]
    if not refs:
        raise errors.InvalidParameterException("Services cannot be empty.")
    if len(refs) > 10:
        raise errors.InvalidParameterException("services can have at most 10 items.")
    cluster = await get_cluster(ecs, ctx, request.get("cluster"))
    name = cluster.value["clusterName"]
    include_tags = "TAGS" in (request.get("include") or [])
    services = []
    failures = []
    for ref in refs:
        named_cluster, service = _service_name(ref)
        found = None
        if named_cluster in (None, name):
            found = await ecs.store.get(key(ctx, SERVICE, f"{name}/{service}"))
        if found is None:
            arn = ref if ref.startswith("arn:") else service_arn(ctx, name, service)
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        services.append(
            render_service(found.value, await service_tasks(ecs, found), include_tags=include_tags)
        )
    return {"services": services, "failures": failures}


def _launch_type(service: Mapping[str, Any]) -> str | None:
    if service.get("launchType"):
        return str(service["launchType"])
    strategy = service.get("capacityProviderStrategy") or []
    if strategy and all(i.get("capacityProvider") in ("FARGATE", "FARGATE_SPOT") for i in strategy):
        return "FARGATE"
    return None


@api.operation("ListServices")
async def list_services(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    cluster = await get_cluster(ecs, ctx, request.get("cluster"))
    name = cluster.value["clusterName"]
    wanted_launch = request.get("launchType")
    wanted_strategy = request.get("schedulingStrategy")
    wanted_management = request.get("resourceManagementType")
    docs = [
        v
        for v in await ecs.store.list(
            SERVICE, account_id=ctx.account_id, region=ctx.region, prefix=f"{name}/"
        )
        if v.value.get("status") == "ACTIVE"
        and (wanted_launch is None or _launch_type(v.value) == wanted_launch)
        and (wanted_strategy is None or v.value.get("schedulingStrategy", "REPLICA") == wanted_strategy)
        and (
            wanted_management is None
            or v.value.get("resourceManagementType", "CUSTOMER") == wanted_management
        )
    ]
    items, token = page(docs, request, key=lambda v: v.key.name, default=10, limit=100)
    result: dict[str, Any] = {"serviceArns": [v.value["serviceArn"] for v in items]}
    if token:
        result["nextToken"] = token
    return result
