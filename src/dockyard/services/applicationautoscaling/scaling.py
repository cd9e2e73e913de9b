"""Carrying out a capacity change: record the activity, call ECS, record how it went.

```
commit [activity InProgress, target (cooldown, pending cleared), expired activities deleted]
   (compare-and-swap on the target: a concurrent change makes the caller decide again)
ECS UpdateService(desiredCount)  -> activity Successful | Failed with ECS's message
```
A crash between the two steps leaves an InProgress activity; the target controller settles it
by comparing the service's desired count with the activity's (`settle_stale`).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

from dockyard.core.errors import AwsError
from dockyard.services.applicationautoscaling import ecs_capacity
from dockyard.services.applicationautoscaling.activities import (
    finish,
    latest,
    not_scaled_activity,
    pruned,
    scaling_activity,
    success_message,
)
from dockyard.services.applicationautoscaling.capacity import NotScaled
from dockyard.services.applicationautoscaling.deps import AppScaling
from dockyard.services.applicationautoscaling.resources import ACTIVITY, target_ref
from dockyard.store import Conflict, Put, Versioned, Write

__all__ = ["record_not_scaled", "scale_to", "settle_stale", "target_put"]

log = logging.getLogger(__name__)

_STALE_AFTER = 60.0  # seconds an activity may stay InProgress before the controller settles it


def target_put(target: Versioned, doc: dict[str, Any]) -> Put:
    return Put(target.key, doc, expected_revision=target.revision, labels={"arn": doc["ScalableTargetARN"]})


async def scale_to(
    app: AppScaling,
    target: Versioned,
    desired: int,
    *,
    cause: str,
    internal: dict[str, Any] | None = None,
    writes: Sequence[Write] = (),
) -> bool:
    """Set the target's ECS service to `desired`; False when the target changed meanwhile.

    `internal` replaces entries of the target's `dockyard` member (cooldowns, pending changes) in
    the same commit as the activity; `writes` join that commit too.
    """
    ref = target_ref(target.value)
    doc = copy.deepcopy(target.value)
    doc["dockyard"].update(internal or {})
    activity = scaling_activity(app, target.key, ref, desired=desired, cause=cause)
    try:
        await app.store.commit([target_put(target, doc), activity, *writes, *await pruned(app, target.key)])
    except Conflict:
        return False
    try:
        await ecs_capacity.set_desired(app, target.key, ref, desired)
    except AwsError as exc:
        log.info("%s: could not set desired count to %d: %s", ref.resource_id, desired, exc.message)
        await finish(
            app, activity.key, ok=False, message=f"Failed to set desired count to {desired}. {exc.message}"
        )
        return True
    await finish(app, activity.key, ok=True, message=success_message(desired))
    return True


async def record_not_scaled(
    app: AppScaling, target: Versioned, *, proposed: int, cause: str, reason: NotScaled
) -> None:
    """A not-scaled activity, unless the newest activity already says the same (an alarm that
    stays in ALARM re-fires every minute)."""
    newest = await latest(app, target.key)
    if newest is not None:
        previous = newest.value
        if (
            previous["dockyard"].get("notScaled")
            and previous["Cause"] == cause
            and previous.get("NotScaledReasons") == [reason.to_doc()]
        ):
            return
    put = not_scaled_activity(
        app, target.key, target_ref(target.value), proposed=proposed, cause=cause, reason=reason
    )
    await app.store.commit([put, *await pruned(app, target.key)])


async def settle_stale(app: AppScaling, target: Versioned) -> float | None:
    """Settle activities left InProgress; seconds until the next one is due, or None."""
    now = app.clock.now()
    wait: float | None = None
    found = await app.store.list(
        ACTIVITY, account_id=target.key.account_id, region=target.key.region, prefix=f"{target.key.name}|"
    )
    for activity in found:
        doc = activity.value
        if doc.get("StatusCode") != "InProgress":
            continue
        due = doc["StartTime"] + _STALE_AFTER
        if due > now:
            wait = due - now if wait is None else min(wait, due - now)
            continue
        desired = int(doc["dockyard"]["desired"])
        current = await ecs_capacity.current(app, target.key, target_ref(target.value))
        if current == desired:
            await finish(app, activity.key, ok=True, message=success_message(desired))
        else:
            await finish(
                app,
                activity.key,
                ok=False,
                message=f"Failed to set desired count to {desired}. The change was interrupted.",
            )
    return wait
