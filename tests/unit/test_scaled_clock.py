"""`--time-scale`: the server's clock runs N times faster than the wall clock, from its start."""

from __future__ import annotations

import asyncio

import pytest

from dockyard.core import clock as clock_module
from dockyard.core.clock import ScaledClock


class Wall:
    def __init__(self) -> None:
        self.wall = 1_800_000_000.0
        self.mono = 500.0

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono


def test_time_runs_faster_from_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    wall = Wall()
    monkeypatch.setattr(clock_module, "time", wall)
    clock = ScaledClock(20)
    assert clock.now() == 1_800_000_000.0
    wall.mono += 3.0  # three real seconds...
    assert clock.now() == 1_800_000_060.0  # ...are a minute
    assert clock.monotonic() == 500.0 + 60.0


def test_sleep_is_shorter_by_the_factor(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(clock_module.asyncio, "sleep", fake_sleep)
    asyncio.run(ScaledClock(30).sleep(300))
    assert slept == [10.0]


@pytest.mark.parametrize("factor", [0, -1])
def test_factor_must_be_positive(factor: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(factor)
