"""Resource and port feasibility of one task on one container instance, and a choice among them.

This is the first link of the placement chain (ECS reference §5.1 step 2): a node either fits a
demand or fails with the reason ECS reports (`RESOURCE:CPU`, `RESOURCE:MEMORY`, `RESOURCE:PORTS`,
`RESOURCE:PORTS_UDP`, `AGENT`, `INACTIVE`). Strategies and constraints build on top of it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

__all__ = ["NodeView", "Demand", "Placed", "Unplaceable", "check", "place", "reserve", "release"]


@dataclass(frozen=True, slots=True)
class NodeView:
    arn: str
    cpu: int  # remaining CPU units
    memory: int  # remaining MiB
    ports_tcp: frozenset[int]  # reserved and in-use static host ports
    ports_udp: frozenset[int]
    status: str = "ACTIVE"
    agent_connected: bool = True


@dataclass(frozen=True, slots=True)
class Demand:
    cpu: int
    memory: int
    ports_tcp: frozenset[int] = frozenset()
    ports_udp: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Placed:
    node: NodeView


@dataclass(frozen=True, slots=True)
class Unplaceable:
    reason: str
    closest: str | None  # the ARN of the node that came closest, as ECS reports it


# Order matters: a node failing an earlier check is "further" from fitting than a later one.
_CHECKS = ("INACTIVE", "AGENT", "RESOURCE:CPU", "RESOURCE:MEMORY", "RESOURCE:PORTS", "RESOURCE:PORTS_UDP")


def check(node: NodeView, demand: Demand) -> str | None:
    """The first reason `node` cannot take `demand`, or None when it fits."""
    if node.status != "ACTIVE":
        return "INACTIVE"
    if not node.agent_connected:
        return "AGENT"
    if node.cpu < demand.cpu:
        return "RESOURCE:CPU"
    if node.memory < demand.memory:
        return "RESOURCE:MEMORY"
    if node.ports_tcp & demand.ports_tcp:
        return "RESOURCE:PORTS"
    if node.ports_udp & demand.ports_udp:
        return "RESOURCE:PORTS_UDP"
    return None


def place(nodes: Sequence[NodeView], demand: Demand, rng: random.Random) -> Placed | Unplaceable:
    """Pick a random node that fits; otherwise report the reason of the closest node."""
    fitting = []
    closest: tuple[int, NodeView] | None = None
    for node in nodes:
        reason = check(node, demand)
        if reason is None:
            fitting.append(node)
            continue
        rank = _CHECKS.index(reason)
        if closest is None or rank > closest[0]:
            closest = (rank, node)
    if fitting:
        return Placed(rng.choice(fitting))
    if closest is None:
        return Unplaceable("No Container Instances were found in your cluster.", None)
    return Unplaceable(_CHECKS[closest[0]], closest[1].arn)


def reserve(node: NodeView, demand: Demand) -> NodeView:
    return replace(
        node,
        cpu=node.cpu - demand.cpu,
        memory=node.memory - demand.memory,
        ports_tcp=node.ports_tcp | demand.ports_tcp,
        ports_udp=node.ports_udp | demand.ports_udp,
    )


def release(node: NodeView, demand: Demand) -> NodeView:
    return replace(
        node,
        cpu=node.cpu + demand.cpu,
        memory=node.memory + demand.memory,
        ports_tcp=node.ports_tcp - demand.ports_tcp,
        ports_udp=node.ports_udp - demand.ports_udp,
    )
