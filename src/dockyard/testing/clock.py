"""A clock tests move by hand: `FakeClock.advance(300)` runs five minutes of timers at once."""

from __future__ import annotations

import asyncio

__all__ = ["FakeClock"]


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._monotonic = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._monotonic + max(seconds, 0.0), future))
        await future

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._monotonic += seconds
        due = [(t, f) for t, f in self._sleepers if t <= self._monotonic]
        self._sleepers = [(t, f) for t, f in self._sleepers if t > self._monotonic]
        for _, future in due:
            if not future.done():
                future.set_result(None)
