"""An ECS service's capacity, read and set through ECS's own operations (never its tables).

`current` is the service's desiredCount (DescribeServices), which is what Application Auto
Scaling scales; `set_desired` calls UpdateService, as the service-linked role does on AWS.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.local_client import LocalClient
from dockyard.core.errors import AwsError
from dockyard.services.applicationautoscaling.deps import AppScaling
from dockyard.services.applicationautoscaling.resources import TargetRef, service_of
from dockyard.store import Key

__all__ = ["current", "set_desired", "describe"]


def _ecs(app: AppScaling) -> LocalClient:
    if app.peers.ecs is None:
        raise RuntimeError("Application Auto Scaling has no ECS client")
    return app.peers.ecs


async def describe(app: AppScaling, account_id: str, region: str, ref: TargetRef) -> dict[str, Any] | None:
    """The ACTIVE ECS service a target names, as DescribeServices shows it, or None."""
    cluster, service = service_of(ref)
    try:
        response = await _ecs(app).call(
            "DescribeServices",
            {"cluster": cluster, "services": [service]},
            account_id=account_id,
            region=region,
        )
    except AwsError as exc:
        if exc.code == "ClusterNotFoundException":
            return None
        raise
    for found in response.get("services", []):
        if found.get("status") == "ACTIVE":
            return dict(found)
    return None


async def current(app: AppScaling, target: Key, ref: TargetRef) -> int | None:
    found = await describe(app, target.account_id, target.region, ref)
    return None if found is None else int(found.get("desiredCount", 0))


async def set_desired(app: AppScaling, target: Key, ref: TargetRef, count: int) -> None:
    """UpdateService(desiredCount=count); ECS's errors propagate as `AwsError`s."""
    cluster, service = service_of(ref)
    await _ecs(app).call(
        "UpdateService",
        {"cluster": cluster, "service": service, "desiredCount": count},
        account_id=target.account_id,
        region=target.region,
    )
