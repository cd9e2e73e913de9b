"""Time, injected: domain code asks a `Clock` instead of calling `time` or `asyncio.sleep`."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "ScaledClock", "SystemClock", "on_clock"]


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

    def from_wall(self, wall: float) -> float:
        """A real (wall-clock) timestamp, such as an agent reports, on this clock's time line."""
        return self._wall + (wall - self._wall) * self.factor

    def monotonic(self) -> float:
        return self._mono + (time.monotonic() - self._mono) * self.factor

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.factor)


def on_clock(clock: Clock, wall: float) -> float:
    """A wall-clock timestamp from outside the server (an agent's report) on `clock`'s time
    line: the same instant, shifted when the server's time runs faster (`ScaledClock`)."""
    return clock.from_wall(wall) if isinstance(clock, ScaledClock) else wall
