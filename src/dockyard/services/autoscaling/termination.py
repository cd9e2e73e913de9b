"""Which instances a scale-in terminates, and where a scale-out launches: pure functions.

Scale-in, per instance to remove (AWS's default termination policy):
1. the Availability Zone with the most instances that has an instance not protected from scale-in;
2. within it, the group's termination policies in order, each keeping only the instances it
   ranks best (`OldestInstance`, `NewestInstance`, `OldestLaunchConfiguration`,
   `OldestLaunchTemplate`, `ClosestToNextInstanceHour`; `Default` is the chain below);
3. then the default chain: instances not using the group's current launch template or
   configuration, the oldest of those first; closest to the next billing hour; the oldest.
Protected instances are never chosen (a forced delete passes `ignore_protection`).

Scale-out: each new instance goes to the zone with the fewest instances (ties: the group's order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Candidate", "choose_victims", "spread_launches"]


@dataclass(frozen=True, slots=True)
class Candidate:
    instance_id: str
    zone: str
    launched_at: float
    source_age: float  # smaller is older: a launch configuration's creation time, a template version
    current_source: bool  # launched from what the group launches from now
    protected: bool = False


def _narrow(candidates: list[Candidate], score: Callable[[Candidate], float]) -> list[Candidate]:
    """The candidates with the highest score."""
    best = max(score(c) for c in candidates)
    return [c for c in candidates if score(c) == best]


def _policy(candidates: list[Candidate], policy: str, now: float) -> list[Candidate]:
    if policy == "OldestInstance":
        return _narrow(candidates, lambda c: -c.launched_at)
    if policy == "NewestInstance":
        return _narrow(candidates, lambda c: c.launched_at)
    if policy in ("OldestLaunchConfiguration", "OldestLaunchTemplate"):
        candidates = _narrow(candidates, lambda c: 0.0 if c.current_source else 1.0)
        return _narrow(candidates, lambda c: -c.source_age)
    if policy == "ClosestToNextInstanceHour":
        return _narrow(candidates, lambda c: (now - c.launched_at) % 3600)
    if policy == "Default":
        for step in ("OldestLaunchTemplate", "ClosestToNextInstanceHour", "OldestInstance"):
            candidates = _policy(candidates, step, now)
        return candidates
    return candidates  # AllocationStrategy: one launch source here, so nothing to rank


def choose_victims(
    candidates: Sequence[Candidate],
    count: int,
    *,
    zones: Sequence[str],
    policies: Sequence[str],
    now: float,
    ignore_protection: bool = False,
) -> list[str]:
    """Up to `count` instance ids to terminate, in order."""
    pool = [c for c in candidates if ignore_protection or not c.protected]
    per_zone: dict[str, int] = {}
    for candidate in candidates:
        per_zone[candidate.zone] = per_zone.get(candidate.zone, 0) + 1
    order = {zone: i for i, zone in enumerate(zones)}
    chosen: list[str] = []
    while pool and len(chosen) < count:
        open_zones = {c.zone for c in pool}
        zone = max(open_zones, key=lambda z: (per_zone.get(z, 0), -order.get(z, len(order))))
        remaining = [c for c in pool if c.zone == zone]
        for policy in [*policies, "Default"]:
            if len(remaining) == 1:
                break
            remaining = _policy(remaining, policy, now)
        victim = min(remaining, key=lambda c: (c.launched_at, c.instance_id))
        chosen.append(victim.instance_id)
        pool.remove(victim)
        per_zone[zone] -= 1
    return chosen


def spread_launches(count: int, *, zones: Sequence[str], existing: dict[str, int]) -> dict[str, int]:
    """How many of `count` new instances go to each zone, keeping the zones balanced."""
    per_zone = {zone: existing.get(zone, 0) for zone in zones}
    plan = {zone: 0 for zone in zones}
    for _ in range(count):
        zone = min(zones, key=lambda z: (per_zone[z], zones.index(z)))
        per_zone[zone] += 1
        plan[zone] += 1
    return {zone: n for zone, n in plan.items() if n}
