"""Auto Scaling groups: Create, Update, Delete, Describe.

The handlers record what the group should be (bounds, desired capacity, launch source, zones) and
why its desired capacity last changed (`dockyard.cause`, the first sentence of the activities
that follow); the group controller (`controller.py`) launches and terminates instances to match.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.autoscaling.activities import created_cause, updated_cause
from dockyard.services.autoscaling.api import api
from dockyard.services.autoscaling.deps import AutoScaling
from dockyard.services.autoscaling.errors import (
    AlreadyExistsFault,
    ResourceInUseFault,
    ScalingActivityInProgressFault,
    ValidationError,
)
from dockyard.services.autoscaling.group_config import (
    check_capacity,
    check_termination_policies,
    check_unsupported,
    group_tags,
    launch_source,
    zones,
)
from dockyard.services.autoscaling.lifecycle_hooks import HOOK
from dockyard.services.autoscaling.resources import (
    ACTIVITY,
    GROUP,
    group_arn,
    key,
    members,
    page,
    require_group,
)
from dockyard.services.ec2.filters import Fields, matches, tag_fields
from dockyard.services.ec2.resources import iso
from dockyard.store import Conflict, Delete, Put

__all__ = [
    "render_group",
    "member_view",
    "create_auto_scaling_group",
    "update_auto_scaling_group",
    "delete_auto_scaling_group",
    "describe_auto_scaling_groups",
]

_ATTEMPTS = 8
_OPTIONAL = (
    "HealthCheckGracePeriod",
    "MaxInstanceLifetime",
    "DefaultInstanceWarmup",
    "DesiredCapacityType",
    "Context",
    "CapacityRebalance",
    "PlacementGroup",
)


def _service_linked_role(ctx: RequestContext) -> str:
    return (
        f"arn:aws:iam::{ctx.account_id}:role/aws-service-role/autoscaling.amazonaws.com/"
        "AWSServiceRoleForAutoScaling"
    )


def member_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A member as the group's `Instances` lists it."""
    return {k: v for k, v in doc.items() if k not in ("dockyard", "AutoScalingGroupName")}


def render_group(doc: dict[str, Any], instances: list[dict[str, Any]] | None) -> dict[str, Any]:
    view = {k: v for k, v in doc.items() if k != "dockyard"}
    view["Instances"] = [member_view(m) for m in sorted(instances or [], key=lambda m: m["InstanceId"])]
    if doc.get("dockyard", {}).get("deleting"):
        view["Status"] = "Delete in progress"
    return view


@api.operation("CreateAutoScalingGroup")
async def create_auto_scaling_group(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    name = request["AutoScalingGroupName"]
    check_unsupported(request)
    low, high = request["MinSize"], request["MaxSize"]
    desired = request.get("DesiredCapacity", low)
    check_capacity(low, high, desired)
    check_termination_policies(request.get("TerminationPolicies", []))
    source = await launch_source(scaling, ctx, request)
    zone_names, subnets = await zones(
        scaling, ctx, subnets=request.get("VPCZoneIdentifier"), zone_names=request.get("AvailabilityZones")
    )
    tags = group_tags(name, request.get("Tags", []))
    if await scaling.store.get(key(ctx, GROUP, name)) is not None:
        raise AlreadyExistsFault(
            f"AutoScalingGroup by this name already exists - A group with the name {name} already exists"
        )
    now = scaling.clock.now()
    doc: dict[str, Any] = {
        "AutoScalingGroupName": name,
        "AutoScalingGroupARN": group_arn(ctx, scaling.ids.uuid(), name),
        **source,
        "MinSize": low,
        "MaxSize": high,
        "DesiredCapacity": desired,
        "DefaultCooldown": request.get("DefaultCooldown", 300),
        "AvailabilityZones": zone_names,
        "LoadBalancerNames": [],
        "TargetGroupARNs": [],
        "HealthCheckType": request.get("HealthCheckType", "EC2"),
        "HealthCheckGracePeriod": 0,
        "CreatedTime": now,
        "SuspendedProcesses": [],
        "EnabledMetrics": [],
        "Tags": tags,
        "TerminationPolicies": list(request.get("TerminationPolicies") or ["Default"]),
        "NewInstancesProtectedFromScaleIn": bool(request.get("NewInstancesProtectedFromScaleIn", False)),
        "ServiceLinkedRoleARN": request.get("ServiceLinkedRoleARN") or _service_linked_role(ctx),
        "CapacityRebalance": False,
        "TrafficSources": [],
        "dockyard": {"subnets": subnets, "cause": created_cause(now, 0, desired) if desired else None},
    }
    if request.get("VPCZoneIdentifier"):
        doc["VPCZoneIdentifier"] = ",".join(s.strip() for s in request["VPCZoneIdentifier"].split(","))
    for member in _OPTIONAL:
        if request.get(member) is not None:
            doc[member] = request[member]
    try:
        await scaling.store.commit([Put(key(ctx, GROUP, name), doc, expected_revision=0)])
    except Conflict:
        raise AlreadyExistsFault(
            f"AutoScalingGroup by this name already exists - A group with the name {name} already exists"
        ) from None
    return {}


@api.operation("UpdateAutoScalingGroup")
async def update_auto_scaling_group(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    check_unsupported(request)
    check_termination_policies(request.get("TerminationPolicies", []))
    source = None
    if request.get("LaunchConfigurationName") or request.get("LaunchTemplate"):
        source = await launch_source(scaling, ctx, request)
    placement = None
    if request.get("VPCZoneIdentifier") or request.get("AvailabilityZones"):
        placement = await zones(
            scaling,
            ctx,
            subnets=request.get("VPCZoneIdentifier"),
            zone_names=request.get("AvailabilityZones"),
        )
    for _ in range(_ATTEMPTS):
        found = await require_group(scaling, ctx, request["AutoScalingGroupName"])
        doc = copy.deepcopy(found.value)
        if doc["dockyard"].get("deleting"):
            raise ScalingActivityInProgressFault("The Auto Scaling group is being deleted.")
        low: int = doc["MinSize"] if request.get("MinSize") is None else request["MinSize"]
        high: int = doc["MaxSize"] if request.get("MaxSize") is None else request["MaxSize"]
        before = doc["DesiredCapacity"]
        desired = request.get("DesiredCapacity")
        if desired is None:
            desired = min(max(before, low), high)
        check_capacity(low, high, desired)
        doc.update({"MinSize": low, "MaxSize": high, "DesiredCapacity": desired})
        if desired != before:
            doc["dockyard"]["cause"] = updated_cause(scaling.clock.now(), low, high, desired, before)
        if source is not None:
            doc.pop("LaunchConfigurationName", None)
            doc.pop("LaunchTemplate", None)
            doc.update(source)
        if placement is not None:
            doc["AvailabilityZones"], doc["dockyard"]["subnets"] = placement
            if request.get("VPCZoneIdentifier"):
                doc["VPCZoneIdentifier"] = ",".join(
                    s.strip() for s in request["VPCZoneIdentifier"].split(",")
                )
            else:
                doc.pop("VPCZoneIdentifier", None)
        for member in ("DefaultCooldown", "HealthCheckType", "NewInstancesProtectedFromScaleIn", *_OPTIONAL):
            if request.get(member) is not None:
                doc[member] = request[member]
        if request.get("TerminationPolicies"):
            doc["TerminationPolicies"] = list(request["TerminationPolicies"])
        try:
            await scaling.store.commit([Put(found.key, doc, expected_revision=found.revision)])
            return {}
        except Conflict:
            continue
    raise Conflict(found.key, found.revision, None)


@api.operation("DeleteAutoScalingGroup")
async def delete_auto_scaling_group(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    name = request["AutoScalingGroupName"]
    for _ in range(_ATTEMPTS):
        found = await require_group(scaling, ctx, name)
        doc = copy.deepcopy(found.value)
        name = doc["AutoScalingGroupName"]
        current = await members(scaling, ctx, name)
        if request.get("ForceDelete"):
            if doc["dockyard"].get("deleting"):
                return {}
            doc["dockyard"]["deleting"] = True
            if doc["DesiredCapacity"]:
                doc["dockyard"]["cause"] = (
                    f"At {iso(scaling.clock.now())} a user request deleted the AutoScalingGroup changing the "
                    f"desired capacity from {doc['DesiredCapacity']} to 0."
                )
            doc.update({"MinSize": 0, "MaxSize": 0, "DesiredCapacity": 0})
            try:
                await scaling.store.commit([Put(found.key, doc, expected_revision=found.revision)])
                return {}
            except Conflict:
                continue
        if current:
            raise ResourceInUseFault(
                "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance "
                "request(s) still in the group."
            )
        activities = await scaling.store.list(
            ACTIVITY, account_id=ctx.account_id, region=ctx.region, prefix=f"{name}/"
        )
        if any(a.value["StatusCode"] not in ("Successful", "Failed", "Cancelled") for a in activities):
            raise ScalingActivityInProgressFault(
                "You cannot delete an AutoScalingGroup while there are scaling activities in progress for "
                "that group."
            )
        hooks = await scaling.store.list(
            HOOK, account_id=ctx.account_id, region=ctx.region, prefix=f"{name}/"
        )
        try:
            await scaling.store.commit(
                [Delete(found.key, expected_revision=found.revision), *(Delete(h.key) for h in hooks)]
            )
            return {}
        except Conflict:
            continue
    raise Conflict(key(ctx, GROUP, name), None, None)


@api.operation("DescribeAutoScalingGroups")
async def describe_auto_scaling_groups(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    names = request.get("AutoScalingGroupNames", [])
    filters = request.get("Filters", [])
    for item in filters:
        name = item.get("Name", "")
        if not (name.startswith("tag:") or name in ("tag-key", "tag-value")):
            raise ValidationError(
                f"Filter name '{name}' is invalid. Valid filters are tag-key, tag-value and tag:<key>."
            )
    docs = [d.value for d in await scaling.store.list(GROUP, account_id=ctx.account_id, region=ctx.region)]
    selected = [
        d
        for d in docs
        if (not names or d["AutoScalingGroupName"] in names) and matches(filters, _tag_values(d))
    ]
    items, token = page(selected, request, key=lambda d: d["AutoScalingGroupName"], default=50, limit=100)
    include = request.get("IncludeInstances", True)
    groups = []
    for doc in items:
        instances = (
            [m.value for m in await members(scaling, ctx, doc["AutoScalingGroupName"])] if include else []
        )
        groups.append(render_group(doc, instances))
    return {"AutoScalingGroups": groups, **({"NextToken": token} if token else {})}


def _tag_values(doc: dict[str, Any]) -> Fields:
    return lambda name: tag_fields(name, doc.get("Tags", [])) or []
