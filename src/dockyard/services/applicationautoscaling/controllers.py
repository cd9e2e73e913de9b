"""The Application Auto Scaling controllers: scheduled actions at their time, and min/max changes
carried through to the ECS service's desired count.

```
scheduled action (its time has come; woken by its own requeue or the resync)
  ScheduledScalingSuspended -> skip this run
  else one commit: target MinCapacity/MaxCapacity (+ pending), activity "Setting min capacity
       to 3 and max capacity to 6" (Cause "scheduled action name X was triggered"), next run
  -> requeue at the next run (none left: done)

scalable target (woken when it changes)
  pending min/max change: desired below min -> scale out to min ("minimum capacity was set to 3"),
                          above max -> scale in to max ("maximum capacity was set to 6")
                          (scheduled actions and new limits ignore cooldowns)
  activities left InProgress by a crash: settled
```
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable

from dockyard.controllers.reconciler import DONE, Reconciler, Requeue
from dockyard.services.applicationautoscaling import ecs_capacity
from dockyard.services.applicationautoscaling.activities import limits_activity
from dockyard.services.applicationautoscaling.deps import AppScaling
from dockyard.services.applicationautoscaling.resources import SCHEDULED_ACTION, TARGET, target_ref
from dockyard.services.applicationautoscaling.scaling import scale_to, settle_stale, target_put
from dockyard.services.applicationautoscaling.scheduled_actions import planned_run
from dockyard.services.applicationautoscaling.targets import pending_change
from dockyard.store import Change, Conflict, Key, Put, Versioned

__all__ = ["ScheduledActionController", "TargetController", "appscaling_controllers"]

log = logging.getLogger(__name__)


class TargetController:
    name = "appscaling-targets"
    kind = TARGET

    def __init__(self, app: AppScaling) -> None:
        self._app = app

    def triggers(self, change: Change) -> Iterable[Key]:
        return [change.key] if change.key.kind == TARGET and not change.deleted else []

    async def reconcile(self, key: Key) -> Requeue:
        target = await self._app.store.get(key)
        if target is None:
            return DONE
        pending = target.value["dockyard"].get("pending")
        if pending:
            return await self._enforce(target, pending)
        wait = await settle_stale(self._app, target)
        return DONE if wait is None else Requeue(after=wait)

    async def _enforce(self, target: Versioned, pending: dict[str, object]) -> Requeue:
        app = self._app
        current = await ecs_capacity.current(app, target.key, target_ref(target.value))
        low, high = int(str(pending["min"])), int(str(pending["max"]))
        clear = {"pending": None}
        if current is not None and current < low:
            done = await scale_to(app, target, low, cause=str(pending["causeMin"]), internal=clear)
        elif current is not None and current > high:
            done = await scale_to(app, target, high, cause=str(pending["causeMax"]), internal=clear)
        else:
            doc = copy.deepcopy(target.value)
            doc["dockyard"]["pending"] = None
            try:
                await app.store.commit([target_put(target, doc)])
                done = True
            except Conflict:
                done = False
        return Requeue(after=0) if not done else DONE


class ScheduledActionController:
    name = "appscaling-scheduled-actions"
    kind = SCHEDULED_ACTION

    def __init__(self, app: AppScaling) -> None:
        self._app = app

    def triggers(self, change: Change) -> Iterable[Key]:
        return [change.key] if change.key.kind == SCHEDULED_ACTION and not change.deleted else []

    async def reconcile(self, key: Key) -> Requeue:
        app = self._app
        action = await app.store.get(key)
        if action is None:
            return DONE
        due = action.value["dockyard"].get("nextRun")
        if due is None:
            return DONE
        now = app.clock.now()
        if due > now:
            return Requeue(after=due - now)
        target = await app.store.get(Key(key.account_id, key.region, TARGET, target_ref(action.value).name))
        if target is None:
            return DONE
        following = planned_run(action.value, after=max(now, float(due)))
        updated = copy.deepcopy(action.value)
        updated["dockyard"]["nextRun"] = following
        writes: list[Put] = [
            Put(key, updated, expected_revision=action.revision, labels={"target": target.key.name})
        ]
        if target.value["SuspendedState"].get("ScheduledScalingSuspended"):
            log.info("scheduled action %s skipped: scheduled scaling is suspended", key.name)
        else:
            writes += self._limits(target, action.value)
        try:
            await app.store.commit(writes)
        except Conflict:
            return Requeue(after=0)
        return DONE if following is None else Requeue(after=max(0.0, following - now))

    def _limits(self, target: Versioned, action: dict[str, object]) -> list[Put]:
        """The target's new limits and their activity (nothing when they would cross)."""
        wanted = action.get("ScalableTargetAction") or {}
        assert isinstance(wanted, dict)
        doc = copy.deepcopy(target.value)
        low = wanted.get("MinCapacity")
        high = wanted.get("MaxCapacity")
        new_min = doc["MinCapacity"] if low is None else int(low)
        new_max = doc["MaxCapacity"] if high is None else int(high)
        if new_min > new_max:
            log.warning(
                "scheduled action %s skipped: min %d above max %d",
                action["ScheduledActionName"],
                new_min,
                new_max,
            )
            return []
        doc["MinCapacity"], doc["MaxCapacity"] = new_min, new_max
        cause = f"scheduled action name {action['ScheduledActionName']} was triggered"
        doc["dockyard"]["pending"] = pending_change(
            doc,
            cause_min=f"minimum capacity was set to {new_min}",
            cause_max=f"maximum capacity was set to {new_max}",
        )
        ref = target_ref(doc)
        return [
            target_put(target, doc),
            limits_activity(
                self._app,
                target.key,
                ref,
                low=low if low is None else int(low),
                high=high if high is None else int(high),
                cause=cause,
            ),
        ]


def appscaling_controllers(app: AppScaling) -> list[Reconciler]:
    return [TargetController(app), ScheduledActionController(app)]
