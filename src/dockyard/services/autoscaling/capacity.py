"""A group's capacity and members: SetDesiredCapacity, SetInstanceProtection,
TerminateInstanceInAutoScalingGroup, DescribeAutoScalingInstances.

Membership documents (`autoscaling:instance`, one per instance, labelled with the group) carry the
lifecycle state (Pending -> InService -> Terminating), health and scale-in protection.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.services.autoscaling.activities import new_activity, set_desired_cause, user_terminate_cause
from dockyard.services.autoscaling.api import api
from dockyard.services.autoscaling.deps import AutoScaling
from dockyard.services.autoscaling.errors import ScalingActivityInProgressFault, ValidationError
from dockyard.services.autoscaling.lifecycle_hooks import TERMINATING, enter_wait, hooks_of
from dockyard.services.autoscaling.resources import ACTIVITY, MEMBER, key, page, require_group
from dockyard.store import Conflict, Put, Write

__all__ = [
    "member_labels",
    "set_desired_capacity",
    "set_instance_protection",
    "terminate_instance_in_auto_scaling_group",
    "describe_auto_scaling_instances",
]

_ATTEMPTS = 8


def member_labels(doc: dict[str, Any]) -> dict[str, str]:
    return {"group": doc["AutoScalingGroupName"]}


async def _blocking_activity(scaling: AutoScaling, ctx: RequestContext, group: dict[str, Any]) -> str | None:
    """The activity that blocks a cooldown-honouring request: one in progress, or the last one while
    the group's cooldown after it has not passed."""
    name = group["AutoScalingGroupName"]
    activities = await scaling.store.list(
        ACTIVITY, account_id=ctx.account_id, region=ctx.region, prefix=f"{name}/"
    )
    for activity in activities:
        if activity.value["StatusCode"] not in ("Successful", "Failed", "Cancelled"):
            return str(activity.value["ActivityId"])
    if activities:
        last = activities[0].value
        if float(last.get("EndTime", 0)) + float(group.get("DefaultCooldown", 300)) > scaling.clock.now():
            return str(last["ActivityId"])
    return None


@api.operation("SetDesiredCapacity")
async def set_desired_capacity(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    desired = request["DesiredCapacity"]
    for _ in range(_ATTEMPTS):
        found = await require_group(scaling, ctx, request["AutoScalingGroupName"])
        doc = copy.deepcopy(found.value)
        if desired > doc["MaxSize"]:
            raise ValidationError(
                f"New SetDesiredCapacity value {desired} is above max value {doc['MaxSize']} for the "
                "AutoScalingGroup."
            )
        if desired < doc["MinSize"]:
            raise ValidationError(
                f"New SetDesiredCapacity value {desired} is below min value {doc['MinSize']} for the "
                "AutoScalingGroup."
            )
        if request.get("HonorCooldown"):
            blocking = await _blocking_activity(scaling, ctx, doc)
            if blocking is not None:
                raise ScalingActivityInProgressFault(
                    f"Scaling activity {blocking} is in progress and blocks this action"
                )
        before = doc["DesiredCapacity"]
        if desired == before:
            return {}
        doc["DesiredCapacity"] = desired
        doc["dockyard"]["cause"] = set_desired_cause(scaling.clock.now(), before, desired)
        try:
            await scaling.store.commit([Put(found.key, doc, expected_revision=found.revision)])
            return {}
        except Conflict:
            continue
    raise Conflict(found.key, found.revision, None)


@api.operation("SetInstanceProtection")
async def set_instance_protection(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    group = (await require_group(scaling, ctx, request["AutoScalingGroupName"])).value["AutoScalingGroupName"]
    ids = request["InstanceIds"]
    if len(ids) > 50:
        raise ValidationError("The number of instance IDs must not exceed 50.")
    for _ in range(_ATTEMPTS):
        writes: list[Write] = []
        for instance_id in ids:
            found = await scaling.store.get(key(ctx, MEMBER, instance_id))
            if found is None or found.value["AutoScalingGroupName"] != group:
                raise ValidationError(
                    f"The instance {instance_id} is not part of Auto Scaling group {group}."
                )
            doc = copy.deepcopy(found.value)
            doc["ProtectedFromScaleIn"] = bool(request["ProtectedFromScaleIn"])
            writes.append(Put(found.key, doc, expected_revision=found.revision, labels=member_labels(doc)))
        try:
            await scaling.store.commit(writes)
            return {}
        except Conflict:
            continue
    return {}


@api.operation("TerminateInstanceInAutoScalingGroup")
async def terminate_instance_in_auto_scaling_group(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    instance_id = request["InstanceId"]
    decrement = bool(request["ShouldDecrementDesiredCapacity"])
    for _ in range(_ATTEMPTS):
        member = await scaling.store.get(key(ctx, MEMBER, instance_id))
        if member is None:
            raise ValidationError(
                f"Instance Id not found - No managed instance found for instance ID: {instance_id}"
            )
        group = await require_group(scaling, ctx, member.value["AutoScalingGroupName"])
        doc, group_doc = copy.deepcopy(member.value), copy.deepcopy(group.value)
        if doc["LifecycleState"].startswith("Terminating") and doc["dockyard"].get("activity"):
            existing = await scaling.store.get(key(ctx, ACTIVITY, doc["dockyard"]["activity"]))
            if existing is not None:
                return {"Activity": existing.value}
        now = scaling.clock.now()
        writes: list[Write] = []
        before = after = None
        if decrement:
            before = group_doc["DesiredCapacity"]
            if before - 1 < group_doc["MinSize"]:
                raise ValidationError(
                    f"Currently, desiredSize equals minSize ({group_doc['MinSize']}). Terminating instance "
                    "without replacement will violate group's min size constraint. Either set "
                    "shouldDecrementDesiredCapacity flag to false or lower group's min size."
                )
            after = before - 1
            group_doc["DesiredCapacity"] = after
            group_doc["dockyard"]["cause"] = None
            writes.append(Put(group.key, group_doc, expected_revision=group.revision))
        put, activity = new_activity(
            scaling,
            ctx,
            group_doc,
            description=f"Terminating EC2 instance: {instance_id}",
            cause=user_terminate_cause(now, instance_id, before, after),
            details={
                "Subnet ID": doc["dockyard"].get("subnet", ""),
                "Availability Zone": doc["AvailabilityZone"],
            },
        )
        doc["LifecycleState"] = "Terminating"
        doc["dockyard"]["activity"] = put.key.name
        hooks = await hooks_of(scaling, ctx, group_doc["AutoScalingGroupName"], TERMINATING)
        waiting = enter_wait(doc, hooks, now=now, token=scaling.ids.uuid())
        writes += [put, Put(member.key, doc, expected_revision=member.revision, labels=member_labels(doc))]
        try:
            await scaling.store.commit(writes)
        except Conflict:
            continue
        if waiting:  # a lifecycle hook holds it: the group controller terminates it afterwards
            return {"Activity": activity}
        try:
            await scaling.ec2.call(
                "TerminateInstances",
                {"InstanceIds": [instance_id]},
                account_id=ctx.account_id,
                region=ctx.region,
            )
        except AwsError:
            pass  # already gone: the controller completes the activity
        return {"Activity": activity}
    raise Conflict(key(ctx, MEMBER, instance_id), None, None)


@api.operation("DescribeAutoScalingInstances")
async def describe_auto_scaling_instances(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    ids = request.get("InstanceIds", [])
    if len(ids) > 50:
        raise ValidationError("The number of instance IDs must not exceed 50.")
    docs = await scaling.store.list(MEMBER, account_id=ctx.account_id, region=ctx.region)
    selected = [d.value for d in docs if not ids or d.key.name in ids]
    items, token = page(selected, request, key=lambda d: d["InstanceId"], default=50, limit=50)
    # DescribeAutoScalingInstances spells health in capitals (HEALTHY), unlike the group's Instances.
    views = [
        {**{k: v for k, v in d.items() if k != "dockyard"}, "HealthStatus": d["HealthStatus"].upper()}
        for d in items
    ]
    return {"AutoScalingInstances": views, **({"NextToken": token} if token else {})}
