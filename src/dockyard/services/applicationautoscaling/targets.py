"""Scalable targets: RegisterScalableTarget, DeregisterScalableTarget, DescribeScalableTargets.

```
Register (new)     MinCapacity and MaxCapacity required, the ECS service must exist (ACTIVE)
Register (again)   changes only what is given (min, max, SuspendedState flags, RoleARN)
either             a min/max change is left `pending` for the target controller, which brings
                   the service's desired count into [min, max] (an activity "minimum capacity
                   was set to N")
Deregister         the target, its policies (and their target tracking alarms) and its
                   scheduled actions, in one commit
```
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.applicationautoscaling import ecs_capacity
from dockyard.services.applicationautoscaling.api import api
from dockyard.services.applicationautoscaling.deps import AppScaling
from dockyard.services.applicationautoscaling.errors import (
    ConcurrentUpdateException,
    ObjectNotFoundException,
    ValidationException,
)
from dockyard.services.applicationautoscaling.listing import page
from dockyard.services.applicationautoscaling.resources import (
    POLICY,
    SCHEDULED_ACTION,
    TARGET,
    TargetRef,
    default_role,
    key,
    ref_of,
    require_supported,
    target_arn,
)
from dockyard.services.applicationautoscaling.tracking_alarms import delete_alarms
from dockyard.store import Conflict, Delete, Put

__all__ = [
    "register_scalable_target",
    "deregister_scalable_target",
    "describe_scalable_targets",
    "pending_change",
]

_ATTEMPTS = 8
_SUSPENSIONS = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")


def pending_change(doc: dict[str, Any], *, cause_min: str, cause_max: str) -> dict[str, Any]:
    """What the target controller must enforce after min/max changed (with the cause texts)."""
    return {
        "min": doc["MinCapacity"],
        "max": doc["MaxCapacity"],
        "causeMin": cause_min,
        "causeMax": cause_max,
    }


def _check_capacities(min_capacity: int | None, max_capacity: int | None) -> None:
    for name, value in (("minCapacity", min_capacity), ("maxCapacity", max_capacity)):
        if value is not None and value < 0:
            raise ValidationException(
                f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: "
                "Member must have value greater than or equal to 0"
            )
    if min_capacity is not None and max_capacity is not None and max_capacity < min_capacity:
        raise ValidationException("Maximum capacity cannot be less than minimum capacity")


@api.operation("RegisterScalableTarget")
async def register_scalable_target(
    app: AppScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    ref = ref_of(request)
    require_supported(ref)
    _check_capacities(request.get("MinCapacity"), request.get("MaxCapacity"))
    if await ecs_capacity.describe(app, ctx.account_id, ctx.region, ref) is None:
        raise ValidationException(f"ECS service doesn't exist: {ref.resource_id}")
    for _ in range(_ATTEMPTS):
        existing = await app.store.get(key(ctx, TARGET, ref.name))
        if existing is None:
            doc = _new_target(app, ctx, ref, request)
            expected = 0
        else:
            doc = _updated_target(existing.value, request)
            expected = existing.revision
        put = Put(
            key(ctx, TARGET, ref.name),
            doc,
            expected_revision=expected,
            labels={"arn": doc["ScalableTargetARN"]},
        )
        try:
            await app.store.commit([put])
        except Conflict:
            continue
        return {"ScalableTargetARN": doc["ScalableTargetARN"]}
    raise ConcurrentUpdateException("The scalable target is being changed by another request; try again.")


def _new_target(
    app: AppScaling, ctx: RequestContext, ref: TargetRef, request: dict[str, Any]
) -> dict[str, Any]:
    if request.get("MinCapacity") is None or request.get("MaxCapacity") is None:
        raise ValidationException(
            "MinCapacity and MaxCapacity are required for registering a new scalable target"
        )
    suspended = {name: bool((request.get("SuspendedState") or {}).get(name, False)) for name in _SUSPENSIONS}
    doc: dict[str, Any] = {
        "ServiceNamespace": ref.namespace,
        "ResourceId": ref.resource_id,
        "ScalableDimension": ref.dimension,
        "MinCapacity": request["MinCapacity"],
        "MaxCapacity": request["MaxCapacity"],
        "RoleARN": request.get("RoleARN") or default_role(ctx),
        "CreationTime": app.clock.now(),
        "SuspendedState": suspended,
        "ScalableTargetARN": target_arn(ctx, app.ids.hex32() + app.ids.hex32()[:4]),
        "dockyard": {"tags": dict(request.get("Tags") or {}), "cooldown": {}},
    }
    doc["dockyard"]["pending"] = _pending(doc)
    return doc


def _updated_target(current: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(current)
    for name in ("MinCapacity", "MaxCapacity", "RoleARN"):
        if request.get(name) is not None:
            doc[name] = request[name]
    if doc["MaxCapacity"] < doc["MinCapacity"]:
        raise ValidationException("Maximum capacity cannot be less than minimum capacity")
    for name, value in (request.get("SuspendedState") or {}).items():
        doc["SuspendedState"][name] = bool(value)
    if (doc["MinCapacity"], doc["MaxCapacity"]) != (current["MinCapacity"], current["MaxCapacity"]):
        doc["dockyard"]["pending"] = _pending(doc)
    return doc


def _pending(doc: dict[str, Any]) -> dict[str, Any]:
    return pending_change(
        doc,
        cause_min=f"minimum capacity was set to {doc['MinCapacity']}",
        cause_max=f"maximum capacity was set to {doc['MaxCapacity']}",
    )


@api.operation("DeregisterScalableTarget")
async def deregister_scalable_target(
    app: AppScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    ref = ref_of(request)
    for _ in range(_ATTEMPTS):
        target = await app.store.get(key(ctx, TARGET, ref.name))
        if target is None:
            raise ObjectNotFoundException(f"No scalable target found for {ref.describe()}")
        policies = await app.store.find(
            POLICY, "target", ref.name, account_id=ctx.account_id, region=ctx.region
        )
        actions = await app.store.find(
            SCHEDULED_ACTION, "target", ref.name, account_id=ctx.account_id, region=ctx.region
        )
        writes = [
            Delete(target.key, expected_revision=target.revision),
            *(Delete(p.key, expected_revision=p.revision) for p in policies),
            *(Delete(a.key, expected_revision=a.revision) for a in actions),
        ]
        try:
            await app.store.commit(writes)
        except Conflict:
            continue
        for policy in policies:
            await delete_alarms(app, ctx, policy.value)
        return {}
    raise ConcurrentUpdateException("The scalable target is being changed by another request; try again.")


def _order(doc: dict[str, Any]) -> str:
    return f"{doc['ResourceId']}|{doc['ScalableDimension']}"


@api.operation("DescribeScalableTargets")
async def describe_scalable_targets(
    app: AppScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    namespace = request["ServiceNamespace"]
    resource_ids = set(request.get("ResourceIds") or [])
    dimension = request.get("ScalableDimension")
    found = [
        t.value
        for t in await app.store.list(
            TARGET, account_id=ctx.account_id, region=ctx.region, prefix=f"{namespace}|"
        )
        if (not resource_ids or t.value["ResourceId"] in resource_ids)
        and (dimension is None or t.value["ScalableDimension"] == dimension)
    ]
    found.sort(key=_order)
    items, token = page(found, request, key=_order)
    response: dict[str, Any] = {"ScalableTargets": items}
    if token:
        response["NextToken"] = token
    return response
