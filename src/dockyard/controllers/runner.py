"""Runs reconcilers: one work queue and one worker per reconciler, fed by store changes.

```
store commit --> listener --> reconciler.triggers(change) --> queue.add(key)
start / every resync_interval --> store.list(kind) --> queue.add(every key)
worker: key = queue.get(); result = reconcile(key); queue.done(key, ...)
```
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from dockyard.controllers.reconciler import Reconciler
from dockyard.controllers.workqueue import WorkQueue
from dockyard.core.clock import Clock
from dockyard.core.errors import PermanentError
from dockyard.store import Change, Store

__all__ = ["ControllerRunner", "cancel_all"]

log = logging.getLogger(__name__)


class ControllerRunner:
    def __init__(
        self,
        reconcilers: Sequence[Reconciler],
        store: Store,
        clock: Clock,
        *,
        resync_interval: float = 30.0,
    ) -> None:
        self._reconcilers = list(reconcilers)
        self._store = store
        self._clock = clock
        self._resync_interval = resync_interval
        self._queues = {r.name: WorkQueue(clock) for r in self._reconcilers}
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        self._unsubscribe = self._store.subscribe(self._on_changes)
        for reconciler in self._reconcilers:
            queue = self._queues[reconciler.name]
            self._tasks.append(asyncio.create_task(self._work(reconciler, queue), name=reconciler.name))
        self._tasks.append(asyncio.create_task(self._resync(), name="resync"))

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        await cancel_all(self._tasks)
        self._tasks.clear()

    def _on_changes(self, changes: Sequence[Change]) -> None:
        for reconciler in self._reconcilers:
            queue = self._queues[reconciler.name]
            for change in changes:
                for key in reconciler.triggers(change):
                    queue.add(key)

    async def _resync(self) -> None:
        while True:
            for reconciler in self._reconcilers:
                queue = self._queues[reconciler.name]
                for doc in await self._store.list(reconciler.kind):
                    queue.add(doc.key)
            await self._clock.sleep(self._resync_interval)

    async def _work(self, reconciler: Reconciler, queue: WorkQueue) -> None:
        while True:
            key = await queue.get()
            try:
                result = await reconciler.reconcile(key)
            except asyncio.CancelledError:
                raise
            except PermanentError as exc:
                log.warning("%s: giving up on %s: %s", reconciler.name, key, exc)
                queue.done(key)
            except Exception as exc:
                log.debug("%s: retrying %s: %s", reconciler.name, key, exc, exc_info=True)
                queue.done(key, error=exc)
            else:
                queue.done(key, requeue_after=result.after)


async def cancel_all(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel `tasks` and wait until every one has ended. Python 3.11's `wait_for` can swallow a
    cancellation that lands just as its awaitable finishes, and a loop then goes back to waiting:
    so cancel again, once a second, until they are all done."""
    tasks = list(tasks)
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1.0)
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
