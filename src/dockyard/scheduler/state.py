"""The plan context: node state for one placement pass, updated in place as copies are placed.

`PlanContext` is built once per RunTask call (or per scheduler pass) from `NodeView`s. Placing
a copy calls `reserve`, which changes only the chosen node (its resources, its group counts, its
running count) and tells the listeners (the cached rankings) before and after, so they move
that one node instead of being rebuilt: every later copy sees the earlier reservations in
O(log n), never O(instances x tasks).

```
NodeView (frozen, from the store) --PlanContext--> NodeState (mutable, one per instance)
                                       | reserve(node, demand): listeners.before -> apply -> listeners.after
                                       | bucket_counts(attribute, group): tasks of a group per attribute value
                                       | memo(key, factory): per-demand rankings, built on first use
```
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from dockyard.core.cql import InstanceView
from dockyard.scheduler.model import NodeView, Resources, TaskDemand

__all__ = ["NodeState", "PlanContext", "Listener"]

T = TypeVar("T")


class NodeState:
    """One container instance during a pass: its remaining resources and tasks change as it fills."""

    __slots__ = ("view", "index", "cpu", "memory", "ports_tcp", "ports_udp", "groups", "running", "_cql")

    def __init__(self, view: NodeView, index: int) -> None:
        self.view = view
        self.index = index
        self.cpu = view.remaining.cpu
        self.memory = view.remaining.memory
        self.ports_tcp: frozenset[int] = view.remaining.ports_tcp
        self.ports_udp: frozenset[int] = view.remaining.ports_udp
        # Shared with the view until the first task lands here (copy on write: most nodes never change).
        self.groups: Mapping[str, int] = view.group_counts
        self.running = view.running_tasks_count
        self._cql: InstanceView | None = None

    @property
    def arn(self) -> str:
        return self.view.arn

    def group_count(self, group: str) -> int:
        return self.groups.get(group, 0)

    def attribute(self, name: str) -> str | None:
        return self.view.attributes.get(name)

    def instance_view(self) -> InstanceView:
        """What a cluster query expression sees of this node now."""
        if self._cql is None:
            view = self.view
            self._cql = InstanceView(
                attributes=view.attributes,
                ec2_instance_id=view.ec2_instance_id,
                registered_at=view.registered_at,
                running_tasks_count=self.running,
                agent_connected=view.agent_connected,
                agent_version=view.agent_version,
                task_groups=_groups(self.groups),
            )
        return self._cql

    def remaining(self) -> Resources:
        return Resources(self.cpu, self.memory, self.ports_tcp, self.ports_udp)

    def apply(self, demand: TaskDemand) -> None:
        taken = demand.resources
        self.cpu -= taken.cpu
        self.memory -= taken.memory
        if taken.ports_tcp:
            self.ports_tcp = self.ports_tcp | taken.ports_tcp
        if taken.ports_udp:
            self.ports_udp = self.ports_udp | taken.ports_udp
        if demand.group:
            groups = dict(self.groups)
            groups[demand.group] = groups.get(demand.group, 0) + 1
            self.groups = groups
        self.running += 1
        self._cql = None


def _groups(counts: Mapping[str, int]) -> frozenset[str]:
    if 0 in counts.values():
        return frozenset(g for g, n in counts.items() if n > 0)
    return frozenset(counts)


class Listener(Protocol):
    def before(self, node: NodeState) -> None: ...

    def after(self, node: NodeState) -> None: ...


class PlanContext:
    """Node state for one pass, with the random source every tie-break draws from."""

    def __init__(self, nodes: Iterable[NodeView], *, rng: random.Random | None = None) -> None:
        self.nodes: list[NodeState] = [NodeState(view, i) for i, view in enumerate(nodes)]
        self.by_arn: dict[str, NodeState] = {n.arn: n for n in self.nodes}
        self.rng = rng if rng is not None else random.Random()
        self._listeners: list[Listener] = []
        self._buckets: dict[tuple[str, str], dict[str | None, int]] = {}
        self._memo: dict[Any, Any] = {}

    def node(self, arn: str) -> NodeState | None:
        return self.by_arn.get(arn)

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def memo(self, key: Any, factory: Callable[[], T]) -> T:
        """A value built once per context and key (rankings per demand and strategies)."""
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = factory()
        return found

    def bucket_counts(self, attribute: str, group: str) -> dict[str | None, int]:
        """Tasks of `group` per value of `attribute` (None: instances without it), kept current."""
        counts = self._buckets.get((attribute, group))
        if counts is None:
            counts = {}
            for node in self.nodes:
                value = node.attribute(attribute)
                counts[value] = counts.get(value, 0) + node.group_count(group)
            self._buckets[(attribute, group)] = counts
        return counts

    def reserve(self, node: NodeState, demand: TaskDemand) -> None:
        """Place one copy of `demand` on `node`: it and everything derived from it update."""
        for listener in self._listeners:
            listener.before(node)
        node.apply(demand)
        if demand.group:
            for (attribute, group), counts in self._buckets.items():
                if group == demand.group:
                    value = node.attribute(attribute)
                    counts[value] = counts.get(value, 0) + 1
        for listener in self._listeners:
            listener.after(node)

    def views(self, arns: Sequence[str] | None = None) -> list[NodeView]:
        """Current snapshots (remaining resources and counts as of now)."""
        chosen = self.nodes if arns is None else [self.by_arn[a] for a in arns]
        return [_snapshot(n) for n in chosen]


def _snapshot(node: NodeState) -> NodeView:
    view = node.view
    return NodeView(
        arn=view.arn,
        remaining=node.remaining(),
        status=view.status,
        agent_connected=view.agent_connected,
        attributes=view.attributes,
        ec2_instance_id=view.ec2_instance_id,
        registered_at=view.registered_at,
        agent_version=view.agent_version,
        running_tasks_count=node.running,
        group_counts=dict(node.groups),
        external=view.external,
    )
