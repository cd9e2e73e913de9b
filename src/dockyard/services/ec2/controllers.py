"""The EC2 controllers the server runs.

- `TerminatedInstanceReaper`: a terminated instance stays describable for `terminated_retention`
  seconds (EC2 shows them for about an hour), then its document and tags are deleted.
"""

from __future__ import annotations

from collections.abc import Iterable

from dockyard.controllers.reconciler import DONE, Reconciler, Requeue
from dockyard.services.ec2.deps import Ec2
from dockyard.services.ec2.resources import INSTANCE, TAGS
from dockyard.store import Change, Conflict, Delete, Key

__all__ = ["ec2_controllers", "TerminatedInstanceReaper"]


class TerminatedInstanceReaper:
    name = "ec2-terminated-instance-reaper"
    kind = INSTANCE

    def __init__(self, ec2: Ec2) -> None:
        self._ec2 = ec2

    def triggers(self, change: Change) -> Iterable[Key]:
        return [change.key] if change.key.kind == INSTANCE and not change.deleted else []

    async def reconcile(self, key: Key) -> Requeue:
        current = await self._ec2.store.get(key)
        if current is None or current.value["State"]["Name"] != "terminated":
            return DONE
        terminated_at = float(current.value.get("dockyard", {}).get("terminatedAt", 0))
        remaining = terminated_at + self._ec2.settings.terminated_retention - self._ec2.clock.now()
        if remaining > 0:
            return Requeue(after=remaining)
        try:
            await self._ec2.store.commit(
                [
                    Delete(key, expected_revision=current.revision),
                    Delete(Key(key.account_id, key.region, TAGS, key.name)),
                ]
            )
        except Conflict:
            return Requeue(after=0)
        return DONE


def ec2_controllers(ec2: Ec2) -> list[Reconciler]:
    return [TerminatedInstanceReaper(ec2)]
