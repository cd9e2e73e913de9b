"""Scheduled actions: PutScheduledAction, DescribeScheduledActions, DeleteScheduledAction.

```
Put     the target must be registered; Schedule (at/rate/cron, schedules.py) and Timezone are
        checked; at least one of MinCapacity and MaxCapacity; the next run is stored
        again with the same name: what is given changes, StartTime/EndTime not given are removed
```
The scheduled action controller (controllers.py) runs them when their time comes.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.applicationautoscaling.api import api
from dockyard.services.applicationautoscaling.deps import AppScaling
from dockyard.services.applicationautoscaling.errors import (
    ConcurrentUpdateException,
    ValidationException,
)
from dockyard.services.applicationautoscaling.listing import filtered_page
from dockyard.services.applicationautoscaling.resources import (
    SCHEDULED_ACTION,
    child_key,
    delete_child,
    get_target,
    ref_of,
    scheduled_action_arn,
)
from dockyard.services.applicationautoscaling.schedules import ScheduleError, next_run, parse_schedule, zone
from dockyard.store import Conflict, Put

__all__ = [
    "delete_scheduled_action",
    "describe_scheduled_actions",
    "planned_run",
    "put_scheduled_action",
]

_ATTEMPTS = 8


def planned_run(doc: dict[str, Any], *, after: float) -> float | None:
    """When the scheduled action runs next after `after` (None: never again)."""
    return next_run(
        parse_schedule(doc["Schedule"]),
        after=after,
        tz=zone(doc.get("Timezone")),
        created=float(doc["CreationTime"]),
        start=doc.get("StartTime"),
        end=doc.get("EndTime"),
    )


def _check_capacities(action: dict[str, Any]) -> None:
    low, high = action.get("MinCapacity"), action.get("MaxCapacity")
    if low is None and high is None:
        raise ValidationException("At least one of minimum capacity and maximum capacity should be provided")
    for name, value in (("minCapacity", low), ("maxCapacity", high)):
        if value is not None and value < 0:
            raise ValidationException(
                f"1 validation error detected: Value '{value}' at 'scalableTargetAction.{name}' failed to "
                "satisfy constraint: Member must have value greater than or equal to 0"
            )
    if low is not None and high is not None and high < low:
        raise ValidationException("Maximum capacity cannot be less than minimum capacity")


def _updated(
    app: AppScaling, ctx: RequestContext, request: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    ref = ref_of(request)
    name = request["ScheduledActionName"]
    if previous is None:
        action_id = app.ids.uuid()
        doc: dict[str, Any] = {
            "ScheduledActionName": name,
            "ScheduledActionARN": scheduled_action_arn(ctx, ref, action_id, name),
            "ServiceNamespace": ref.namespace,
            "ResourceId": ref.resource_id,
            "ScalableDimension": ref.dimension,
            "CreationTime": app.clock.now(),
            "dockyard": {"id": action_id},
        }
    else:
        doc = copy.deepcopy(previous)
    for field in ("Schedule", "Timezone", "ScalableTargetAction"):
        if request.get(field) is not None:
            doc[field] = request[field]
    for field in ("StartTime", "EndTime"):
        if request.get(field) is not None:
            doc[field] = request[field]
        else:
            doc.pop(field, None)
    if doc.get("Schedule") is None:
        raise ValidationException("A schedule is required to create a scheduled action")
    _check_capacities(doc.get("ScalableTargetAction") or {})
    if (
        doc.get("StartTime") is not None
        and doc.get("EndTime") is not None
        and doc["EndTime"] < doc["StartTime"]
    ):
        raise ValidationException("EndTime cannot be earlier than StartTime")
    try:
        doc["dockyard"]["nextRun"] = planned_run(doc, after=app.clock.now())
    except ScheduleError as exc:
        raise ValidationException(str(exc)) from None
    return doc


@api.operation("PutScheduledAction")
async def put_scheduled_action(
    app: AppScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    ref = ref_of(request)
    for _ in range(_ATTEMPTS):
        target = await get_target(app, ctx, ref)
        action_key = child_key(target.key, SCHEDULED_ACTION, request["ScheduledActionName"])
        existing = await app.store.get(action_key)
        doc = _updated(app, ctx, request, existing.value if existing else None)
        writes = [
            Put(
                target.key,
                target.value,
                expected_revision=target.revision,
                labels={"arn": target.value["ScalableTargetARN"]},
            ),
            Put(
                action_key,
                doc,
                expected_revision=existing.revision if existing else 0,
                labels={"target": ref.name},
            ),
        ]
        try:
            await app.store.commit(writes)
        except Conflict:
            continue
        return {}
    raise ConcurrentUpdateException("The scheduled action is being changed by another request; try again.")


@api.operation("DescribeScheduledActions")
async def describe_scheduled_actions(
    app: AppScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    items, token = await filtered_page(
        app,
        ctx,
        request,
        kind=SCHEDULED_ACTION,
        name_field="ScheduledActionName",
        names="ScheduledActionNames",
    )
    response: dict[str, Any] = {"ScheduledActions": items}
    if token:
        response["NextToken"] = token
    return response


@api.operation("DeleteScheduledAction")
async def delete_scheduled_action(
    app: AppScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    ref = ref_of(request)
    name = request["ScheduledActionName"]
    await delete_child(
        app, ctx, ref, SCHEDULED_ACTION, name, what="scheduled action",
        missing=f"No scheduled action found for {ref.describe()}, scheduled action name: {name}",
    )  # fmt: skip
    return {}
