"""How tasks split across the providers of a capacity provider strategy (reference §7.2), no I/O.

A strategy is a list of `(provider, weight, base)`. For a population of `total` tasks:

```
targets(total):  the base provider first gets min(base, total)
                 the rest, total - base, is shared by weight: floor(rest * w / W) each, and the
                 tasks left over go one by one to the largest remainders (ties: strategy order)
split(current, count):   each new task goes to the provider furthest below its target for the
                         population it makes (current + the tasks placed so far + 1)
shrink(current, count):  each task removed comes from the provider furthest above its target for
                         the population left (providers outside the strategy first)
```
Because both directions compare cumulative counts with the targets of the population they
produce, scaling a service out and back in keeps the ratio (A:1, B:4 holds 1 of every 5 on A).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["StrategyItem", "strategy_items", "targets", "split", "shrink"]


@dataclass(frozen=True, slots=True)
class StrategyItem:
    provider: str
    weight: int = 0
    base: int = 0


def strategy_items(strategy: Sequence[Mapping[str, object]]) -> tuple[StrategyItem, ...]:
    """Items of an ECS `capacityProviderStrategy` (missing weight and base are 0)."""
    return tuple(
        StrategyItem(str(i["capacityProvider"]), int(str(i.get("weight") or 0)), int(str(i.get("base") or 0)))
        for i in strategy
    )


def targets(strategy: Sequence[StrategyItem], total: int) -> dict[str, int]:
    """How many of `total` tasks each provider of the strategy should hold."""
    out = {item.provider: 0 for item in strategy}
    rest = total
    for item in strategy:
        if item.base > 0 and rest > 0:
            given = min(item.base, rest)
            out[item.provider] += given
            rest -= given
    weighted = [(i, item) for i, item in enumerate(strategy) if item.weight > 0]
    if rest <= 0:
        return out
    if not weighted:  # only a base: the base provider takes everything (validation forbids this)
        first = next((item for item in strategy if item.base > 0), strategy[0] if strategy else None)
        if first is not None:
            out[first.provider] += rest
        return out
    whole = sum(item.weight for _, item in weighted)
    remainders = []
    given = 0
    for index, item in weighted:
        share, remainder = divmod(rest * item.weight, whole)
        out[item.provider] += share
        given += share
        remainders.append((remainder, -index, item.provider))
    for _, _, provider in sorted(remainders, reverse=True)[: rest - given]:
        out[provider] += 1
    return out


def split(strategy: Sequence[StrategyItem], current: Mapping[str, int], count: int) -> list[str]:
    """The provider of each of `count` new tasks, given the tasks each provider holds now."""
    if not strategy:
        return []
    have = {item.provider: int(current.get(item.provider, 0)) for item in strategy}
    order = {item.provider: i for i, item in enumerate(strategy)}
    eligible = [item.provider for item in strategy if item.weight > 0 or item.base > 0] or [
        strategy[0].provider
    ]
    chosen: list[str] = []
    for _ in range(count):
        want = targets(strategy, sum(have.values()) + 1)
        provider = max(eligible, key=lambda p: (want[p] - have[p], -order[p]))
        have[provider] += 1
        chosen.append(provider)
    return chosen


def shrink(strategy: Sequence[StrategyItem], current: Mapping[str, int], count: int) -> list[str]:
    """The provider each of `count` removed tasks comes from, keeping the rest near the ratio."""
    have = {p: int(n) for p, n in current.items() if n > 0}
    order = {item.provider: i for i, item in enumerate(strategy)}
    chosen: list[str] = []
    for _ in range(count):
        if not have:
            break
        want = targets(strategy, sum(have.values()) - 1)
        provider = max(have, key=lambda p: (p not in order, have[p] - want.get(p, 0), order.get(p, -1)))
        have[provider] -= 1
        if have[provider] == 0:
            del have[provider]
        chosen.append(provider)
    return chosen
