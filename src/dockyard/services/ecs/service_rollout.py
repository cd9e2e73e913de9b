"""The life of a deployment, applied to a service document (reference §4.2, §4.5).

```
CreateService / UpdateService (new config or forceNewDeployment)
   --new_deployment--> PRIMARY, IN_PROGRESS            ServiceDeployment PENDING
scheduler: first pass                                  ServiceDeployment IN_PROGRESS
   primary has D healthy tasks, nothing else runs
   --complete--> COMPLETED ("ECS deployment <id> completed.")     ... SUCCESSFUL
   circuit breaker: failures >= clamp(ceil(D/2), 3, 200)
   --trip--> FAILED ("ECS deployment circuit breaker: task failed to start.")
        rollback and a COMPLETED deployment exists: that one is PRIMARY again, IN_PROGRESS
            ("ECS deployment circuit breaker: rolling back to deploymentId <id>.")
                                                       ... ROLLBACK_IN_PROGRESS -> ROLLBACK_SUCCESSFUL
        otherwise: FAILED stays PRIMARY and launches nothing           ... STOPPED
an older deployment reaches 0 tasks: INACTIVE (leaves `deployments`)
```

These functions change a service document in place and return (or collect) the other writes:
the ServiceRevision and ServiceDeployment documents and the `ECS Deployment State Change` events.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import parse_arn
from dockyard.services.ecs.cluster_documents import is_fargate_spec
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import key
from dockyard.services.ecs.service_documents import (
    DEPLOYMENT_SPEC_FIELDS,
    SERVICE_DEPLOYMENT,
    SERVICE_REVISION,
    deployment_object,
    internal,
    new_deployment_ids,
    primary,
    revision_document,
    service_deployment_document,
)
from dockyard.store import Key, Put, Versioned, Write

__all__ = [
    "STAGE1_FAILURE",
    "HEALTH_FAILURE",
    "document_key",
    "new_deployment",
    "stop_previous",
    "source_revisions",
    "spec_of",
]

STAGE1_FAILURE = "ECS deployment circuit breaker: task failed to start."
HEALTH_FAILURE = "ECS deployment circuit breaker: tasks failed health checks."
_FINISHED = frozenset({"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"})


def document_key(arn: str, kind: str) -> Key | None:
    """The store key of a service-deployment or service-revision ARN."""
    parsed = parse_arn(arn)
    if parsed is None or parsed.service != "ecs":
        return None
    parts = parsed.resource_path.split("/")
    if len(parts) != 3 or not all(parts):
        return None
    expected = "service-deployment" if kind == SERVICE_DEPLOYMENT else "service-revision"
    if parsed.resource_type != expected:
        return None
    return Key(parsed.account_id, parsed.region, kind, "/".join(parts))


def spec_of(service: Mapping[str, Any]) -> dict[str, Any]:
    """The primary deployment's spec."""
    record = internal(service).get("deployments", {}).get(primary(service)["id"], {})
    return copy.deepcopy(record.get("spec", {}))


def source_revisions(
    service: Mapping[str, Any], counts: Mapping[str, tuple[int, int]]
) -> list[dict[str, Any]]:
    """The revisions running when a new deployment starts, with their task counts."""
    records = internal(service).get("deployments", {})
    out = []
    for deployment in service.get("deployments", []):
        record = records.get(deployment["id"], {})
        if not record.get("revisionArn"):
            continue
        running, pending = counts.get(deployment["id"], (0, 0))
        out.append(
            {
                "arn": record["revisionArn"],
                "requestedTaskCount": deployment.get("desiredCount", 0),
                "runningTaskCount": running,
                "pendingTaskCount": pending,
            }
        )
    return out


def new_deployment(
    ecs: Ecs,
    ctx: RequestContext,
    service: dict[str, Any],
    *,
    cluster: str,
    spec: Mapping[str, Any],
    task_definition: Mapping[str, Any],
    sources: Iterable[dict[str, Any]],
    now: float,
) -> list[Write]:
    """Make a new PRIMARY deployment of `service` (changed in place); returns the writes of its
    ServiceRevision and ServiceDeployment. The old PRIMARY becomes ACTIVE."""
    deployment_id, sd_id = new_deployment_ids(ecs.ids)
    for deployment in service.get("deployments", []):
        if deployment["status"] == "PRIMARY":
            deployment["status"] = "ACTIVE"
            deployment["updatedAt"] = now
    fargate = is_fargate_spec(spec)
    deployment = deployment_object(
        deployment_id,
        spec,
        desired=int(service.get("desiredCount", 0)),
        now=now,
        platform_family="Linux" if fargate else None,
    )
    service.setdefault("deployments", []).insert(0, deployment)
    revision = revision_document(
        ctx,
        service=service,
        cluster=cluster,
        deployment_id=deployment_id,
        spec=spec,
        task_definition=task_definition,
        now=now,
    )
    sd = service_deployment_document(
        ctx,
        service=service,
        cluster=cluster,
        sd_id=sd_id,
        deployment_id=deployment_id,
        target_revision=revision["serviceRevisionArn"],
        sources=sources,
        now=now,
    )
    state = service.setdefault("dockyard", {})
    state.setdefault("deployments", {})[deployment_id] = {
        "spec": dict(spec),
        "revisionArn": revision["serviceRevisionArn"],
        "serviceDeploymentArn": sd["serviceDeploymentArn"],
        "tdConstraints": list(task_definition.get("placementConstraints") or []),
        "counted": [],
        "failures": 0,
    }
    state["backoff"] = {}
    for name in DEPLOYMENT_SPEC_FIELDS:
        if spec.get(name) is not None:
            service[name] = copy.deepcopy(spec[name])
        elif name not in ("taskDefinition",):
            service.pop(name, None)
    service["placementConstraints"] = list(spec.get("placementConstraints") or [])
    service["placementStrategy"] = list(spec.get("placementStrategy") or [])
    service["loadBalancers"] = list(spec.get("loadBalancers") or [])
    service["serviceRegistries"] = list(spec.get("serviceRegistries") or [])
    if fargate:
        service["platformFamily"] = "Linux"
    else:
        service.pop("platformFamily", None)
    service["currentServiceDeployment"] = sd["serviceDeploymentArn"]
    revision_key = key(ctx, SERVICE_REVISION, revision["serviceRevisionArn"].split("/", 1)[1])
    sd_key = key(ctx, SERVICE_DEPLOYMENT, sd["serviceDeploymentArn"].split("/", 1)[1])
    return [Put(revision_key, revision, expected_revision=0), Put(sd_key, sd, expected_revision=0)]


async def stop_previous(ecs: Ecs, service: Mapping[str, Any], *, now: float) -> list[Write]:
    """A new deployment supersedes the current ServiceDeployment if it has not finished."""
    arn = service.get("currentServiceDeployment")
    if not arn:
        return []
    sd_key = document_key(str(arn), SERVICE_DEPLOYMENT)
    found: Versioned | None = await ecs.store.get(sd_key) if sd_key is not None else None
    if found is None or found.value.get("status") in _FINISHED:
        return []
    doc = copy.deepcopy(found.value)
    doc["status"] = "STOPPED"
    doc["stoppedAt"] = now
    doc["updatedAt"] = now
    breaker = doc.get("deploymentCircuitBreaker") or {}
    if breaker.get("status") == "MONITORING":
        breaker["status"] = "MONITORING_COMPLETE"
    return [Put(found.key, doc, expected_revision=found.revision)]
