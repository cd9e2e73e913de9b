"""Cluster documents: what a request may set, the counts computed on read, and what a response shows.

A cluster is stored (kind `ecs:cluster`, name = cluster name) in the shape of the ECS `Cluster`.
Counts are never stored: they are computed from the container instance, task and service
documents of the cluster whenever a cluster is shown.

| member                          | Create/Update/Delete | DescribeClusters                  |
|---------------------------------|----------------------|-----------------------------------|
| arn, name, status, counts       | yes                  | yes                               |
| capacityProviders, default...   | yes                  | yes                               |
| serviceConnectDefaults          | when set             | when set                          |
| settings / tags / statistics    | yes / yes / []       | [] unless SETTINGS/TAGS/STATISTICS |
| configuration                   | when set             | with CONFIGURATIONS               |
| attachments, attachmentsStatus  | when not empty       | with ATTACHMENTS                  |
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.errors import InvalidParameterException
from dockyard.services.ecs.resources import CONTAINER_INSTANCE, TASK

__all__ = [
    "SERVICE",
    "FARGATE_PROVIDERS",
    "MIXED_STRATEGY",
    "MAX_CLUSTER_PROVIDERS",
    "is_fargate_spec",
    "ClusterCounts",
    "cluster_counts",
    "check_cluster_name",
    "check_settings",
    "merge_settings",
    "check_capacity_providers",
    "render_cluster",
]

SERVICE = "ecs:service"
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
MIXED_STRATEGY = (
    "A capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups "
    "and Fargate providers. Specify one or the other and try again."
)
MAX_CLUSTER_PROVIDERS = 20
_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_INSIGHTS = ("enhanced", "enabled", "disabled")
_PENDING = frozenset({"PROVISIONING", "PENDING", "ACTIVATING"})

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClusterCounts:
    registered_instances: int = 0
    running_tasks: int = 0
    pending_tasks: int = 0
    active_services: int = 0
    live_services: int = 0  # ACTIVE or DRAINING: they keep a cluster from being deleted
    live_tasks: int = 0  # not yet STOPPED: they keep a cluster from being deleted
    statistics: tuple[tuple[str, int], ...] = ()


async def cluster_counts(ecs: Ecs, ctx: RequestContext, name: str) -> ClusterCounts:
    scope = {"account_id": ctx.account_id, "region": ctx.region, "prefix": f"{name}/"}
    instances = [v.value for v in await ecs.store.list(CONTAINER_INSTANCE, **scope)]
    tasks = [v.value for v in await ecs.store.list(TASK, **scope)]
    services = [v.value for v in await ecs.store.list(SERVICE, **scope)]
    stats = {
        f"{state}{kind}TasksCount": 0 for state in ("running", "pending") for kind in ("EC2", "Fargate")
    } | {f"{state}{kind}ServiceCount": 0 for state in ("active", "draining") for kind in ("EC2", "Fargate")}
    for task in tasks:
        kind = "Fargate" if task.get("launchType") == "FARGATE" else "EC2"
        if task.get("lastStatus") == "RUNNING":
            stats[f"running{kind}TasksCount"] += 1
        elif task.get("lastStatus") in _PENDING:
            stats[f"pending{kind}TasksCount"] += 1
    for service in services:
        kind = "Fargate" if is_fargate_spec(service) else "EC2"
        if service.get("status") in ("ACTIVE", "DRAINING"):
            stats[f"{service['status'].lower()}{kind}ServiceCount"] += 1
    return ClusterCounts(
        registered_instances=sum(1 for i in instances if i.get("status") in ("ACTIVE", "DRAINING")),
        running_tasks=sum(1 for t in tasks if t.get("lastStatus") == "RUNNING"),
        pending_tasks=sum(1 for t in tasks if t.get("lastStatus") in _PENDING),
        active_services=sum(1 for s in services if s.get("status") == "ACTIVE"),
        live_services=sum(1 for s in services if s.get("status") in ("ACTIVE", "DRAINING")),
        live_tasks=sum(1 for t in tasks if t.get("lastStatus") != "STOPPED"),
        statistics=tuple(stats.items()),
    )


def is_fargate_spec(service: Mapping[str, Any]) -> bool:
    """A service (or deployment spec) that runs on Fargate: launch type FARGATE, or a strategy of
    Fargate providers."""
    if service.get("launchType") == "FARGATE":
        return True
    strategy = service.get("capacityProviderStrategy") or []
    return bool(strategy) and all(i.get("capacityProvider") in FARGATE_PROVIDERS for i in strategy)


def check_cluster_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InvalidParameterException(
            "Cluster name can have up to 255 letters (uppercase and lowercase), numbers, underscores, "
            "and hyphens."
        )


def check_settings(settings: Iterable[Mapping[str, Any]]) -> None:
    for setting in settings:
        if setting.get("name") is None:
            raise InvalidParameterException("Cluster setting name must be specified.")
        if setting.get("value") not in _INSIGHTS:
            raise InvalidParameterException(
                f"Cluster setting value for {setting['name']} should be one of [{', '.join(_INSIGHTS)}]."
            )


def merge_settings(
    current: Iterable[Mapping[str, Any]], given: Iterable[Mapping[str, Any]]
) -> list[Document]:
    merged = {s["name"]: s["value"] for s in current}
    merged.update({s["name"]: s["value"] for s in given})
    return [{"name": k, "value": v} for k, v in merged.items()]


def check_capacity_providers(
    providers: list[str], strategy: list[Mapping[str, Any]], *, known: Collection[str] = FARGATE_PROVIDERS
) -> tuple[list[str], list[Document]]:
    """Validate a cluster's providers and default strategy (reference §7.2); returns them normalized.

    `known`: the providers that exist (Fargate's and the account's ACTIVE Auto Scaling group ones)."""
    for provider in providers:
        if provider not in known:
            raise InvalidParameterException(
                f"The specified capacity provider '{provider}' does not exist. Specify a valid name or ARN "
                "and try again."
            )
    if len(providers) > MAX_CLUSTER_PROVIDERS:
        raise InvalidParameterException(
            "The maximum number of capacity providers per cluster has been exceeded."
        )
    if len(set(providers)) != len(providers):
        raise InvalidParameterException("The specified capacity providers cannot contain duplicates.")
    items: list[Document] = []
    for item in strategy:
        name = item["capacityProvider"]
        if name not in providers:
            raise InvalidParameterException(
                "The specified capacity provider strategy cannot contain a capacity provider that is not "
                "associated with the cluster. Associate the capacity provider with the cluster or specify a "
                "valid capacity provider and try again."
            )
        items.append({"capacityProvider": name, "weight": item.get("weight", 0), "base": item.get("base", 0)})
    if len({i["capacityProvider"] for i in items}) != len(items):
        raise InvalidParameterException(
            "The capacity provider strategy cannot contain duplicate capacity providers."
        )
    if len({i["capacityProvider"] in FARGATE_PROVIDERS for i in items}) > 1:
        raise InvalidParameterException(MIXED_STRATEGY)
    if sum(1 for i in items if i["base"] > 0) > 1:
        raise InvalidParameterException(
            "The capacity provider strategy can contain a maximum of one capacity provider with a base "
            "value greater than 0."
        )
    return list(providers), items


def render_cluster(
    doc: Mapping[str, Any], counts: ClusterCounts, include: set[str] | None = None
) -> Document:
    """The Cluster a response shows: `include` None for mutations, the include set for Describe."""
    out: Document = {
        "clusterArn": doc["clusterArn"],
        "clusterName": doc["clusterName"],
        "status": doc["status"],
        "registeredContainerInstancesCount": counts.registered_instances,
        "runningTasksCount": counts.running_tasks,
        "pendingTasksCount": counts.pending_tasks,
        "activeServicesCount": counts.active_services,
        "statistics": [],
        "tags": list(doc.get("tags", [])),
        "settings": list(doc.get("settings", [])),
        "capacityProviders": list(doc.get("capacityProviders", [])),
        "defaultCapacityProviderStrategy": list(doc.get("defaultCapacityProviderStrategy", [])),
    }
    if doc.get("serviceConnectDefaults"):
        out["serviceConnectDefaults"] = doc["serviceConnectDefaults"]
    if include is None or "CONFIGURATIONS" in include:
        if doc.get("configuration") is not None:
            out["configuration"] = doc["configuration"]
    if include is None:
        if doc.get("attachments"):
            out["attachments"] = doc["attachments"]
            out["attachmentsStatus"] = doc.get("attachmentsStatus", "UPDATE_COMPLETE")
        return out
    if "ATTACHMENTS" in include:
        out["attachments"] = list(doc.get("attachments", []))
        if doc.get("attachmentsStatus"):
            out["attachmentsStatus"] = doc["attachmentsStatus"]
    if "STATISTICS" in include:
        out["statistics"] = [{"name": k, "value": str(v)} for k, v in counts.statistics]
    if "TAGS" not in include:
        out["tags"] = []
    if "SETTINGS" not in include:
        out["settings"] = []
    return out
