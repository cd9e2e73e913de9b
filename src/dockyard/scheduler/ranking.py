"""Rankers: the placement strategies as a lexicographic order over the feasible nodes.

A `Ranking` holds exactly the nodes that pass every checker for one demand, arranged by the
strategies in order (reference §5.1 step 4, §5.2): the first strategy decides, later ones only
break its ties, and what is still tied at the end is chosen at random. `random` anywhere ends
the list (nothing after it can break a tie a random draw leaves).

```
strategies [spread(attribute:ecs.availability-zone), binpack(memory)]
   _ByBucket   us-east-1a (2 tasks) | us-east-1b (1 task) | us-east-1c (1 task)    fewest tasks first
     _ByKey      memory 512 -> _Leaf [i7]   memory 1024 -> _Leaf [i2, i9]          least first
```

Keys are integers, lower is better: binpack uses the node's remaining CPU or memory (every
member already fits); spread(instanceId) the node's tasks of the group; spread(attribute:X) the
tasks of the group on all instances sharing the node's value of X (instances lacking X share
one bucket). A ranking is a `PlanContext` listener: when a copy is reserved on a node, that
node leaves the structure, changes, and re-enters if it still fits, so choosing the next copy
costs O(levels x log n) instead of a scan of the cluster.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Sequence
from typing import Protocol

from dockyard.scheduler.checks import feasible, relevant_checks
from dockyard.scheduler.model import Strategy, TaskDemand
from dockyard.scheduler.state import NodeState, PlanContext

__all__ = ["Ranking", "ranking_for", "effective_strategies", "strategy_key"]

Keys = tuple[int, ...]


def effective_strategies(strategies: Sequence[Strategy]) -> tuple[Strategy, ...]:
    """The strategies that can matter: everything before the first `random`."""
    out: list[Strategy] = []
    for strategy in strategies:
        if strategy.type == "random":
            break
        out.append(strategy)
    return tuple(out)


def strategy_key(ctx: PlanContext, strategy: Strategy, group: str) -> Callable[[NodeState], int]:
    """A node's key under one strategy (lower is preferred)."""
    if strategy.type == "binpack":
        if strategy.field == "cpu":
            return lambda node: node.cpu
        return lambda node: node.memory
    attribute = strategy.attribute
    if attribute is None:
        return lambda node: node.group_count(group)
    counts = ctx.bucket_counts(attribute, group)
    return lambda node: counts.get(node.attribute(attribute), 0)


class _Level(Protocol):
    size: int

    def add(self, node: NodeState) -> None: ...

    def remove(self, node: NodeState) -> None: ...

    def best(self, rng: random.Random) -> tuple[Keys, NodeState]: ...


class _Leaf:
    """Nodes tied on every strategy: any of them, uniformly at random."""

    __slots__ = ("size", "_members", "_position")

    def __init__(self) -> None:
        self.size = 0
        self._members: list[NodeState] = []
        self._position: dict[int, int] = {}

    def add(self, node: NodeState) -> None:
        self._position[node.index] = len(self._members)
        self._members.append(node)
        self.size += 1

    def remove(self, node: NodeState) -> None:
        at = self._position.pop(node.index)
        last = self._members.pop()
        if last is not node:
            self._members[at] = last
            self._position[last.index] = at
        self.size -= 1

    def best(self, rng: random.Random) -> tuple[Keys, NodeState]:
        return (), self._members[rng.randrange(self.size)]


class _ByKey:
    """A per-node key (binpack, spread by instance): the children of the lowest key hold the best."""

    __slots__ = ("size", "_key", "_child", "_children", "_keys", "_held")

    def __init__(self, key: Callable[[NodeState], int], child: Callable[[], _Level]) -> None:
        self.size = 0
        self._key = key
        self._child = child
        self._children: dict[int, _Level] = {}
        self._keys: list[int] = []  # sorted distinct keys that have members
        self._held: dict[int, int] = {}  # node index -> the key it was filed under

    def add(self, node: NodeState) -> None:
        key = self._key(node)
        self._held[node.index] = key
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._child()
            bisect.insort(self._keys, key)
        child.add(node)
        self.size += 1

    def remove(self, node: NodeState) -> None:
        key = self._held.pop(node.index)
        child = self._children[key]
        child.remove(node)
        if child.size == 0:
            del self._children[key]
            del self._keys[bisect.bisect_left(self._keys, key)]
        self.size -= 1

    def best(self, rng: random.Random) -> tuple[Keys, NodeState]:
        key = self._keys[0]
        keys, node = self._children[key].best(rng)
        return (key, *keys), node


class _ByBucket:
    """Spread over an attribute: the least loaded bucket(s) first, later strategies within them."""

    __slots__ = ("size", "_attribute", "_counts", "_child", "_children", "_held")

    def __init__(self, attribute: str, counts: dict[str | None, int], child: Callable[[], _Level]) -> None:
        self.size = 0
        self._attribute = attribute
        self._counts = counts  # shared with the context, which keeps it current
        self._child = child
        self._children: dict[str | None, _Level] = {}
        self._held: dict[int, str | None] = {}

    def add(self, node: NodeState) -> None:
        bucket = node.attribute(self._attribute)
        self._held[node.index] = bucket
        child = self._children.get(bucket)
        if child is None:
            child = self._children[bucket] = self._child()
        child.add(node)
        self.size += 1

    def remove(self, node: NodeState) -> None:
        bucket = self._held.pop(node.index)
        child = self._children[bucket]
        child.remove(node)
        if child.size == 0:
            del self._children[bucket]
        self.size -= 1

    def best(self, rng: random.Random) -> tuple[Keys, NodeState]:
        counts = self._counts
        fewest = min(counts.get(b, 0) for b in self._children)
        results = [c.best(rng) for b, c in self._children.items() if counts.get(b, 0) == fewest]
        if len(results) > 1:
            lowest = min(keys for keys, _ in results)
            results = [r for r in results if r[0] == lowest]
        keys, node = results[0] if len(results) == 1 else results[rng.randrange(len(results))]
        return (fewest, *keys), node


class Ranking:
    """The feasible nodes for one demand, ordered by its strategies, kept current on reserve."""

    def __init__(self, ctx: PlanContext, demand: TaskDemand, strategies: Sequence[Strategy]) -> None:
        self._ctx = ctx
        self._demand = demand
        self.strategies = effective_strategies(strategies)
        self._checks = relevant_checks(demand)
        self._root = self._level(0)
        self._members: set[int] = set()
        for node in ctx.nodes:
            if feasible(node, demand, self._checks):
                self._root.add(node)
                self._members.add(node.index)
        ctx.listen(self)

    def _level(self, depth: int) -> _Level:
        if depth == len(self.strategies):
            return _Leaf()
        strategy = self.strategies[depth]
        nested: Callable[[], _Level] = lambda: self._level(depth + 1)  # noqa: E731
        attribute = strategy.attribute if strategy.type == "spread" else None
        if attribute is not None:
            return _ByBucket(attribute, self._ctx.bucket_counts(attribute, self._demand.group), nested)
        return _ByKey(strategy_key(self._ctx, strategy, self._demand.group), nested)

    @property
    def size(self) -> int:
        return self._root.size

    def best(self) -> tuple[Keys, NodeState] | None:
        """The preferred feasible node with its strategy keys, or None when nothing fits."""
        if self._root.size == 0:
            return None
        return self._root.best(self._ctx.rng)

    def before(self, node: NodeState) -> None:
        if node.index in self._members:
            self._root.remove(node)
            self._members.discard(node.index)

    def after(self, node: NodeState) -> None:
        if feasible(node, self._demand, self._checks):
            self._root.add(node)
            self._members.add(node.index)


def ranking_for(ctx: PlanContext, demand: TaskDemand, strategies: Sequence[Strategy]) -> Ranking:
    """The context's ranking for this demand and these strategies, built on first use."""
    key = ("ranking", demand, effective_strategies(strategies))
    return ctx.memo(key, lambda: Ranking(ctx, demand, strategies))
