"""The group controller's steps: launch instances, terminate instances, follow their EC2 state
and their lifecycle hooks (lifecycle_hooks.py).

Each step calls EC2's operations (RunInstances, TerminateInstances) in process and records what
it did as membership documents and scaling activities, with compare-and-swap.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.services.autoscaling.activities import (
    finish_activity,
    health_cause,
    join,
    launch_cause,
    new_activity,
    selected_cause,
    shrink_cause,
)
from dockyard.services.autoscaling.capacity import member_labels
from dockyard.services.autoscaling.deps import AutoScaling
from dockyard.services.autoscaling.launch_configurations import run_request
from dockyard.services.autoscaling.lifecycle_hooks import LAUNCHING, TERMINATING, enter_wait, expire, hooks_of
from dockyard.services.autoscaling.resources import ACTIVITY, GROUP_TAG, LAUNCH_CONFIGURATION, MEMBER, key
from dockyard.services.autoscaling.termination import spread_launches
from dockyard.store import Conflict, Delete, Put, Versioned, Write

__all__ = ["launch", "begin_termination", "terminate", "follow", "new_member"]


def _launch_request(
    scaling_group: dict[str, Any], config: dict[str, Any] | None, *, subnet: str, count: int
) -> dict[str, Any]:
    if config is not None:
        request = run_request(config)
    else:
        template = scaling_group["LaunchTemplate"]
        request = {
            "LaunchTemplate": {
                "LaunchTemplateId": template["LaunchTemplateId"],
                "Version": template["Version"],
            }
        }
    tags = [
        {"Key": t["Key"], "Value": t["Value"]}
        for t in scaling_group.get("Tags", [])
        if t.get("PropagateAtLaunch")
    ]
    tags.append({"Key": GROUP_TAG, "Value": scaling_group["AutoScalingGroupName"]})
    request.update(
        {
            "MinCount": 1,
            "MaxCount": count,
            "SubnetId": subnet,
            "TagSpecifications": [{"ResourceType": "instance", "Tags": tags}],
        }
    )
    return request


def new_member(
    group: dict[str, Any], instance: dict[str, Any], *, now: float, activity: str | None
) -> dict[str, Any]:
    """The membership document of an instance launched for `group`."""
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    doc: dict[str, Any] = {
        "InstanceId": instance["InstanceId"],
        "AutoScalingGroupName": group["AutoScalingGroupName"],
        "InstanceType": instance["InstanceType"],
        "AvailabilityZone": instance["Placement"]["AvailabilityZone"],
        "LifecycleState": "InService" if instance["State"]["Name"] == "running" else "Pending",
        "HealthStatus": "Healthy",
        "ProtectedFromScaleIn": bool(group.get("NewInstancesProtectedFromScaleIn", False)),
        "dockyard": {"launchedAt": now, "subnet": instance.get("SubnetId", ""), "activity": activity},
    }
    if "aws:ec2launchtemplate:id" in tags:
        doc["LaunchTemplate"] = {
            "LaunchTemplateId": tags["aws:ec2launchtemplate:id"],
            "LaunchTemplateName": group.get("LaunchTemplate", {}).get("LaunchTemplateName", ""),
            "Version": tags.get("aws:ec2launchtemplate:version", ""),
        }
    elif group.get("LaunchConfigurationName"):
        doc["LaunchConfigurationName"] = group["LaunchConfigurationName"]
    return doc


async def launch(
    scaling: AutoScaling,
    ctx: RequestContext,
    group: Versioned,
    *,
    count: int,
    capacity: int,
    per_zone: dict[str, int],
) -> list[str]:
    """Launch `count` instances balanced over the group's zones; returns the new instance ids.
    A refused launch is recorded as a Failed activity and raises `LaunchFailed`."""
    doc = group.value
    config = None
    if doc.get("LaunchConfigurationName"):
        found = await scaling.store.get(key(ctx, LAUNCH_CONFIGURATION, doc["LaunchConfigurationName"]))
        if found is None:
            raise LaunchFailed(f"Launch configuration {doc['LaunchConfigurationName']} does not exist.")
        config = found.value
    subnets: dict[str, str] = doc["dockyard"]["subnets"]
    plan = spread_launches(count, zones=list(subnets), existing=per_zone)
    launched: list[str] = []
    prefix = doc["dockyard"].get("cause")
    for zone, n in plan.items():
        request = _launch_request(doc, config, subnet=subnets[zone], count=n)
        now = scaling.clock.now()
        try:
            reservation = await scaling.ec2.call(
                "RunInstances", request, account_id=ctx.account_id, region=ctx.region
            )
        except AwsError as exc:
            put, _ = new_activity(
                scaling,
                ctx,
                doc,
                description=(
                    f"Launching a new EC2 instance.  Status Reason: {exc.message}. "
                    "Launching EC2 instance failed."
                ),
                cause=join(prefix, launch_cause(now, capacity, capacity + 1)),
                status="Failed",
                message=exc.message,
                details={"Subnet ID": subnets[zone], "Availability Zone": zone},
            )
            await scaling.store.commit([put])
            raise LaunchFailed(exc.message) from exc
        writes: list[Write] = []
        for instance in reservation["Instances"]:
            put, _ = new_activity(
                scaling,
                ctx,
                doc,
                description=f"Launching a new EC2 instance: {instance['InstanceId']}",
                cause=join(prefix, launch_cause(now, capacity, capacity + 1)),
                details={"Subnet ID": subnets[zone], "Availability Zone": zone},
            )
            capacity += 1
            member = new_member(doc, instance, now=now, activity=put.key.name)
            writes += [
                put,
                Put(
                    key(ctx, MEMBER, instance["InstanceId"]),
                    member,
                    expected_revision=0,
                    labels=member_labels(member),
                ),
            ]
            launched.append(instance["InstanceId"])
        await scaling.store.commit(writes)
    return launched


class LaunchFailed(Exception):
    pass


async def begin_termination(
    scaling: AutoScaling,
    ctx: RequestContext,
    group: dict[str, Any],
    member: Versioned,
    *,
    cause: str,
) -> str | None:
    """Mark a member Terminating with its activity. Returns "terminate" (terminate it now),
    "wait" (Terminating:Wait: a lifecycle hook holds it) or None (it changed meanwhile)."""
    doc = copy.deepcopy(member.value)
    put, _ = new_activity(
        scaling,
        ctx,
        group,
        description=f"Terminating EC2 instance: {doc['InstanceId']}",
        cause=cause,
        details={
            "Subnet ID": doc["dockyard"].get("subnet", ""),
            "Availability Zone": doc["AvailabilityZone"],
        },
    )
    doc["LifecycleState"] = "Terminating"
    doc["dockyard"]["activity"] = put.key.name
    hooks = (
        []
        if group["dockyard"].get("deleting")
        else await hooks_of(scaling, ctx, group["AutoScalingGroupName"], TERMINATING)
    )
    waiting = enter_wait(doc, hooks, now=scaling.clock.now(), token=scaling.ids.uuid())
    try:
        await scaling.store.commit(
            [put, Put(member.key, doc, expected_revision=member.revision, labels=member_labels(doc))]
        )
    except Conflict:
        return None
    return "wait" if waiting else "terminate"


def scale_in_cause(group: dict[str, Any], now: float, capacity: int, instance_id: str) -> str:
    return join(
        group["dockyard"].get("cause"),
        shrink_cause(now, capacity, capacity - 1),
        selected_cause(now, instance_id),
    )


async def terminate(scaling: AutoScaling, ctx: RequestContext, instance_ids: list[str]) -> None:
    if not instance_ids:
        return
    try:
        await scaling.ec2.call(
            "TerminateInstances", {"InstanceIds": instance_ids}, account_id=ctx.account_id, region=ctx.region
        )
    except AwsError:
        for instance_id in instance_ids:  # one may be gone already: the others still go
            try:
                await scaling.ec2.call(
                    "TerminateInstances",
                    {"InstanceIds": [instance_id]},
                    account_id=ctx.account_id,
                    region=ctx.region,
                )
            except AwsError:
                pass


async def follow(
    scaling: AutoScaling, ctx: RequestContext, group: dict[str, Any], member: Versioned, state: str | None
) -> str | None:
    """Move a member along with its instance's EC2 `state` (None: the instance is gone) and its
    lifecycle hooks. Returns the id to terminate (unhealthy, or its termination may proceed)."""
    doc = copy.deepcopy(member.value)
    life = doc["LifecycleState"]
    activity = doc["dockyard"].get("activity")
    activity_key = key(ctx, ACTIVITY, activity) if activity else None
    now = scaling.clock.now()
    if state in (None, "terminated"):
        writes: list[Write] = [Delete(member.key, expected_revision=member.revision)]
        if not life.startswith("Terminating"):
            put, _ = new_activity(
                scaling,
                ctx,
                group,
                description=f"Terminating EC2 instance: {doc['InstanceId']}",
                cause=health_cause(now),
                status="Successful",
                details={
                    "Subnet ID": doc["dockyard"].get("subnet", ""),
                    "Availability Zone": doc["AvailabilityZone"],
                },
            )
            writes.append(put)
        try:
            await scaling.store.commit(writes)
        except Conflict:
            return None
        if life.startswith("Terminating") and activity_key is not None:
            await finish_activity(scaling, activity_key, "Successful")
        return None
    if expire(doc, now):
        await _save(scaling, member, doc)
        return None
    if life == "Pending" and state == "running":
        hooks = (
            []
            if group["dockyard"].get("deleting")
            else await hooks_of(scaling, ctx, group["AutoScalingGroupName"], LAUNCHING)
        )
        if not enter_wait(doc, hooks, now=now, token=scaling.ids.uuid()):
            doc["LifecycleState"] = "InService"
        if await _save(scaling, member, doc) and activity_key is not None and not hooks:
            await finish_activity(scaling, activity_key, "Successful")
        return None
    if life == "Pending:Proceed":
        if doc["dockyard"]["lifecycle"].get("result") == "ABANDON":
            doc["HealthStatus"] = "Unhealthy"
            member = Versioned(member.key, doc, member.revision)
            if await begin_termination(scaling, ctx, group, member, cause=health_cause(now)) == "terminate":
                return str(doc["InstanceId"])
            return None
        doc["LifecycleState"] = "InService"
        if await _save(scaling, member, doc) and activity_key is not None:
            await finish_activity(scaling, activity_key, "Successful")
        return None
    if life in ("Pending", "Pending:Wait", "InService") and state in ("stopping", "stopped", "shutting-down"):
        doc["HealthStatus"] = "Unhealthy"
        member = Versioned(member.key, doc, member.revision)
        begun = await begin_termination(scaling, ctx, group, member, cause=health_cause(now))
        if begun is not None and activity_key is not None:
            await finish_activity(scaling, activity_key, "Successful")
        return str(doc["InstanceId"]) if begun == "terminate" else None
    if life in ("Terminating", "Terminating:Proceed") and state not in ("shutting-down", "terminated"):
        return str(doc["InstanceId"])
    return None


async def _save(scaling: AutoScaling, member: Versioned, doc: dict[str, Any]) -> bool:
    try:
        await scaling.store.commit(
            [Put(member.key, doc, expected_revision=member.revision, labels=member_labels(doc))]
        )
    except Conflict:
        return False
    return True
