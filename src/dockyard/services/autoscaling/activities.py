"""Scaling activities: their documents, the causes Auto Scaling words, DescribeScalingActivities.

An activity is written when a launch or termination starts (StatusCode InProgress) and finished
when the instance is running or terminated (Successful) or the launch failed (Failed). Causes are
AWS's sentences, joined by two spaces, the user's request first:

    At 2026-01-02T03:04:05Z a user request explicitly set group desired capacity changing the
    desired capacity from 0 to 1.  At 2026-01-02T03:04:06Z an instance was started in response to
    a difference between desired and actual capacity, increasing the capacity from 0 to 1.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.autoscaling.api import api
from dockyard.services.autoscaling.deps import AutoScaling
from dockyard.services.autoscaling.errors import ValidationError
from dockyard.services.autoscaling.resources import ACTIVITY, GROUP, activity_name, key, page
from dockyard.services.ec2.resources import iso
from dockyard.store import Conflict, Key, Put

__all__ = [
    "new_activity",
    "finish_activity",
    "join",
    "created_cause",
    "set_desired_cause",
    "updated_cause",
    "launch_cause",
    "shrink_cause",
    "selected_cause",
    "user_terminate_cause",
    "health_cause",
    "describe_scaling_activities",
]


def join(*sentences: str | None) -> str:
    return "  ".join(s for s in sentences if s)


def created_cause(now: float, before: int, after: int) -> str:
    return (
        f"At {iso(now)} a user request created an AutoScalingGroup changing the desired capacity "
        f"from {before} to {after}."
    )


def set_desired_cause(now: float, before: int, after: int) -> str:
    return (
        f"At {iso(now)} a user request explicitly set group desired capacity changing the desired "
        f"capacity from {before} to {after}."
    )


def updated_cause(now: float, low: int, high: int, desired: int, before: int) -> str:
    return (
        f"At {iso(now)} a user request update of AutoScalingGroup constraints to min: {low}, max: {high}, "
        f"desired: {desired} changing the desired capacity from {before} to {desired}."
    )


def launch_cause(now: float, before: int, after: int) -> str:
    return (
        f"At {iso(now)} an instance was started in response to a difference between desired and actual "
        f"capacity, increasing the capacity from {before} to {after}."
    )


def shrink_cause(now: float, before: int, after: int) -> str:
    return (
        f"At {iso(now)} an instance was taken out of service in response to a difference between desired "
        f"and actual capacity, shrinking the capacity from {before} to {after}."
    )


def selected_cause(now: float, instance_id: str) -> str:
    return f"At {iso(now)} instance {instance_id} was selected for termination."


def user_terminate_cause(now: float, instance_id: str, before: int | None, after: int | None) -> str:
    sentence = f"At {iso(now)} instance {instance_id} was taken out of service in response to a user request"
    if before is not None and after is not None:
        return f"{sentence}, shrinking the capacity from {before} to {after}."
    return f"{sentence}."


def health_cause(now: float) -> str:
    return (
        f"At {iso(now)} an instance was taken out of service in response to an EC2 health check "
        "indicating it has been terminated or stopped."
    )


def new_activity(
    scaling: AutoScaling,
    ctx: RequestContext,
    group: dict[str, Any],
    *,
    description: str,
    cause: str,
    status: str = "InProgress",
    details: dict[str, str] | None = None,
    message: str | None = None,
) -> tuple[Put, dict[str, Any]]:
    """The Put that records a new activity of `group`, and the activity."""
    now = scaling.clock.now()
    activity_id = scaling.ids.uuid()
    doc: dict[str, Any] = {
        "ActivityId": activity_id,
        "AutoScalingGroupName": group["AutoScalingGroupName"],
        "AutoScalingGroupARN": group["AutoScalingGroupARN"],
        "Description": description,
        "Cause": cause,
        "StartTime": now,
        "StatusCode": status,
        "Progress": 100 if status in ("Successful", "Failed") else 30,
        "Details": json.dumps(details or {}, separators=(",", ":")),
    }
    if status in ("Successful", "Failed"):
        doc["EndTime"] = now
    if message:
        doc["StatusMessage"] = message
    name = activity_name(group["AutoScalingGroupName"], now, activity_id)
    put = Put(
        key(ctx, ACTIVITY, name), doc, labels={"group": group["AutoScalingGroupName"], "id": activity_id}
    )
    return put, doc


async def finish_activity(
    scaling: AutoScaling, activity_key: Key, status: str, *, message: str | None = None
) -> None:
    """Mark an activity Successful or Failed (once: a finished activity is left as it is)."""
    for _ in range(8):
        found = await scaling.store.get(activity_key)
        if found is None or found.value["StatusCode"] in ("Successful", "Failed", "Cancelled"):
            return
        doc = copy.deepcopy(found.value)
        doc.update({"StatusCode": status, "Progress": 100, "EndTime": scaling.clock.now()})
        if message:
            doc["StatusMessage"] = message
        try:
            await scaling.store.commit(
                [
                    Put(
                        activity_key,
                        doc,
                        expected_revision=found.revision,
                        labels={"group": doc["AutoScalingGroupName"], "id": doc["ActivityId"]},
                    )
                ]
            )
            return
        except Conflict:
            continue


@api.operation("DescribeScalingActivities")
async def describe_scaling_activities(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    ids = request.get("ActivityIds", [])
    if len(ids) > 50:
        raise ValidationError("The number of activity IDs must not exceed 50.")
    name = request.get("AutoScalingGroupName")
    prefix = f"{name}/" if name else ""
    docs = await scaling.store.list(ACTIVITY, account_id=ctx.account_id, region=ctx.region, prefix=prefix)
    if not request.get("IncludeDeletedGroups"):
        groups = {
            d.key.name for d in await scaling.store.list(GROUP, account_id=ctx.account_id, region=ctx.region)
        }
        docs = [d for d in docs if d.value["AutoScalingGroupName"] in groups]
    if not name:  # all groups: newest first across them
        docs.sort(key=lambda d: d.key.name.split("/", 1)[1])
    selected = [d for d in docs if not ids or d.value["ActivityId"] in ids]
    items, token = page(selected, request, key=lambda d: d.key.name.split("/", 1)[1], default=100, limit=100)
    return {"Activities": [d.value for d in items], **({"NextToken": token} if token else {})}
