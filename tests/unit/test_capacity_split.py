"""How tasks split across a capacity provider strategy (reference §7.2): base first, then weights,
by largest remainder on cumulative counts, so scaling out and back in keeps the ratio (a service's
scale-in included)."""

from __future__ import annotations

from collections import Counter

import pytest

from dockyard.scheduler.capacity_split import StrategyItem, shrink, split, strategy_items, targets
from dockyard.scheduler.service_model import ServiceState, ServiceTask
from dockyard.scheduler.service_plan import plan

A, B, C = "A", "B", "C"


def s(*items: tuple[str, int, int]) -> tuple[StrategyItem, ...]:
    return tuple(StrategyItem(p, w, b) for p, w, b in items)


@pytest.mark.parametrize(
    ("strategy", "total", "expected"),
    [
        (s((A, 1, 0)), 5, {A: 5}),
        (s((A, 1, 0), (B, 1, 0)), 5, {A: 3, B: 2}),  # ties go to the earlier provider
        (s((A, 1, 0), (B, 4, 0)), 10, {A: 2, B: 8}),
        (s((A, 1, 0), (B, 4, 0)), 7, {A: 1, B: 6}),  # 1.4 / 5.6: the larger remainder is B's
        (s((A, 1, 2), (B, 4, 0)), 1, {A: 1, B: 0}),  # the base first
        (s((A, 1, 2), (B, 4, 0)), 2, {A: 2, B: 0}),
        (s((A, 1, 2), (B, 4, 0)), 7, {A: 3, B: 4}),  # 2 base, then 5 by 1:4
        (s((A, 0, 3), (B, 1, 0)), 5, {A: 3, B: 2}),  # weight 0: only its base
        (s((A, 2, 0), (B, 3, 0), (C, 5, 0)), 10, {A: 2, B: 3, C: 5}),
        (s((A, 1, 0), (B, 1, 0), (C, 1, 0)), 4, {A: 2, B: 1, C: 1}),
        (s((A, 1, 0)), 0, {A: 0}),
    ],
)
def test_targets(strategy: tuple[StrategyItem, ...], total: int, expected: dict[str, int]) -> None:
    assert targets(strategy, total) == expected


def test_split_of_a_run_task_follows_base_then_weights() -> None:
    strategy = s(("FARGATE", 1, 1), ("FARGATE_SPOT", 4, 0))
    chosen = split(strategy, {}, 10)
    assert chosen[0] == "FARGATE"  # the base task first
    assert Counter(chosen) == {"FARGATE": 3, "FARGATE_SPOT": 7}  # 1 + 9 * 1/5 -> 1 + 2 (1.8 rounds up)


def test_split_continues_a_population() -> None:
    strategy = s((A, 1, 0), (B, 4, 0))
    assert Counter(split(strategy, {A: 0, B: 4}, 1)) == {A: 1}  # A is owed its one in five
    assert Counter(split(strategy, {A: 1, B: 4}, 5)) == {A: 1, B: 4}


def test_scaling_out_one_at_a_time_equals_all_at_once() -> None:
    strategy = s((A, 1, 2), (B, 3, 0), (C, 1, 0))
    held: Counter[str] = Counter()
    for _ in range(23):
        held.update(split(strategy, held, 1))
    assert held == Counter(split(strategy, {}, 23))
    assert dict(held) == {A: 6, B: 13, C: 4}  # 2 base + 21 by 1:3:1 (4.2, 12.6, 4.2 -> 4, 13, 4)


def test_shrink_keeps_the_ratio_and_removes_providers_outside_the_strategy_first() -> None:
    strategy = s((A, 1, 0), (B, 4, 0))
    held = {A: 2, B: 8}
    removed = Counter(shrink(strategy, held, 5))
    assert removed == {A: 1, B: 4}
    assert Counter(shrink(strategy, {A: 2, B: 8, C: 2}, 2)) == {C: 2}
    # scale out then back in: the population returns to the same split
    grown = Counter(held) + Counter(split(strategy, held, 5))
    assert grown - Counter(shrink(strategy, grown, 5)) == Counter(held)


def test_shrink_keeps_the_base_longest() -> None:
    strategy = s((A, 1, 2), (B, 1, 0))
    assert shrink(strategy, {A: 3, B: 2}, 3) == [B, B, A]  # down to 2 tasks: both are A's base
    assert shrink(strategy, {A: 2}, 5) == [A, A]  # never more than there are


def test_strategy_items_defaults() -> None:
    assert strategy_items([{"capacityProvider": "X"}, {"capacityProvider": "Y", "weight": 2, "base": 1}]) == (
        StrategyItem("X", 0, 0),
        StrategyItem("Y", 2, 1),
    )


def test_a_service_scale_in_keeps_the_ratio() -> None:
    running = [
        ServiceTask(
            f"arn:aws:ecs:us-east-1:1:task/c/{i:032x}",
            "ecs-svc/1",
            last_status="RUNNING",
            started_at=0.0,
            capacity_provider=provider,
        )
        for i, provider in enumerate([A, A, A, A, B, B])
    ]
    state = ServiceState(
        now=1000.0,
        primary="ecs-svc/1",
        desired=4,
        tasks=tuple(running),
        capacity_strategy=s((A, 1, 2), (B, 1, 0)),
    )
    stopped = {stop.arn for stop in plan(state).stops}
    assert Counter(t.capacity_provider for t in running if t.arn in stopped) == {A: 1, B: 1}
