"""The ELBv2 controller the server runs.

- `TargetDrainReaper`: a deregistered target stays in its group's targets document, draining,
  until `deregistration_delay.timeout_seconds` (the group's attribute, read on every pass) have
  passed since `DeregisteredAt`; then it is removed (one compare-and-swap commit) and the data
  plane forgets it. Woken by changes to a targets document or to its target group (a shorter
  delay), and by a timer for the next expiry, on the injected clock.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from dockyard.controllers.reconciler import DONE, Reconciler, Requeue
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.resources import TARGET_GROUP, TARGETS, key
from dockyard.store import Change, Conflict, Key, Put

__all__ = ["TargetDrainReaper", "elbv2_controllers"]


class TargetDrainReaper:
    name = "elbv2-target-drain"
    kind = TARGETS

    def __init__(self, elb: Elbv2) -> None:
        self._elb = elb

    def triggers(self, change: Change) -> Iterable[Key]:
        if change.deleted or change.key.kind not in (TARGETS, TARGET_GROUP):
            return []
        return [key(change.key, TARGETS, change.key.name)]

    async def reconcile(self, target_key: Key) -> Requeue:
        store = self._elb.store
        found = await store.get(target_key)
        group = await store.get(key(target_key, TARGET_GROUP, target_key.name))
        if found is None or group is None:
            return DONE
        delay = float(group.value["dockyard"]["Attributes"]["deregistration_delay.timeout_seconds"])
        now = self._elb.clock.now()
        kept, waits = [], []
        for entry in found.value["Targets"]:
            if "DeregisteredAt" in entry:
                remaining = float(entry["DeregisteredAt"]) + delay - now
                if remaining <= 0:
                    continue
                waits.append(remaining)
            kept.append(entry)
        if len(kept) != len(found.value["Targets"]):
            doc = copy.deepcopy(found.value)
            doc["Targets"] = kept
            try:
                await store.commit([Put(found.key, doc, expected_revision=found.revision)])
            except Conflict:
                return Requeue(after=0)
        return Requeue(after=min(waits)) if waits else DONE


def elbv2_controllers(elb: Elbv2) -> list[Reconciler]:
    return [TargetDrainReaper(elb)]
