"""Managed scaling of an Auto Scaling group capacity provider (reference §7.3), as pure functions.

```
instances (remaining CPU/MiB, busy?) + waiting tasks (CPU/MiB) + the group's instance type
   --instances_needed-->  M = busy instances + the instances the waiting tasks need
                              (first fit, largest task first: free room on the group's instances,
                              then new instances of the group's type; a task that would not fit
                              even an empty instance is left out: it can never be placed)
M, N (instances in the group) --reservation--> CapacityProviderReservation = M / N * 100
                                               (N = 0: 200 when M > 0, else 100)
decide(M, N, ...) -> the group's new desired capacity, or None
   M = N = 0:    nothing (an empty group with nothing to run stays empty)
   above target: goal = ceil(M * 100 / targetCapacity); step = goal - N, at least
                 minimumScalingStepSize, at most maximumScalingStepSize, never past MaxSize;
                 no new step while the last one warms up (instanceWarmupPeriod)
   below target: only after `scale_in_datapoints` consecutive datapoints below it; down to the
                 goal, never below MinSize (scale-in ignores the step sizes)
```
"Busy" means running a task that is not a daemon's: an instance with only daemon tasks counts as
empty, as ECS counts it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Room", "Need", "instances_needed", "reservation", "ScalingInput", "decide", "goal"]


@dataclass(frozen=True, slots=True)
class Room:
    """One instance of the group: what it has left and whether it runs a non-daemon task."""

    cpu: int
    memory: int
    busy: bool = False


@dataclass(frozen=True, slots=True)
class Need:
    """One task waiting in PROVISIONING for this provider."""

    cpu: int
    memory: int


def instances_needed(
    instances: Sequence[Room], waiting: Sequence[Need], *, instance_cpu: int, instance_memory: int
) -> int:
    """M: busy instances plus those the waiting tasks would fill or add."""
    rooms = [[r.cpu, r.memory, r.busy] for r in instances]
    added: list[list[int]] = []
    for need in sorted(waiting, key=lambda n: (n.memory, n.cpu), reverse=True):
        if need.cpu > instance_cpu or need.memory > instance_memory:
            continue  # no instance of the group's type can ever take it
        room = next((r for r in rooms if r[0] >= need.cpu and r[1] >= need.memory), None)
        if room is not None:
            room[0] -= need.cpu
            room[1] -= need.memory
            room[2] = True
            continue
        new = next((r for r in added if r[0] >= need.cpu and r[1] >= need.memory), None)
        if new is None:
            new = [instance_cpu, instance_memory]
            added.append(new)
        new[0] -= need.cpu
        new[1] -= need.memory
    return sum(1 for r in rooms if r[2]) + len(added)


def reservation(needed: int, running: int) -> float:
    """CapacityProviderReservation, in percent."""
    if running == 0:
        return 200.0 if needed > 0 else 100.0
    return needed / running * 100.0


def goal(needed: int, target_capacity: int) -> int:
    """Instances that put the reservation at the target: ceil(M * 100 / target)."""
    return math.ceil(needed * 100 / target_capacity) if needed > 0 else 0


@dataclass(frozen=True, slots=True)
class ScalingInput:
    needed: int  # M
    running: int  # N: instances in the group (launching or in service)
    desired: int  # the group's DesiredCapacity now
    min_size: int
    max_size: int
    target_capacity: int = 100
    minimum_step: int = 1
    maximum_step: int = 10000
    warming: bool = False  # the last scale-out is within its instanceWarmupPeriod
    below: int = 0  # consecutive datapoints below the target, this one included
    scale_in_datapoints: int = 15


def decide(given: ScalingInput) -> int | None:
    """The desired capacity managed scaling sets now, or None to leave the group alone.

    An empty group with nothing to run stays empty whatever the target (M = N = 0 reads 100,
    which a target below 100 would otherwise chase forever, one launch and one scale-in at a time).
    """
    if given.needed == 0 and given.running == 0:
        return None
    value = reservation(given.needed, given.running)
    wanted = goal(given.needed, given.target_capacity)
    if value > given.target_capacity:
        if given.warming:
            return None
        step = max(wanted - given.running, given.minimum_step)
        step = min(step, given.maximum_step)
        new = min(given.running + step, given.max_size)
        return new if new > given.desired else None
    if value < given.target_capacity and given.below >= given.scale_in_datapoints:
        new = max(wanted, given.min_size)
        return new if new < given.desired else None
    return None
