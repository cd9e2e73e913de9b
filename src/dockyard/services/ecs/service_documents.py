"""Service documents: store keys and ARNs, deployments, revisions, and what Describe shows.

| kind                    | name                          | document                                |
|-------------------------|-------------------------------|-----------------------------------------|
| ecs:service             | <cluster>/<service>           | Service (+ `dockyard`: see below)       |
| ecs:service-deployment  | <cluster>/<service>/<21 chars>| ServiceDeployment (2024 API)            |
| ecs:service-revision    | <cluster>/<service>/<19 dig.> | ServiceRevision                         |

A service is stored in the shape of the ECS `Service`. Its `deployments[]` hold the Deployment
objects (PRIMARY first, then ACTIVE ones); counts (`runningCount`, `pendingCount`, per deployment
too) are never stored: `render_service` computes them from the service's tasks. Internal state
lives under `dockyard`:

```
dockyard.deployments[<ecs-svc id>] = {spec, revisionArn, serviceDeploymentArn, counted[], failures}
dockyard.completed                 = the record of the last COMPLETED deployment (rollback target)
dockyard.backoff                   = {count, since, until}   launch backoff (reference §4.6)
dockyard.clientToken / requestHash = CreateService idempotency
```

A deployment's `spec` is what its tasks are launched with (task definition ARN, launch type or
capacity provider strategy, platform version, network configuration, placement, tag options).
A deployment `ecs-svc/<19 digits>` has the service revision `service-revision/.../<same digits>`
and one ServiceDeployment with a 21-character id.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.ids import IdGenerator
from dockyard.scheduler.service_model import PENDING_STATUSES, breaker_threshold
from dockyard.services.ecs.cluster_documents import SERVICE, is_fargate_spec
from dockyard.services.ecs.resources import ecs_arn

__all__ = [
    "SERVICE",
    "SERVICE_DEPLOYMENT",
    "SERVICE_REVISION",
    "DEPLOYMENT_SPEC_FIELDS",
    "service_arn",
    "service_key_name",
    "new_deployment_ids",
    "deployment_object",
    "revision_document",
    "service_deployment_document",
    "task_counts",
    "render_service",
    "primary",
    "internal",
]

SERVICE_DEPLOYMENT = "ecs:service-deployment"
SERVICE_REVISION = "ecs:service-revision"
# What a deployment launches with; a change to any of them starts a new deployment (§4.1).
DEPLOYMENT_SPEC_FIELDS = (
    "taskDefinition",
    "launchType",
    "capacityProviderStrategy",
    "platformVersion",
    "networkConfiguration",
    "placementConstraints",
    "placementStrategy",
    "loadBalancers",
    "serviceRegistries",
)
_ALPHABET = string.digits + string.ascii_letters

Document = dict[str, Any]


def service_arn(ctx: RequestContext, cluster: str, name: str) -> str:
    return ecs_arn(ctx, f"service/{cluster}/{name}")


def service_key_name(cluster: str, name: str) -> str:
    return f"{cluster}/{name}"


def _base62(number: int, length: int) -> str:
    out = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        out.append(_ALPHABET[digit])
    return "".join(out)


def new_deployment_ids(ids: IdGenerator) -> tuple[str, str]:
    """(`ecs-svc/<19 digits>`, the 21-character id of its ServiceDeployment)."""
    return f"ecs-svc/{ids.digits(19)}", _base62(int(ids.hex32(), 16), 21)


def internal(service: Mapping[str, Any]) -> dict[str, Any]:
    value = service.get("dockyard")
    return value if isinstance(value, dict) else {}


def primary(service: Mapping[str, Any]) -> dict[str, Any]:
    """The PRIMARY Deployment object."""
    return next(d for d in service["deployments"] if d["status"] == "PRIMARY")


def deployment_object(
    deployment_id: str,
    spec: Mapping[str, Any],
    *,
    desired: int,
    now: float,
    platform_family: str | None,
) -> Document:
    """A new PRIMARY Deployment, IN_PROGRESS."""
    out: Document = {
        "id": deployment_id,
        "status": "PRIMARY",
        "taskDefinition": spec["taskDefinition"],
        "desiredCount": desired,
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
    }
    for name in ("launchType", "capacityProviderStrategy", "platformVersion", "networkConfiguration"):
        if spec.get(name) is not None:
            out[name] = spec[name]
    if platform_family is not None:
        out["platformFamily"] = platform_family
    return out


def revision_document(
    ctx: RequestContext,
    *,
    service: Mapping[str, Any],
    cluster: str,
    deployment_id: str,
    spec: Mapping[str, Any],
    task_definition: Mapping[str, Any],
    now: float,
) -> Document:
    """The ServiceRevision of a new deployment."""
    digits = deployment_id.split("/", 1)[1]
    doc: Document = {
        "serviceRevisionArn": ecs_arn(ctx, f"service-revision/{cluster}/{service['serviceName']}/{digits}"),
        "serviceArn": service["serviceArn"],
        "clusterArn": service["clusterArn"],
        "taskDefinition": spec["taskDefinition"],
        "loadBalancers": list(spec.get("loadBalancers") or []),
        "serviceRegistries": list(spec.get("serviceRegistries") or []),
        "containerImages": [
            {"containerName": c["name"], "image": c.get("image", "")}
            for c in task_definition.get("containerDefinitions", [])
        ],
        "guardDutyEnabled": False,
        "createdAt": now,
    }
    for name in ("launchType", "capacityProviderStrategy", "platformVersion", "networkConfiguration"):
        if spec.get(name) is not None:
            doc[name] = spec[name]
    if is_fargate_spec(spec):
        doc["platformFamily"] = "Linux"
        storage = task_definition.get("ephemeralStorage") or {"sizeInGiB": 20}
        doc["fargateEphemeralStorage"] = {"sizeInGiB": storage["sizeInGiB"]}
    return doc


def service_deployment_document(
    ctx: RequestContext,
    *,
    service: Mapping[str, Any],
    cluster: str,
    sd_id: str,
    deployment_id: str,
    target_revision: str,
    sources: Iterable[Document],
    now: float,
) -> Document:
    """The ServiceDeployment of a new deployment: PENDING until the scheduler takes it up."""
    config = service["deploymentConfiguration"]
    breaker = config.get("deploymentCircuitBreaker") or {}
    alarms = config.get("alarms") or {}
    return {
        "serviceDeploymentArn": ecs_arn(
            ctx, f"service-deployment/{cluster}/{service['serviceName']}/{sd_id}"
        ),
        "serviceArn": service["serviceArn"],
        "clusterArn": service["clusterArn"],
        "createdAt": now,
        "updatedAt": now,
        "sourceServiceRevisions": list(sources),
        "targetServiceRevision": {
            "arn": target_revision,
            "requestedTaskCount": service.get("desiredCount", 0),
            "runningTaskCount": 0,
            "pendingTaskCount": 0,
        },
        "status": "PENDING",
        "deploymentConfiguration": dict(config),
        "deploymentCircuitBreaker": {
            "status": "MONITORING" if breaker.get("enable") else "DISABLED",
            "failureCount": 0,
            "threshold": breaker_threshold(int(service.get("desiredCount", 0))),
        },
        "alarms": (
            {"status": "MONITORING", "alarmNames": list(alarms["alarmNames"])}
            if alarms.get("enable")
            else {"status": "DISABLED"}
        ),
        "dockyard": {"deploymentId": deployment_id},
    }


def task_counts(tasks: Iterable[Mapping[str, Any]]) -> dict[str, tuple[int, int]]:
    """(running, pending) per deployment id, and under "" for the whole service."""
    counts: dict[str, list[int]] = {"": [0, 0]}
    for task in tasks:
        deployment = str(task.get("dockyard", {}).get("deployment", ""))
        status = task.get("lastStatus")
        slot = 0 if status == "RUNNING" else 1 if status in PENDING_STATUSES else None
        if slot is None:
            continue
        for name in {"", deployment}:
            counts.setdefault(name, [0, 0])[slot] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


def _live_desired(tasks: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for task in tasks:
        if task.get("lastStatus") != "STOPPED" and task.get("desiredStatus") == "RUNNING":
            deployment = str(task.get("dockyard", {}).get("deployment", ""))
            out[deployment] = out.get(deployment, 0) + 1
    return out


def render_service(
    service: Mapping[str, Any], tasks: Iterable[Mapping[str, Any]], *, include_tags: bool = True
) -> Document:
    """The Service a response shows: the stored document with its counts filled in."""
    tasks = list(tasks)
    counts = task_counts(tasks)
    live = _live_desired(tasks)
    out = {k: v for k, v in service.items() if k != "dockyard"}
    out["runningCount"], out["pendingCount"] = counts[""]
    records = internal(service).get("deployments", {})
    deployments = []
    revisions = []
    for deployment in service.get("deployments", []):
        shown = dict(deployment)
        shown["runningCount"], shown["pendingCount"] = counts.get(deployment["id"], (0, 0))
        if deployment["status"] != "PRIMARY":
            shown["desiredCount"] = live.get(deployment["id"], 0)
        deployments.append(shown)
        record = records.get(deployment["id"], {})
        if record.get("revisionArn"):
            revisions.append(
                {
                    "arn": record["revisionArn"],
                    "requestedTaskCount": shown["desiredCount"],
                    "runningTaskCount": shown["runningCount"],
                    "pendingTaskCount": shown["pendingCount"],
                }
            )
    out["deployments"] = deployments
    out["currentServiceRevisions"] = revisions
    if not include_tags:
        out.pop("tags", None)
    return out
