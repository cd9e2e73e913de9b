"""Capacity arithmetic of scaling policies and their cooldowns (pure: numbers in, a decision out).

```
target tracking   desired = ceil(base × metric / target)    (base 0 and metric above target: 1)
step scaling      the step whose interval holds (metric - threshold), then
                  ChangeInCapacity base + n | PercentChangeInCapacity base + rounded % | ExactCapacity n
decide            clamp to [min, max], then the cooldown rules:
  scale out   allowed unless suspended; during a scale-out cooldown `base` is the capacity before
              the scale-out that began it (capacity already added counts) and only a larger
              desired count goes ahead; any scale-out ends a scale-in cooldown
  scale in    blocked while suspended, during a scale-out cooldown or a scale-in cooldown
```
Scale-in is conservative by construction: rounding up keeps the projected metric at or below
the target (ceil(c·m/t)·t ≥ c·m).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Cooldown",
    "Decision",
    "NotScaled",
    "adjusted_capacity",
    "decide",
    "percent_change",
    "select_step",
    "tracking_capacity",
]

_EPSILON = 1e-9


def tracking_capacity(base: int, metric: float, target: float) -> int:
    """The capacity that brings `metric` (measured at `base`) to `target`."""
    if base <= 0:
        return 1 if metric > target else 0
    ratio = base * metric / target
    return max(0, math.ceil(ratio - _EPSILON))


def select_step(steps: Sequence[Mapping[str, Any]], delta: float) -> Mapping[str, Any] | None:
    """The step adjustment whose interval holds `delta` (metric minus the alarm threshold).

    Above the threshold the lower bound is inclusive and the upper exclusive; below it, the
    reverse (the bound nearer the threshold is inclusive). A missing bound is infinite.
    """
    for step in steps:
        low = step.get("MetricIntervalLowerBound")
        high = step.get("MetricIntervalUpperBound")
        if delta >= 0:
            fits = (low is None or delta >= low) and (high is None or delta < high)
        else:
            fits = (low is None or delta > low) and (high is None or delta <= high)
        if fits:
            return step
    return None


def percent_change(base: int, percent: int, min_magnitude: int | None) -> int:
    """Tasks added (or removed, negative) by a PercentChangeInCapacity step, rounded as AWS does:
    above 1 down, between 0 and 1 to 1, between -1 and 0 to -1, below -1 toward 0."""
    raw = base * percent / 100
    if raw == 0:
        change = 0
    elif 0 < raw < 1:
        change = 1
    elif -1 < raw < 0:
        change = -1
    else:
        change = math.trunc(raw)
    if min_magnitude and change != 0 and abs(change) < min_magnitude:
        change = min_magnitude if change > 0 else -min_magnitude
    return change


def adjusted_capacity(adjustment_type: str, base: int, adjustment: int, min_magnitude: int | None) -> int:
    if adjustment_type == "ExactCapacity":
        return adjustment
    if adjustment_type == "PercentChangeInCapacity":
        return base + percent_change(base, adjustment, min_magnitude)
    return base + adjustment


@dataclass(frozen=True, slots=True)
class Cooldown:
    """A scalable target's cooldown state (stored on the target document)."""

    out_until: float = 0.0
    out_base: int = 0  # the capacity before the scale-out that began the scale-out cooldown
    in_until: float = 0.0

    def base(self, current: int, now: float) -> int:
        """What a scale-out adds to: the pre-cooldown capacity while a scale-out cooldown runs."""
        return min(self.out_base, current) if now < self.out_until else current

    def to_doc(self) -> dict[str, Any]:
        return {"outUntil": self.out_until, "outBase": self.out_base, "inUntil": self.in_until}

    @staticmethod
    def from_doc(doc: Mapping[str, Any] | None) -> Cooldown:
        doc = doc or {}
        return Cooldown(
            float(doc.get("outUntil", 0.0)), int(doc.get("outBase", 0)), float(doc.get("inUntil", 0.0))
        )


@dataclass(frozen=True, slots=True)
class NotScaled:
    code: str  # AlreadyAtMaxCapacity | AlreadyAtMinCapacity | AlreadyAtDesiredCapacity
    min_capacity: int | None = None
    max_capacity: int | None = None
    current_capacity: int | None = None

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"Code": self.code}
        for name, value in (
            ("MinCapacity", self.min_capacity),
            ("MaxCapacity", self.max_capacity),
            ("CurrentCapacity", self.current_capacity),
        ):
            if value is not None:
                doc[name] = value
        return doc


@dataclass(frozen=True, slots=True)
class Decision:
    """`capacity` set: scale to it. `not_scaled` set: record why nothing changed. Neither: a
    cooldown or a suspension holds the change back, silently (as on AWS)."""

    capacity: int | None = None
    cooldown: Cooldown = field(default_factory=Cooldown)
    not_scaled: NotScaled | None = None


def decide(
    *,
    current: int,
    proposed: int,
    min_capacity: int,
    max_capacity: int,
    cooldown: Cooldown,
    now: float,
    out_cooldown: float,
    in_cooldown: float,
    out_suspended: bool = False,
    in_suspended: bool = False,
    intent: int = 0,
) -> Decision:
    """`intent`: +1 when the trigger asks for more capacity (AlarmHigh, a positive step), -1 for
    less, 0 unknown; it names the reason when the proposal equals the current capacity."""
    desired = max(min_capacity, min(max_capacity, proposed))
    if proposed > current:
        if out_suspended:
            return Decision(cooldown=cooldown)
        if desired <= current:
            if current >= max_capacity:
                return Decision(
                    cooldown=cooldown, not_scaled=NotScaled("AlreadyAtMaxCapacity", max_capacity=max_capacity)
                )
            return Decision(cooldown=cooldown)  # a larger scale-out is still running its cooldown
        base = cooldown.base(current, now)
        started = Cooldown(out_until=now + out_cooldown, out_base=base, in_until=0.0)
        return Decision(capacity=desired, cooldown=started)
    if proposed < current:
        if in_suspended or now < cooldown.out_until or now < cooldown.in_until:
            return Decision(cooldown=cooldown)
        if desired >= current:
            if current <= min_capacity:
                return Decision(
                    cooldown=cooldown, not_scaled=NotScaled("AlreadyAtMinCapacity", min_capacity=min_capacity)
                )
            return Decision(cooldown=cooldown)
        return Decision(
            capacity=desired,
            cooldown=Cooldown(cooldown.out_until, cooldown.out_base, now + in_cooldown),
        )
    if now < cooldown.out_until:
        return Decision(cooldown=cooldown)  # the scale-out that began the cooldown already did it
    if intent < 0 and current <= min_capacity:
        return Decision(
            cooldown=cooldown, not_scaled=NotScaled("AlreadyAtMinCapacity", min_capacity=min_capacity)
        )
    if intent > 0 and current >= max_capacity:
        return Decision(
            cooldown=cooldown, not_scaled=NotScaled("AlreadyAtMaxCapacity", max_capacity=max_capacity)
        )
    return Decision(
        cooldown=cooldown, not_scaled=NotScaled("AlreadyAtDesiredCapacity", current_capacity=current)
    )
