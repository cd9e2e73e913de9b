"""The retention controller: enforce each log group's retention and clean up deleted groups.

```
key (a log group) <- the group document changed (created, retention set, deleted) | resync
reconcile:
  rows of the event database for this name but another uid (or any, the group being gone):
      dropped (their events are purged in batches)
  once an hour (and at start): rows of groups that have no document any more: dropped
  purge up to PURGE_BATCH events of dropped groups and streams      -> more: requeue soon
  retention set: delete up to EXPIRE_BATCH events older than it     -> more: requeue soon
                 otherwise requeue when the oldest event left expires (at most an hour away)
```
Time comes from the injected clock, so a test can advance a day and see events go.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from dockyard.controllers.reconciler import DONE, Requeue
from dockyard.services.logs.deps import Logs
from dockyard.services.logs.resources import GROUP
from dockyard.store import Change, Key

__all__ = ["EXPIRE_BATCH", "PURGE_BATCH", "RetentionController", "logs_controllers"]

log = logging.getLogger(__name__)

PURGE_BATCH = 20_000
EXPIRE_BATCH = 20_000
_DAY_MS = 86_400_000
_SOON = 0.01
_MAX_WAIT = 3600.0
_SWEEP_INTERVAL = 3600.0


class RetentionController:
    name = "logs-retention"
    kind = GROUP

    def __init__(self, logs: Logs) -> None:
        self._logs = logs
        self._next_sweep: float | None = None

    def triggers(self, change: Change) -> Iterable[Key]:
        return [change.key] if change.key.kind == GROUP else []

    async def reconcile(self, key: Key) -> Requeue:
        logs = self._logs
        found = await logs.store.get(key)
        uid = str(found.value["dockyard"]["uid"]) if found is not None else None
        await logs.events.drop_groups_named(key.account_id, key.region, key.name, keep=uid)
        await self._sweep()
        more = await logs.events.purge(PURGE_BATCH)
        wait: float | None = None
        days = found.value.get("retentionInDays") if found is not None else None
        if uid is not None and days:
            period = int(days) * _DAY_MS
            removed, left = await logs.events.expire(uid, logs.now_ms() - period, EXPIRE_BATCH)
            if removed:
                log.debug(
                    "log group %s: %d events past its %d-day retention deleted", key.name, removed, days
                )
            more = more or left
            oldest = await logs.events.oldest(uid)
            if oldest is not None:
                wait = min(max((oldest + period - logs.now_ms()) / 1000, 1.0), _MAX_WAIT)
        if more:
            return Requeue(after=_SOON)
        return Requeue(after=wait) if wait is not None else DONE

    async def _sweep(self) -> None:
        """Drop the rows of groups whose documents are gone (deleted while the server was down)."""
        clock = self._logs.clock
        if self._next_sweep is not None and clock.monotonic() < self._next_sweep:
            return
        self._next_sweep = clock.monotonic() + _SWEEP_INTERVAL
        rows = await self._logs.events.groups()  # first: a row is made after its document
        live = {
            (d.key.account_id, d.key.region, d.key.name): str(d.value["dockyard"]["uid"])
            for d in await self._logs.store.list(GROUP)
        }
        for row in rows:
            if live.get((row.account, row.region, row.name)) != row.uid:
                await self._logs.events.drop_group(row.uid)


def logs_controllers(logs: Logs) -> list[RetentionController]:
    return [RetentionController(logs)]
