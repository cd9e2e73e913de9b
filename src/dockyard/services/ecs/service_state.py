"""What one pass of the service scheduler reads, and the planner's view of it.

```
store --read_observed--> Observed (the service's task documents, STOPPED ones included;
                                   the cluster's instances with what runs on them: EC2/EXTERNAL only)
Observed + service document --build_state--> ServiceState (scheduler/service_model.py)
```

A service's tasks are found through the `service` label every service task carries
(`<cluster>/<name>`, see `task_launch.task_labels`); the deployment a task belongs to is its
`dockyard.deployment`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.scheduler import (
    Constraint,
    NodeView,
    PlacementSpecError,
    Resources,
    parse_constraints,
    parse_strategies,
)
from dockyard.scheduler.capacity_split import strategy_items
from dockyard.scheduler.service_model import ServiceState, ServiceTask
from dockyard.scheduler.service_plan import daemon_nodes, strategies_or_default
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.instance_resources import demand_from_record, node_view
from dockyard.services.ecs.resources import CONTAINER_INSTANCE, TASK
from dockyard.services.ecs.service_documents import internal, primary
from dockyard.services.ecs.service_targets import TargetHealth, TargetSync
from dockyard.store import Key, Versioned

__all__ = ["Observed", "read_observed", "service_task", "build_state", "uses_instances", "constraints_of"]


@dataclass(frozen=True, slots=True)
class Observed:
    tasks: list[Versioned]
    instances: list[Versioned] = field(default_factory=list)
    nodes: tuple[NodeView, ...] = ()


def uses_instances(service: Mapping[str, Any]) -> bool:
    """EC2 / EXTERNAL services (and every DAEMON) place on container instances; Fargate does not."""
    if service.get("schedulingStrategy") == "DAEMON":
        return True
    if service.get("launchType") in ("EC2", "EXTERNAL"):
        return True
    strategy = service.get("capacityProviderStrategy") or []
    return bool(strategy) and any(
        i.get("capacityProvider") not in ("FARGATE", "FARGATE_SPOT") for i in strategy
    )


async def read_observed(ecs: Ecs, key: Key, service: Mapping[str, Any]) -> Observed:
    tasks = await ecs.store.find(TASK, "service", key.name, account_id=key.account_id, region=key.region)
    if not uses_instances(service):
        return Observed(tasks)
    cluster = key.name.split("/", 1)[0]
    scope = {"account_id": key.account_id, "region": key.region, "prefix": f"{cluster}/"}
    instances = [
        v for v in await ecs.store.list(CONTAINER_INSTANCE, **scope) if v.value.get("status") != "INACTIVE"
    ]
    placed: dict[str, list[dict[str, Any]]] = {}
    arns = {v.value["containerInstanceArn"] for v in instances}
    for task in await ecs.store.list(TASK, **scope):
        node = str(task.value.get("containerInstanceArn", ""))
        if node in arns and task.value.get("lastStatus") != "STOPPED":
            placed.setdefault(node, []).append(task.value)
    nodes = tuple(node_view(v.value, placed.get(v.value["containerInstanceArn"], ())) for v in instances)
    return Observed(tasks, instances, nodes)


def _health_checked(task: Mapping[str, Any]) -> bool:
    definitions = task.get("dockyard", {}).get("taskDefinition", {}).get("containerDefinitions", [])
    return any(c.get("essential", True) and c.get("healthCheck") for c in definitions)


def service_task(task: Mapping[str, Any], lb: TargetHealth | None = None) -> ServiceTask:
    reserved = task.get("dockyard", {}).get("reserved")
    return ServiceTask(
        arn=str(task["taskArn"]),
        deployment=str(task.get("dockyard", {}).get("deployment", "")),
        last_status=str(task.get("lastStatus", "PROVISIONING")),
        desired_status=str(task.get("desiredStatus", "RUNNING")),
        health=str(task.get("healthStatus", "UNKNOWN")),
        health_checked=_health_checked(task),
        created_at=float(task.get("createdAt", 0.0)),
        started_at=float(task["startedAt"]) if task.get("startedAt") is not None else None,
        stop_code=task.get("stopCode"),
        node=task.get("containerInstanceArn"),
        availability_zone=task.get("availabilityZone"),
        resources=demand_from_record(reserved) if reserved else Resources(),
        capacity_provider=task.get("capacityProviderName"),
        lb_health=lb.status if lb is not None else None,
        lb_group=lb.group if lb is not None else None,
    )


def constraints_of(service: Mapping[str, Any]) -> tuple[Constraint, ...]:
    """The primary deployment's placement constraints: its task definition's, then the service's
    (both validated when the deployment was made)."""
    record = internal(service).get("deployments", {}).get(primary(service)["id"], {})
    try:
        return parse_constraints(
            service.get("placementConstraints") or [], task_definition=record.get("tdConstraints") or []
        )
    except PlacementSpecError:
        return ()


def build_state(
    ecs: Ecs,
    service: Mapping[str, Any],
    observed: Observed,
    *,
    now: float,
    targets: TargetSync | None = None,
) -> ServiceState:
    settings = ecs.settings
    head = primary(service)
    config = service.get("deploymentConfiguration", {})
    scheduling = str(service.get("schedulingStrategy", "REPLICA"))
    try:
        strategies = strategies_or_default(parse_strategies(service.get("placementStrategy") or []))
    except PlacementSpecError:
        strategies = strategies_or_default(())
    daemon = None
    if scheduling == "DAEMON":
        external = service.get("launchType") == "EXTERNAL"
        constraints = constraints_of(service)
        daemon = daemon_nodes(observed.nodes, constraints, external=external)
    backoff = internal(service).get("backoff") or {}
    deployments = sorted(
        service.get("deployments", []), key=lambda d: (d["status"] == "PRIMARY", d["createdAt"])
    )
    return ServiceState(
        now=now,
        primary=head["id"],
        desired=int(service.get("desiredCount", 0)),
        tasks=tuple(
            service_task(t.value, targets.health_of(t.value) if targets is not None else None)
            for t in observed.tasks
        ),
        scheduling=scheduling,
        minimum_healthy_percent=int(config.get("minimumHealthyPercent", 100)),
        maximum_percent=int(config.get("maximumPercent", 200)),
        grace_period=float(service.get("healthCheckGracePeriodSeconds") or 0),
        healthy_delay=settings.service_healthy_delay,
        active=service.get("status") == "ACTIVE",
        primary_failed=head.get("rolloutState") == "FAILED",
        deployments=tuple(d["id"] for d in deployments),
        nodes=observed.nodes,
        strategies=strategies,
        daemon_nodes=daemon,
        launch_after=float(backoff.get("until", 0.0)),
        max_starts=settings.service_launch_batch,
        capacity_strategy=strategy_items(service.get("capacityProviderStrategy") or []),
    )
