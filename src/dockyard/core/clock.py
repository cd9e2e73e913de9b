"""Time, injected: domain code asks a `Clock` instead of calling `time` or `asyncio.sleep`."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "ScaledClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock time as epoch seconds."""
        ...

    def monotonic(self) -> float:
        """A clock for measuring intervals; never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ScaledClock:
    """The real clock running `factor` times faster from the moment it is made (the server's
    `--time-scale`): every timer, period and default delay passes `factor` times sooner, so a
    one-minute metric period, a 300 s cooldown or a 15-minute scale-in can be watched live."""

    def __init__(self, factor: float) -> None:
        if factor <= 0:
            raise ValueError("the time scale must be positive")
        self.factor = factor
        self._wall = time.time()
        self._mono = time.monotonic()

    def now(self) -> float:
        return self._wall + (time.monotonic() - self._mono) * self.factor

    def monotonic(self) -> float:
        return self._mono + (time.monotonic() - self._mono) * self.factor

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.factor)
