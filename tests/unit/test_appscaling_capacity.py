"""Capacity arithmetic of target tracking and step scaling, and the cooldown rules (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.services.applicationautoscaling.capacity import (
    Cooldown,
    NotScaled,
    adjusted_capacity,
    decide,
    percent_change,
    select_step,
    tracking_capacity,
)


@pytest.mark.parametrize(
    ("base", "metric", "target", "expected"),
    [
        (2, 90.0, 50.0, 4),  # 3.6 -> 4
        (4, 75.0, 75.0, 4),  # at the target: unchanged
        (3, 100.0, 50.0, 6),  # exactly double
        (10, 20.0, 50.0, 4),  # scale in: 4 keeps the projected metric at 50
        (10, 44.0, 50.0, 9),  # 8.8 -> 9 (rounding up is the conservative side)
        (5, 0.0, 50.0, 0),  # idle: the minimum capacity will hold it
        (0, 10.0, 5.0, 1),  # from zero: one task
        (0, 1.0, 5.0, 0),
        (3, 50.000000000001, 50.0, 3),  # float noise does not add a task
    ],
)
def test_target_tracking_capacity(base: int, metric: float, target: float, expected: int) -> None:
    assert tracking_capacity(base, metric, target) == expected


STEPS: list[dict[str, Any]] = [
    {"MetricIntervalUpperBound": -20.0, "ScalingAdjustment": -2},
    {"MetricIntervalLowerBound": -20.0, "MetricIntervalUpperBound": 0.0, "ScalingAdjustment": -1},
    {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 10.0, "ScalingAdjustment": 1},
    {"MetricIntervalLowerBound": 10.0, "ScalingAdjustment": 3},
]


@pytest.mark.parametrize(
    ("delta", "adjustment"),
    [
        (0.0, 1),  # above the threshold the lower bound is inclusive...
        (9.99, 1),
        (10.0, 3),  # ...and the upper exclusive
        (500.0, 3),
        (-0.5, -1),
        (-19.99, -1),
        (-20.0, -2),  # below it the upper bound (nearer the threshold) is inclusive
        (-0.0001, -1),
    ],
)
def test_step_selection(delta: float, adjustment: int) -> None:
    step = select_step(STEPS, delta)
    assert step is not None and step["ScalingAdjustment"] == adjustment


def test_no_step_for_a_value_outside_every_interval() -> None:
    assert select_step([{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}], -3.0) is None


@pytest.mark.parametrize(
    ("base", "percent", "magnitude", "change"),
    [
        (10, 25, None, 2),  # 2.5 rounds down
        (4, 10, None, 1),  # 0.4 -> 1
        (4, -10, None, -1),  # -0.4 -> -1
        (10, -25, None, -2),  # -2.5 rounds toward zero
        (4, 25, 2, 2),  # 1 -> the minimum magnitude 2 (AWS's example)
        (4, -25, 2, -2),
        (100, 50, 2, 50),
        (0, 50, 3, 0),  # nothing to take a percentage of
    ],
)
def test_percent_change_rounding(base: int, percent: int, magnitude: int | None, change: int) -> None:
    assert percent_change(base, percent, magnitude) == change


def test_adjustment_types() -> None:
    assert adjusted_capacity("ChangeInCapacity", 3, 2, None) == 5
    assert adjusted_capacity("ChangeInCapacity", 3, -5, None) == -2  # clamped later by decide
    assert adjusted_capacity("ExactCapacity", 3, 7, None) == 7
    assert adjusted_capacity("PercentChangeInCapacity", 8, 50, None) == 12


NO_COOLDOWN = Cooldown()


def _decide(
    current: int, proposed: int, cooldown: Cooldown = NO_COOLDOWN, now: float = 1000.0, **kw: Any
) -> Any:
    return decide(
        current=current,
        proposed=proposed,
        min_capacity=kw.pop("min_capacity", 1),
        max_capacity=kw.pop("max_capacity", 10),
        cooldown=cooldown,
        now=now,
        out_cooldown=300,
        in_cooldown=300,
        **kw,
    )


def test_scale_out_starts_a_cooldown_from_the_capacity_before_it() -> None:
    decision = _decide(2, 4)
    assert decision.capacity == 4
    assert decision.cooldown == Cooldown(out_until=1300.0, out_base=2, in_until=0.0)


def test_during_a_scale_out_cooldown_capacity_already_added_counts() -> None:
    running = Cooldown(out_until=1300.0, out_base=2)
    assert running.base(4, now=1100.0) == 2  # a new proposal is computed from 2, not 4
    assert running.base(4, now=1300.0) == 4  # once over, from the current capacity
    # the same proposal again (from the base) changes nothing, silently
    same = _decide(4, 4, running, now=1100.0)
    assert same.capacity is None and same.not_scaled is None
    settled = _decide(4, 4, NO_COOLDOWN, now=1100.0)
    assert settled.not_scaled == NotScaled("AlreadyAtDesiredCapacity", current_capacity=4)
    smaller = _decide(4, 3, running, now=1100.0)
    assert smaller.capacity is None and smaller.not_scaled is None  # a scale-in: blocked
    larger = _decide(4, 6, running, now=1100.0)
    assert larger.capacity == 6
    assert larger.cooldown.out_base == 2 and larger.cooldown.out_until == 1400.0


def test_scale_in_waits_for_both_cooldowns() -> None:
    after_out = Cooldown(out_until=1300.0, out_base=2)
    assert _decide(4, 2, after_out, now=1200.0).capacity is None
    assert _decide(4, 2, after_out, now=1300.0).capacity == 2
    after_in = Cooldown(in_until=1300.0)
    assert _decide(4, 3, after_in, now=1299.0).capacity is None
    scaled_in = _decide(4, 3, Cooldown(), now=1000.0)
    assert scaled_in.capacity == 3 and scaled_in.cooldown.in_until == 1300.0


def test_a_scale_out_ends_a_scale_in_cooldown() -> None:
    decision = _decide(3, 5, Cooldown(in_until=1300.0), now=1100.0)
    assert decision.capacity == 5 and decision.cooldown.in_until == 0.0


def test_min_and_max_clamp_and_say_why_nothing_changed() -> None:
    assert _decide(8, 30).capacity == 10
    at_max = _decide(10, 30)
    assert at_max.capacity is None
    assert at_max.not_scaled == NotScaled("AlreadyAtMaxCapacity", max_capacity=10)
    assert at_max.not_scaled.to_doc() == {"Code": "AlreadyAtMaxCapacity", "MaxCapacity": 10}
    assert _decide(3, 0).capacity == 1
    at_min = _decide(1, 0)
    assert at_min.not_scaled == NotScaled("AlreadyAtMinCapacity", min_capacity=1)


def test_suspension_holds_back_one_direction_only() -> None:
    assert _decide(2, 4, out_suspended=True).capacity is None
    assert _decide(2, 4, in_suspended=True).capacity == 4
    assert _decide(4, 2, in_suspended=True).capacity is None
    assert _decide(4, 2, out_suspended=True).capacity == 2


def test_cooldown_round_trips_through_a_document() -> None:
    state = Cooldown(out_until=12.5, out_base=3, in_until=40.0)
    assert Cooldown.from_doc(state.to_doc()) == state
    assert Cooldown.from_doc(None) == Cooldown()


def test_the_trigger_names_the_reason_when_nothing_would_change() -> None:
    # AlarmLow at the minimum: rounding up keeps 1 task, which is the minimum
    assert _decide(1, 1, intent=-1).not_scaled == NotScaled("AlreadyAtMinCapacity", min_capacity=1)
    assert _decide(10, 10, intent=1).not_scaled == NotScaled("AlreadyAtMaxCapacity", max_capacity=10)
    assert _decide(5, 5, intent=1).not_scaled == NotScaled("AlreadyAtDesiredCapacity", current_capacity=5)
