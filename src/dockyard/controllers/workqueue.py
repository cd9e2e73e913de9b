"""A work queue of store keys, in the manner of Kubernetes' client-go workqueue.

- `add` de-duplicates: a key waiting in the queue is queued once however often it is added.
- `get` never hands out a key that is already being processed; a key added while in flight is
  processed again after `done`.
- `add_after` schedules a key for later (the earliest requested time wins).
- `done(key, error=...)` retries failures with exponential backoff, capped.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque

from dockyard.core.clock import Clock
from dockyard.core.errors import TemporaryError
from dockyard.store import Key

__all__ = ["WorkQueue"]


class WorkQueue:
    def __init__(self, clock: Clock, *, base_delay: float = 0.05, max_delay: float = 60.0) -> None:
        self._clock = clock
        self._queue: deque[Key] = deque()
        self._queued: set[Key] = set()
        self._in_flight: set[Key] = set()
        self._dirty: set[Key] = set()
        self._delayed: list[tuple[float, int, Key]] = []
        self._seq = 0
        self._failures: dict[Key, int] = {}
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._wakeup = asyncio.Event()

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: Key) -> None:
        if key in self._in_flight:
            self._dirty.add(key)
            return
        if key not in self._queued:
            self._queued.add(key)
            self._queue.append(key)
            self._wakeup.set()

    def add_after(self, key: Key, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        self._seq += 1
        heapq.heappush(self._delayed, (self._clock.monotonic() + delay, self._seq, key))
        self._wakeup.set()

    def _promote_due(self) -> float | None:
        """Move due delayed keys into the queue; return seconds until the next one is due."""
        now = self._clock.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            self.add(key)
        return self._delayed[0][0] - now if self._delayed else None

    async def get(self) -> Key:
        while True:
            wait = self._promote_due()
            if self._queue:
                key = self._queue.popleft()
                self._queued.discard(key)
                self._in_flight.add(key)
                return key
            self._wakeup.clear()
            if wait is None:
                await self._wakeup.wait()
            else:  # a new key, or the clock reaching the next delayed one (in the clock's time)
                woken = asyncio.ensure_future(self._wakeup.wait())
                timer = asyncio.ensure_future(self._clock.sleep(wait))
                try:
                    await asyncio.wait((woken, timer), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    woken.cancel()
                    timer.cancel()

    def done(
        self, key: Key, *, error: BaseException | None = None, requeue_after: float | None = None
    ) -> None:
        self._in_flight.discard(key)
        if error is not None:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            delay = min(self._base_delay * 2 ** (failures - 1), self._max_delay)
            if isinstance(error, TemporaryError):
                delay = max(delay, error.delay)
            self.add_after(key, delay)
        else:
            self._failures.pop(key, None)
            if requeue_after is not None:
                self.add_after(key, requeue_after)
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)
