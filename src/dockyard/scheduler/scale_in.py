"""Which tasks a service stops when it scales in (reference §5.5), as a pure function.

Tasks are chosen one at a time, each choice seeing the ones before it (counts drop, the
instance gets its resources back). Preference, highest first:

1. tasks not yet RUNNING, then UNHEALTHY ones (they serve nobody yet / any more);
2. the service's strategies, in order, later ones breaking ties:
   `binpack(cpu|memory)`: the task whose instance will have the most of it left afterwards;
   `spread(instanceId)`: from the instance with the most tasks of the service;
   `spread(attribute:X)`: from the value of X with the most tasks of the service
   (instances lacking X form one bucket); `random` ends the list;
   no strategy at all: the availability zone with the most tasks, then the instance with the most;
3. random among what is still tied.

Tasks with scale-in protection are never chosen. A task without an instance (Fargate) is its
own "instance" and takes its availability zone from the task.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from dockyard.scheduler.model import NodeView, Strategy, TaskView
from dockyard.scheduler.ranking import effective_strategies

__all__ = ["choose_tasks_to_stop", "DEFAULT_SCALE_IN"]

ZONE = "ecs.availability-zone"
DEFAULT_SCALE_IN = (Strategy("spread", f"attribute:{ZONE}"), Strategy("spread", "instanceId"))
_PENDING = frozenset({"PROVISIONING", "PENDING", "ACTIVATING"})


class _State:
    def __init__(self, tasks: Sequence[TaskView], nodes: Sequence[NodeView]) -> None:
        self.nodes = {n.arn: n for n in nodes}
        self.cpu = {n.arn: n.remaining.cpu for n in nodes}
        self.memory = {n.arn: n.remaining.memory for n in nodes}
        self.per_node: dict[str, int] = {}
        self.buckets: dict[str, dict[str | None, int]] = {}
        for task in tasks:
            self._count(task, +1)

    def _host(self, task: TaskView) -> str:
        return task.node if task.node is not None else task.arn

    def bucket(self, task: TaskView, attribute: str) -> str | None:
        node = self.nodes.get(task.node) if task.node is not None else None
        value = node.attributes.get(attribute) if node is not None else None
        if value is None and attribute == ZONE:
            return task.availability_zone
        return value

    def _count(self, task: TaskView, step: int) -> None:
        host = self._host(task)
        self.per_node[host] = self.per_node.get(host, 0) + step
        for attribute, counts in self.buckets.items():
            value = self.bucket(task, attribute)
            counts[value] = counts.get(value, 0) + step

    def track(self, attribute: str, tasks: Sequence[TaskView]) -> None:
        if attribute not in self.buckets:
            counts: dict[str | None, int] = {}
            for task in tasks:
                value = self.bucket(task, attribute)
                counts[value] = counts.get(value, 0) + 1
            self.buckets[attribute] = counts

    def stop(self, task: TaskView) -> None:
        self._count(task, -1)
        if task.node in self.cpu:
            self.cpu[task.node] += task.resources.cpu
            self.memory[task.node] += task.resources.memory

    def key(self, strategy: Strategy) -> Callable[[TaskView], int]:
        """Higher is stopped first."""
        if strategy.type == "binpack":
            left = self.cpu if strategy.field == "cpu" else self.memory

            def after_stop(task: TaskView) -> int:
                taken = task.resources.cpu if strategy.field == "cpu" else task.resources.memory
                return left.get(task.node or "", 0) + taken

            return after_stop
        attribute = strategy.attribute
        if attribute is None:
            return lambda task: self.per_node.get(self._host(task), 0)
        counts = self.buckets[attribute]
        return lambda task: counts.get(self.bucket(task, attribute), 0)


def _tier(task: TaskView) -> int:
    if task.last_status in _PENDING:
        return 2
    return 1 if task.health_status == "UNHEALTHY" else 0


def choose_tasks_to_stop(
    tasks: Sequence[TaskView],
    nodes: Sequence[NodeView],
    strategies: Sequence[Strategy],
    count: int,
    *,
    rng: random.Random | None = None,
) -> list[TaskView]:
    """Up to `count` of the service's `tasks` to stop, in the order they should be stopped."""
    rng = rng if rng is not None else random.Random()
    ranked = effective_strategies(strategies) if strategies else DEFAULT_SCALE_IN
    state = _State(tasks, nodes)
    for strategy in ranked:
        if strategy.attribute is not None:
            state.track(strategy.attribute, tasks)
    keys = [state.key(s) for s in ranked]
    remaining = [t for t in tasks if not t.protected]
    chosen: list[TaskView] = []
    while remaining and len(chosen) < count:
        scored = [((_tier(t), *(key(t) for key in keys)), t) for t in remaining]
        top = max(score for score, _ in scored)
        tied = [t for score, t in scored if score == top]
        task = tied[0] if len(tied) == 1 else tied[rng.randrange(len(tied))]
        chosen.append(task)
        remaining.remove(task)
        state.stop(task)
    return chosen
