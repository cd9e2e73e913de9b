"""A change signal many coroutines can wait on without missing a notification.

gen = signal.generation      # before looking at the state
... check the state ...
await signal.wait(gen)       # returns at once if anything changed since `gen`
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["Signal"]


class Signal:
    def __init__(self) -> None:
        self._generation = 0
        self._event = asyncio.Event()

    @property
    def generation(self) -> int:
        return self._generation

    def notify(self) -> None:
        self._generation += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, generation: int, timeout: float | None = None) -> None:
        if generation != self._generation:
            return
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
