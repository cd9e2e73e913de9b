"""Scaling activities: what was changed, why, and how it went; DescribeScalingActivities.

```
a policy, scheduled action or new min/max wants capacity N
  -> activity InProgress  "Setting desired count to N."   Cause: why
  -> ECS UpdateService    -> Successful "Successfully set desired count to N. Change successfully
                                         fulfilled by ecs."
                          -> Failed     "Failed to set desired count to N. <ECS's error>"
nothing to change (already at max/min/desired)
  -> a not-scaled activity, Failed, with NotScaledReasons (shown with IncludeNotScaledActivities)
```
Activities are kept six weeks (`AppScalingSettings.activity_retention`), newest first.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.applicationautoscaling.api import api
from dockyard.services.applicationautoscaling.capacity import NotScaled
from dockyard.services.applicationautoscaling.deps import AppScaling
from dockyard.services.applicationautoscaling.listing import page
from dockyard.services.applicationautoscaling.resources import (
    ACTIVITY,
    TargetRef,
    activity_name,
    child_key,
)
from dockyard.store import Conflict, Delete, Key, Put, Versioned

__all__ = [
    "describe_scaling_activities",
    "finish",
    "latest",
    "limits_activity",
    "not_scaled_activity",
    "pruned",
    "scaling_activity",
    "success_message",
]


def _base(app: AppScaling, ref: TargetRef, *, cause: str, description: str) -> dict[str, Any]:
    return {
        "ActivityId": app.ids.uuid(),
        "ServiceNamespace": ref.namespace,
        "ResourceId": ref.resource_id,
        "ScalableDimension": ref.dimension,
        "Description": description,
        "Cause": cause,
        "StartTime": app.clock.now(),
    }


def scaling_activity(app: AppScaling, target: Key, ref: TargetRef, *, desired: int, cause: str) -> Put:
    """A new InProgress activity setting the desired count to `desired`."""
    doc = _base(app, ref, cause=cause, description=f"Setting desired count to {desired}.")
    doc.update(
        {
            "StatusCode": "InProgress",
            "dockyard": {"desired": desired, "notScaled": False, "seq": app.store.revision()},
        }
    )
    name = activity_name(doc["StartTime"], doc["ActivityId"])
    return Put(child_key(target, ACTIVITY, name), doc, expected_revision=0, labels={"target": target.name})


def not_scaled_activity(
    app: AppScaling, target: Key, ref: TargetRef, *, proposed: int, cause: str, reason: NotScaled
) -> Put:
    doc = _base(app, ref, cause=cause, description="Attempting to scale due to alarm triggered")
    doc.update(
        {
            "StatusCode": "Failed",
            "StatusMessage": f"Failed to set desired count to {proposed}",
            "EndTime": doc["StartTime"],
            "NotScaledReasons": [reason.to_doc()],
            "dockyard": {"desired": proposed, "notScaled": True, "seq": app.store.revision()},
        }
    )
    name = activity_name(doc["StartTime"], doc["ActivityId"])
    return Put(child_key(target, ACTIVITY, name), doc, expected_revision=0, labels={"target": target.name})


def limits_activity(
    app: AppScaling, target: Key, ref: TargetRef, *, low: int | None, high: int | None, cause: str
) -> Put:
    """A scheduled action's change of the target's min and/or max capacity (done on commit)."""
    parts = [
        f"min capacity to {low}" if low is not None else "",
        f"max capacity to {high}" if high is not None else "",
    ]
    change = " and ".join(p for p in parts if p)
    doc = _base(app, ref, cause=cause, description=f"Setting {change}")
    doc.update(
        {
            "StatusCode": "Successful",
            "StatusMessage": f"Successfully set {change}",
            "dockyard": {"desired": None, "notScaled": False, "seq": app.store.revision()},
        }
    )
    name = activity_name(doc["StartTime"], doc["ActivityId"])
    return Put(child_key(target, ACTIVITY, name), doc, expected_revision=0, labels={"target": target.name})


def success_message(desired: int) -> str:
    return f"Successfully set desired count to {desired}. Change successfully fulfilled by ecs."


async def finish(app: AppScaling, activity: Key, *, ok: bool, message: str) -> None:
    """Mark an InProgress activity Successful or Failed (re-reading on a concurrent write)."""
    for _ in range(4):
        found = await app.store.get(activity)
        if found is None or found.value.get("StatusCode") != "InProgress":
            return
        doc = dict(found.value)
        doc.update({"StatusCode": "Successful" if ok else "Failed", "StatusMessage": message})
        doc["EndTime"] = app.clock.now()
        try:
            await app.store.commit(
                [Put(activity, doc, expected_revision=found.revision, labels=_labels(activity))]
            )
            return
        except Conflict:
            continue


def _labels(activity: Key) -> dict[str, str]:
    return {"target": activity.name.rsplit("|", 2)[0]}


async def latest(app: AppScaling, target: Key) -> Versioned | None:
    """The target's newest activity."""
    found = await app.store.list(
        ACTIVITY, account_id=target.account_id, region=target.region, prefix=f"{target.name}|"
    )
    return min(found, key=lambda a: _newest_first(a.value)) if found else None


async def pruned(app: AppScaling, target: Key) -> list[Delete]:
    """Deletes for the target's activities older than the retention."""
    cutoff = app.clock.now() - app.settings.activity_retention
    found = await app.store.list(
        ACTIVITY, account_id=target.account_id, region=target.region, prefix=f"{target.name}|"
    )
    return [Delete(a.key, expected_revision=a.revision) for a in found if a.value["StartTime"] < cutoff]


def _newest_first(doc: dict[str, Any]) -> tuple[float, int, str]:
    """Start time, then the order they were recorded in (the clock may not have moved)."""
    return (-doc["StartTime"], -int(doc["dockyard"].get("seq", 0)), doc["ActivityId"])


@api.operation("DescribeScalingActivities")
async def describe_scaling_activities(
    app: AppScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    namespace = request["ServiceNamespace"]
    resource_id = request.get("ResourceId")
    dimension = request.get("ScalableDimension")
    include_not_scaled = bool(request.get("IncludeNotScaledActivities"))
    prefix = f"{namespace}|{dimension}|{resource_id}|" if resource_id and dimension else f"{namespace}|"
    cutoff = app.clock.now() - app.settings.activity_retention
    found = []
    for stored in await app.store.list(ACTIVITY, account_id=ctx.account_id, region=ctx.region, prefix=prefix):
        doc = stored.value
        if resource_id is not None and doc["ResourceId"] != resource_id:
            continue
        if dimension is not None and doc["ScalableDimension"] != dimension:
            continue
        if doc["StartTime"] < cutoff or (doc["dockyard"]["notScaled"] and not include_not_scaled):
            continue
        found.append(doc)
    found.sort(key=_newest_first)
    items, token = page(found, request, key=_newest_first)
    response: dict[str, Any] = {"ScalingActivities": items}
    if token:
        response["NextToken"] = token
    return response
