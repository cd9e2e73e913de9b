"""`--time-scale`: the server's clock runs N times faster than the wall clock, from its start."""

from __future__ import annotations

import asyncio

import pytest

from dockyard.core import clock as clock_module
from dockyard.core.clock import ScaledClock
from dockyard.core.ids import RandomIds
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.task_state import apply_report
from dockyard.store import Key, Put, SqliteStore


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


def test_an_agents_wall_clock_time_lands_on_the_scaled_time_line(monkeypatch: pytest.MonkeyPatch) -> None:
    wall = Wall()
    monkeypatch.setattr(clock_module, "time", wall)
    clock = ScaledClock(20)
    wall.mono += 3.0
    wall.wall += 3.0  # an agent reports "now" three real seconds after the server started
    assert clock_module.on_clock(clock, wall.wall) == clock.now() == 1_800_000_060.0
    assert clock_module.on_clock(clock_module.SystemClock(), 1_800_000_003.0) == 1_800_000_003.0


async def test_a_task_started_under_a_scaled_clock_starts_after_it_was_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A report's startedAt (the agent's wall clock) is stored on the server's time line."""

    wall = Wall()
    monkeypatch.setattr(clock_module, "time", wall)
    clock = ScaledClock(20)
    store = SqliteStore(":memory:")
    arn = "arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef0123456789abcdef"
    key = Key("123456789012", "us-east-1", "ecs:task", "default/0123456789abcdef0123456789abcdef")
    created = clock.now()
    task = {"taskArn": arn, "lastStatus": "PENDING", "desiredStatus": "RUNNING", "createdAt": created,
            "containers": []}  # fmt: skip
    await store.commit([Put(key, task)])
    wall.mono += 2.0
    wall.wall += 2.0
    report = {"taskArn": arn, "lastStatus": "RUNNING", "startedAt": wall.wall, "containers": []}
    assert await apply_report(Ecs(store, clock, RandomIds()), report)
    found = await store.get(key)
    assert found is not None and found.value["startedAt"] == created + 40.0
