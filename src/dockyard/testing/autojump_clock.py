"""A clock whose time jumps ahead whenever every coroutine is waiting: hours of timers in milliseconds.

    clock = AutojumpClock()
    runtime = FakeRuntime(clock=clock)      # a container's `exit_after=300` happens at once...
    await runner_finished                   # ...as does a 3-hour cleanup wait

Virtual time only moves when nothing else can run (checked by yielding to the event loop a few
times), then straight to the earliest sleeper's deadline, so the order of timed events is kept and
no test waits for real. `now()` and `monotonic()` are the same virtual clock (epoch seconds).
Code doing real I/O while virtual time runs may see time jump under it: use it with fakes.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

__all__ = ["AutojumpClock"]

_IDLE_ROUNDS = 20  # event-loop turns without progress before time jumps


class AutojumpClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), next(self._order), future))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.create_task(self._drive(), name="autojump-clock")
        await future

    async def _drive(self) -> None:
        while self._sleepers:
            for _ in range(_IDLE_ROUNDS):
                await asyncio.sleep(0)
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)  # cancelled sleeps
            if self._sleepers:
                when, _, future = heapq.heappop(self._sleepers)
                self._now = max(self._now, when)
                future.set_result(None)

    async def close(self) -> None:
        """Stop driving time (cancels pending sleeps)."""
        for _, _, future in self._sleepers:
            future.cancel()
        self._sleepers.clear()
        if self._driver is not None:
            self._driver.cancel()
            await asyncio.gather(self._driver, return_exceptions=True)
