"""Managed scaling arithmetic (reference §7.3): CapacityProviderReservation, the instances the
tasks need, step sizes, warm-up and the scale-in datapoints."""

from __future__ import annotations

import pytest

from dockyard.scheduler.capacity_reservation import (
    Need,
    Room,
    ScalingInput,
    decide,
    goal,
    instances_needed,
    reservation,
)

MICRO = {"instance_cpu": 1024, "instance_memory": 983}  # t2.micro as an agent registers it


@pytest.mark.parametrize(
    ("m", "n", "cpr"),
    [(0, 0, 100.0), (3, 0, 200.0), (0, 4, 0.0), (2, 4, 50.0), (4, 4, 100.0), (5, 4, 125.0), (1, 3, 100 / 3)],
)
def test_reservation(m: int, n: int, cpr: float) -> None:
    assert reservation(m, n) == pytest.approx(cpr)


@pytest.mark.parametrize(
    ("m", "target", "expected"), [(0, 100, 0), (3, 100, 3), (3, 75, 4), (9, 90, 10), (1, 1, 100)]
)
def test_goal(m: int, target: int, expected: int) -> None:
    assert goal(m, target) == expected


def test_instances_needed_counts_busy_instances_and_binpacks_waiting_tasks() -> None:
    # No instances: three 600 MiB tasks need three t2.micro; two 400 MiB tasks share one.
    assert instances_needed([], [Need(256, 600)] * 3, **MICRO) == 3
    assert instances_needed([], [Need(256, 400)] * 2, **MICRO) == 1
    # Busy instances count; empty ones do not, until a waiting task fills them.
    rooms = [Room(512, 400, busy=True), Room(1024, 983), Room(1024, 983)]
    assert instances_needed(rooms, [], **MICRO) == 1
    assert instances_needed(rooms, [Need(256, 300)], **MICRO) == 1  # fits the busy one's free room
    assert instances_needed(rooms, [Need(256, 900)], **MICRO) == 2  # takes an empty one
    assert instances_needed(rooms, [Need(256, 900)] * 3, **MICRO) == 4  # and one more instance
    # Largest first: 700 + 250 and 700 + 200 share two instances (700 + 300 would not fit one).
    assert instances_needed([], [Need(1, 200), Need(1, 700), Need(1, 700), Need(1, 250)], **MICRO) == 2
    assert instances_needed([], [Need(1, 200), Need(1, 700), Need(1, 700), Need(1, 300)], **MICRO) == 3


def test_a_task_no_instance_of_the_type_can_take_is_left_out() -> None:
    assert instances_needed([], [Need(4096, 100)], **MICRO) == 0
    assert reservation(0, 0) == 100.0  # pinned: nothing to scale out for


def _input(**given: int | bool) -> ScalingInput:
    values: dict[str, int | bool] = {"needed": 0, "running": 0, "desired": 0, "min_size": 0, "max_size": 10}
    values.update(given)
    return ScalingInput(**values)  # type: ignore[arg-type]


def test_scale_out_from_zero_and_past_the_target() -> None:
    assert decide(_input(needed=3)) == 3  # CPR 200: up to M
    assert decide(_input(needed=3, running=2, desired=2)) == 3
    assert decide(_input(needed=3, running=3, desired=3)) is None  # at the target
    assert decide(_input(needed=3, running=3, desired=3, target_capacity=50)) == 6  # spare room kept


def test_step_sizes_bound_a_scale_out() -> None:
    assert decide(_input(needed=1, minimum_step=3)) == 3  # at least the minimum step
    assert decide(_input(needed=8, maximum_step=2)) == 2  # at most the maximum step
    assert decide(_input(needed=8, running=2, desired=2, maximum_step=2)) == 4
    assert decide(_input(needed=8, max_size=5)) == 5  # never past MaxSize
    assert decide(_input(needed=8, running=5, desired=5, max_size=5)) is None


def test_warm_up_holds_the_next_step() -> None:
    assert decide(_input(needed=4, running=2, desired=2, warming=True)) is None
    assert decide(_input(needed=4, running=2, desired=2, warming=False)) == 4


def test_launches_under_way_are_not_asked_for_twice() -> None:
    assert decide(_input(needed=2, running=0, desired=2)) is None


def test_scale_in_after_enough_datapoints_below_the_target() -> None:
    quiet = _input(needed=1, running=3, desired=3)
    assert decide(quiet) is None  # the first datapoint below the target
    assert decide(_input(needed=1, running=3, desired=3, below=14)) is None
    assert decide(_input(needed=1, running=3, desired=3, below=15)) == 1
    assert decide(_input(needed=0, running=3, desired=3, below=15)) == 0
    assert decide(_input(needed=0, running=3, desired=3, below=15, min_size=2)) == 2  # never below MinSize
    # CPR 66 is above a target of 50: that is a scale-out, not a scale-in.
    assert decide(_input(needed=2, running=3, desired=3, below=15, target_capacity=50)) == 4
    assert decide(_input(needed=1, running=3, desired=3, below=2, scale_in_datapoints=2)) == 1


def test_an_empty_group_with_nothing_to_run_stays_empty() -> None:
    assert decide(_input(target_capacity=80)) is None
