"""Turning a RunTask / StartTask request into a validated `Launch`, with ECS's errors.

Everything a request can get wrong is checked here, before anything is written: the cluster, the
task definition and its status, launch type versus capacity provider strategy
(capacity_strategy.py), compatibility,
placement constraints and strategies (reference §5.2, §5.3: the task definition's constraints
and the request's together), network configuration, overrides and tags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.tags import TagError, check_tags
from dockyard.scheduler import Constraint, PlacementSpecError, Strategy, parse_constraints, parse_strategies
from dockyard.scheduler.capacity_split import StrategyItem
from dockyard.services.ecs import errors
from dockyard.services.ecs.capacity_strategy import resolve_capacity
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.networking import Subnet, resolve_subnets
from dockyard.services.ecs.resources import get_cluster
from dockyard.services.ecs.taskdef_fargate import fargate_combination_valid
from dockyard.services.ecs.taskdef_lookup import resolve_task_definition, task_resources

__all__ = ["Launch", "launch_from_request", "FARGATE_PLATFORM_VERSIONS"]

FARGATE_PLATFORM_VERSIONS = {"LATEST": "1.4.0", "1.4.0": "1.4.0", "1.3.0": "1.3.0"}


@dataclass(frozen=True, slots=True)
class Launch:
    cluster: dict[str, Any]
    task_definition: dict[str, Any]
    launch_type: str  # FARGATE | EC2 | EXTERNAL
    capacity_provider: str | None
    overrides: dict[str, Any]
    cpu: int  # CPU units to reserve
    memory: int  # MiB to reserve
    task_cpu: str | None  # reported task-level values
    task_memory: str | None
    group: str
    started_by: str | None
    tags: list[dict[str, str]]
    subnets: list[Subnet] | None
    platform_version: str | None
    enable_execute_command: bool
    extra: dict[str, Any] = field(default_factory=dict)
    constraints: tuple[Constraint, ...] = ()  # the task definition's, then the request's
    strategies: tuple[Strategy, ...] = ()  # none: random (reference §5.1)
    # The capacity provider strategy tasks are split by (empty: a launch type was used).
    capacity_strategy: tuple[StrategyItem, ...] = ()
    # Providers with managed scaling: their tasks wait in PROVISIONING when nothing fits.
    waiting_providers: frozenset[str] = frozenset()


async def launch_from_request(
    ecs: Ecs,
    ctx: RequestContext,
    request: dict[str, Any],
    *,
    launch_type_default: str | None = None,
    allow_inactive: bool = False,
) -> Launch:
    """`allow_inactive`: a service keeps launching the revision it runs after it is deregistered."""
    cluster = await get_cluster(ecs, ctx, request.get("cluster"))
    if cluster.value.get("status") != "ACTIVE":
        raise errors.ClientException("Cluster was not ACTIVE.")
    td_doc = await resolve_task_definition(ecs, ctx, request["taskDefinition"])
    td = td_doc.value
    if td.get("status") != "ACTIVE" and not (allow_inactive and td.get("status") == "INACTIVE"):
        raise errors.InvalidParameterException("TaskDefinition is inactive")

    capacity = await resolve_capacity(ecs, ctx, cluster.value, request, launch_type_default)
    launch_type = capacity.launch_type
    if launch_type not in td.get("compatibilities", []):
        raise errors.InvalidParameterException(f"Task definition does not support launch_type {launch_type}.")
    platform_version = _platform_version(launch_type, request.get("platformVersion"))
    constraints, strategies = _placement(td, request, launch_type)
    overrides = _overrides(td, request.get("overrides") or {})
    task_cpu = overrides.get("cpu") or td.get("cpu")
    task_memory = overrides.get("memory") or td.get("memory")
    if launch_type == "FARGATE" and not fargate_combination_valid(task_cpu, task_memory):
        raise errors.ClientException("No Fargate configuration exists for given values.")
    cpu, memory = task_resources(
        {
            **td,
            "cpu": task_cpu,
            "memory": task_memory,
            "containerDefinitions": [
                _apply_container_override(c, overrides) for c in td.get("containerDefinitions", [])
            ],
        }
    )
    subnets = _network(ctx, td, request.get("networkConfiguration"))
    tags = list(request.get("tags") or [])
    try:
        check_tags(tags)
    except TagError as exc:
        raise errors.InvalidParameterException(str(exc)) from exc
    if request.get("propagateTags") == "TASK_DEFINITION":
        tags = _merge(td_doc.value.get("tags", []), tags)
    if request.get("enableECSManagedTags"):
        tags = _merge(tags, [{"key": "aws:ecs:clusterName", "value": cluster.value["clusterName"]}])
    started_by = request.get("startedBy")
    if started_by is not None and len(started_by) > 128:
        raise errors.InvalidParameterException("startedBy must be 128 characters or fewer.")
    group = request.get("group") or f"family:{td['family']}"
    if len(group) > 255:
        raise errors.InvalidParameterException("group must be 255 characters or fewer.")
    return Launch(
        cluster=cluster.value,
        task_definition=td,
        launch_type=launch_type,
        capacity_provider=capacity.single,
        overrides=overrides,
        cpu=cpu,
        memory=memory,
        task_cpu=task_cpu,
        task_memory=task_memory,
        group=group,
        started_by=started_by,
        tags=tags,
        subnets=subnets,
        platform_version=platform_version,
        enable_execute_command=bool(request.get("enableExecuteCommand", False)),
        extra={
            k: request[k]
            for k in ("placementConstraints", "placementStrategy", "referenceId")
            if request.get(k) is not None
        },
        constraints=constraints,
        strategies=strategies,
        capacity_strategy=capacity.strategy,
        waiting_providers=capacity.waiting,
    )


def _placement(
    td: dict[str, Any], request: dict[str, Any], launch_type: str
) -> tuple[tuple[Constraint, ...], tuple[Strategy, ...]]:
    requested_constraints = request.get("placementConstraints") or []
    requested_strategies = request.get("placementStrategy") or []
    if launch_type == "FARGATE":
        if requested_constraints:
            raise errors.InvalidParameterException(
                "Placement constraints are not supported with FARGATE launch type."
            )
        if requested_strategies:
            raise errors.InvalidParameterException(
                "Placement strategies are not supported with FARGATE launch type."
            )
        return (), ()
    try:
        constraints = parse_constraints(requested_constraints, task_definition=td.get("placementConstraints"))
        strategies = parse_strategies(requested_strategies)
    except PlacementSpecError as exc:
        raise errors.InvalidParameterException(exc.message) from exc
    return constraints, strategies


def _merge(first: list[dict[str, str]], second: list[dict[str, str]]) -> list[dict[str, str]]:
    merged = {t["key"]: t.get("value", "") for t in first}
    merged.update({t["key"]: t.get("value", "") for t in second})
    return [{"key": k, "value": v} for k, v in merged.items()]


def _platform_version(launch_type: str, requested: str | None) -> str | None:
    if launch_type != "FARGATE":
        if requested:
            raise errors.InvalidParameterException(
                f"The platform version must be null when specifying an {launch_type} launch type."
            )
        return None
    version = FARGATE_PLATFORM_VERSIONS.get(requested or "LATEST")
    if version is None:
        raise errors.PlatformUnknownException(f"The specified platform version ({requested}) does not exist.")
    return version


def _overrides(td: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    names = {c["name"] for c in td.get("containerDefinitions", [])}
    for item in overrides.get("containerOverrides", []):
        name = item.get("name")
        if name is None:
            raise errors.InvalidParameterException("Container overrides must specify a container name.")
        if name not in names:
            raise errors.InvalidParameterException(
                f"Override for container named {name} is not a container in the TaskDefinition."
            )
    return overrides


def _apply_container_override(container: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    for item in overrides.get("containerOverrides", []):
        if item.get("name") == container["name"]:
            merged = dict(container)
            for field_name in ("cpu", "memory", "memoryReservation"):
                if item.get(field_name) is not None:
                    merged[field_name] = item[field_name]
            return merged
    return container


def _network(ctx: RequestContext, td: dict[str, Any], config: dict[str, Any] | None) -> list[Subnet] | None:
    mode = td.get("networkMode", "bridge")
    if mode != "awsvpc":
        if config:
            raise errors.InvalidParameterException(
                "Network Configuration is not valid for the given networkMode of this task definition."
            )
        return None
    vpc = (config or {}).get("awsvpcConfiguration")
    if vpc is None:
        raise errors.InvalidParameterException(
            "Network Configuration must be provided when networkMode 'awsvpc' is specified."
        )
    subnet_ids = vpc.get("subnets") or []
    if not subnet_ids:
        raise errors.InvalidParameterException("subnets can not be empty.")
    if len(subnet_ids) > 16:
        raise errors.InvalidParameterException("subnets can have at most 16 items.")
    if len(vpc.get("securityGroups") or []) > 5:
        raise errors.InvalidParameterException("securityGroups can have at most 5 items.")
    return resolve_subnets(ctx, subnet_ids)
