"""Scaling policies: PutScalingPolicy, DescribeScalingPolicies, DeleteScalingPolicy.

```
Put     check the configuration -> the target must be registered (ObjectNotFoundException)
        target tracking: PutMetricAlarm AlarmHigh (+ AlarmLow unless DisableScaleIn), then the
        policy, committed with a compare-and-swap on the target (a racing Deregister wins)
        again with the same name: the configuration is replaced, the ARN and alarm names kept
Delete  the policy; a target tracking policy's alarms are deleted, a step policy's alarms
        (the user's) lose the policy's action but stay
```
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.aws.models import service_model
from dockyard.services.applicationautoscaling.api import api
from dockyard.services.applicationautoscaling.deps import AppScaling
from dockyard.services.applicationautoscaling.errors import (
    ConcurrentUpdateException,
    ValidationException,
)
from dockyard.services.applicationautoscaling.listing import filtered_page
from dockyard.services.applicationautoscaling.policy_config import check_step, check_target_tracking
from dockyard.services.applicationautoscaling.resources import (
    POLICY,
    TargetRef,
    child_key,
    delete_child,
    get_target,
    policy_arn,
    ref_of,
)
from dockyard.services.applicationautoscaling.tracking_alarms import (
    alarm_arn,
    alarm_requests,
    delete_alarms,
    policy_alarms,
    put_alarms,
)
from dockyard.store import Conflict, Put

__all__ = ["put_scaling_policy", "describe_scaling_policies", "delete_scaling_policy"]

_ATTEMPTS = 8
_CONFIGS = {
    "TargetTrackingScaling": "TargetTrackingScalingPolicyConfiguration",
    "StepScaling": "StepScalingPolicyConfiguration",
}


@api.operation("PutScalingPolicy")
async def put_scaling_policy(app: AppScaling, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    ref = ref_of(request)
    name = request["PolicyName"]
    policy_type = request.get("PolicyType") or "StepScaling"
    if policy_type == "PredictiveScaling":
        raise ValidationException(
            "Dockyard does not support PredictiveScaling policies; use target tracking."
        )
    if policy_type == "TargetTrackingScaling":
        config = check_target_tracking(request.get("TargetTrackingScalingPolicyConfiguration"))
    else:
        config = check_step(request.get("StepScalingPolicyConfiguration"))
    # named once, so that a retry after a concurrent change does not leave alarms behind
    fresh_id = app.ids.uuid()
    fresh_alarms = (
        f"TargetTracking-{ref.resource_id}-AlarmHigh-{app.ids.uuid()}",
        f"TargetTracking-{ref.resource_id}-AlarmLow-{app.ids.uuid()}",
    )
    for _ in range(_ATTEMPTS):
        target = await get_target(app, ctx, ref)
        policy_key = child_key(target.key, POLICY, name)
        existing = await app.store.get(policy_key)
        previous = existing.value if existing is not None else None
        policy_id = previous["dockyard"]["id"] if previous else fresh_id
        arn = policy_arn(ctx, ref, policy_id, name)
        doc: dict[str, Any] = {
            "PolicyARN": arn,
            "PolicyName": name,
            "ServiceNamespace": ref.namespace,
            "ResourceId": ref.resource_id,
            "ScalableDimension": ref.dimension,
            "PolicyType": policy_type,
            _CONFIGS[policy_type]: config,
            "CreationTime": previous["CreationTime"] if previous else app.clock.now(),
            "dockyard": {"id": policy_id, "alarms": [], "high": None, "low": None},
        }
        if policy_type == "TargetTrackingScaling":
            await _tracking_alarms(app, ctx, ref, doc, previous, fresh=fresh_alarms)
        writes = [
            Put(
                target.key,
                target.value,
                expected_revision=target.revision,
                labels={"arn": target.value["ScalableTargetARN"]},
            ),
            Put(
                policy_key,
                doc,
                expected_revision=existing.revision if existing else 0,
                labels={"target": ref.name, "arn": arn},
            ),
        ]
        try:
            await app.store.commit(writes)
        except Conflict:
            continue
        if previous is not None:
            await delete_alarms(app, ctx, previous, keep=frozenset(doc["dockyard"]["alarms"]))
        response: dict[str, Any] = {"PolicyARN": arn}
        if policy_type == "TargetTrackingScaling":
            response["Alarms"] = [
                {"AlarmName": n, "AlarmARN": alarm_arn(ctx, n)} for n in doc["dockyard"]["alarms"]
            ]
        return response
    raise ConcurrentUpdateException("The scaling policy is being changed by another request; try again.")


async def _tracking_alarms(
    app: AppScaling,
    ctx: RequestContext,
    ref: TargetRef,
    doc: dict[str, Any],
    previous: dict[str, Any] | None,
    *,
    fresh: tuple[str, str],
) -> None:
    """Name (keeping the previous names) and PutMetricAlarm the policy's alarms."""
    config = doc["TargetTrackingScalingPolicyConfiguration"]
    old = previous["dockyard"] if previous else {}
    high = old.get("high") or fresh[0]
    low = None
    if not config.get("DisableScaleIn"):
        low = old.get("low") or fresh[1]
    await put_alarms(app, ctx, alarm_requests(doc["PolicyARN"], ref, config, high=high, low=low))
    doc["dockyard"].update({"high": high, "low": low, "alarms": [high, *([low] if low else [])]})


@api.operation("DescribeScalingPolicies")
async def describe_scaling_policies(
    app: AppScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    items, token = await filtered_page(
        app, ctx, request, kind=POLICY, name_field="PolicyName", names="PolicyNames"
    )
    policies = [{**p, "Alarms": await policy_alarms(app, ctx, p)} for p in items]
    response: dict[str, Any] = {"ScalingPolicies": policies}
    if token:
        response["NextToken"] = token
    return response


@api.operation("DeleteScalingPolicy")
async def delete_scaling_policy(
    app: AppScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    ref = ref_of(request)
    name = request["PolicyName"]
    policy = await delete_child(
        app, ctx, ref, POLICY, name, what="scaling policy",
        missing=f"No scaling policy found for {ref.describe()}, policy name: {name}",
    )  # fmt: skip
    if policy["PolicyType"] == "TargetTrackingScaling":
        await delete_alarms(app, ctx, policy)
    else:
        await _detach(app, ctx, policy)
    return {}


async def _detach(app: AppScaling, ctx: RequestContext, policy: dict[str, Any]) -> None:
    """Remove a deleted step policy's ARN from the actions of the alarms that name it."""
    if app.peers.cloudwatch is None:
        return
    arn = policy["PolicyARN"]
    members = service_model("cloudwatch").operation_model("PutMetricAlarm").input_shape.members
    response = await app.peers.cloudwatch.call(
        "DescribeAlarms", {"ActionPrefix": arn}, account_id=ctx.account_id, region=ctx.region
    )
    for alarm in response.get("MetricAlarms", []):
        if arn not in alarm.get("AlarmActions", []) + alarm.get("OKActions", []) + alarm.get(
            "InsufficientDataActions", []
        ):
            continue
        request = {name: value for name, value in alarm.items() if name in members}
        for actions in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            if actions in request:
                request[actions] = [a for a in request[actions] if a != arn]
        await app.peers.cloudwatch.call(
            "PutMetricAlarm", request, account_id=ctx.account_id, region=ctx.region
        )
