"""Feasibility checkers: can this node take this task, and if not, why (with the numbers)?

Each checker looks at one node and one demand and returns None or a `Failure` carrying the
reason ECS reports (reference §3.8, §5.1) and the figures behind it. They run in the order
below; the earlier a node fails, the further it is from fitting, which is how the "closest"
instance of an unplaceable task is chosen (ties: the one nearest to passing that check).

```
candidate? (right launch type, still registered) -> status -> agent -> attributes -> location
   -> cpu -> memory -> ports (tcp) -> ports (udp) -> memberOf -> distinctInstance -> feasible
```
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from dockyard.scheduler.model import (
    DISTINCT_INSTANCE_UNSATISFIED,
    MAX_RESERVED_PORTS,
    MEMBER_OF_UNSATISFIED,
    TaskDemand,
)
from dockyard.scheduler.spec import expression_of
from dockyard.scheduler.state import NodeState

__all__ = [
    "Failure",
    "Checker",
    "CHECKS",
    "is_candidate",
    "first_failure",
    "all_failures",
    "relevant_checks",
    "feasible",
]

ZONE_ATTRIBUTE = "ecs.availability-zone"


@dataclass(frozen=True, slots=True)
class Failure:
    check: str
    reason: str  # as ECS reports it in RunTask/StartTask `failures`
    detail: Mapping[str, object]
    closeness: float = 0.0  # among nodes failing the same check, higher is nearer to passing


@dataclass(frozen=True, slots=True)
class Checker:
    name: str
    reason: str
    test: Callable[[NodeState, TaskDemand], Failure | None]

    def __call__(self, node: NodeState, demand: TaskDemand) -> Failure | None:
        return self.test(node, demand)


def is_candidate(node: NodeState, demand: TaskDemand) -> bool:
    """Cluster members RunTask considers: registered (not INACTIVE) and of the task's launch type."""
    return node.view.status != "INACTIVE" and node.view.external == (demand.launch_type == "EXTERNAL")


def _status(node: NodeState, demand: TaskDemand) -> Failure | None:
    if node.view.status == "ACTIVE":
        return None
    return Failure("status", "INACTIVE", {"status": node.view.status})


def _agent(node: NodeState, demand: TaskDemand) -> Failure | None:
    if node.view.agent_connected:
        return None
    return Failure("agent", "AGENT", {"agentConnected": False})


def _attributes(node: NodeState, demand: TaskDemand) -> Failure | None:
    if not demand.requires:
        return None
    attributes = node.view.attributes
    missing = [
        r.name if r.value is None else f"{r.name}={r.value}"
        for r in demand.requires
        if r.name not in attributes or (r.value is not None and attributes[r.name] != r.value)
    ]
    if not missing:
        return None
    return Failure("attributes", "ATTRIBUTE", {"missing": missing}, -len(missing))


def _location(node: NodeState, demand: TaskDemand) -> Failure | None:
    if demand.zones is None:
        return None
    zone = node.attribute(ZONE_ATTRIBUTE)
    if zone is None or zone in demand.zones:
        return None
    return Failure("location", "LOCATION", {"availabilityZone": zone, "subnetZones": sorted(demand.zones)})


def _cpu(node: NodeState, demand: TaskDemand) -> Failure | None:
    needed = demand.resources.cpu
    if node.cpu >= needed:
        return None
    return Failure("cpu", "RESOURCE:CPU", {"required": needed, "remaining": node.cpu}, node.cpu - needed)


def _memory(node: NodeState, demand: TaskDemand) -> Failure | None:
    needed = demand.resources.memory
    if node.memory >= needed:
        return None
    return Failure(
        "memory", "RESOURCE:MEMORY", {"required": needed, "remaining": node.memory}, node.memory - needed
    )


def _ports(name: str, reason: str, tcp: bool) -> Callable[[NodeState, TaskDemand], Failure | None]:
    def test(node: NodeState, demand: TaskDemand) -> Failure | None:
        wanted = demand.resources.ports_tcp if tcp else demand.resources.ports_udp
        if not wanted:
            return None
        held = node.ports_tcp if tcp else node.ports_udp
        taken = wanted & held
        total = len(held) + len(wanted - held)
        if not taken and total <= MAX_RESERVED_PORTS:
            return None
        detail: dict[str, object] = {"requested": sorted(wanted), "inUse": sorted(taken)}
        if total > MAX_RESERVED_PORTS:
            detail["reservedAfter"] = total
            detail["limit"] = MAX_RESERVED_PORTS
        return Failure(name, reason, detail, -len(taken) - max(0, total - MAX_RESERVED_PORTS))

    return test


def _member_of(node: NodeState, demand: TaskDemand) -> Failure | None:
    unsatisfied = [
        c.expression
        for c in demand.constraints
        if c.type == "memberOf" and not expression_of(c).evaluate(node.instance_view())
    ]
    if not unsatisfied:
        return None
    return Failure("memberOf", MEMBER_OF_UNSATISFIED, {"unsatisfied": unsatisfied}, -len(unsatisfied))


def _distinct(node: NodeState, demand: TaskDemand) -> Failure | None:
    if not any(c.type == "distinctInstance" for c in demand.constraints):
        return None
    count = node.group_count(demand.group)
    if count == 0:
        return None
    return Failure(
        "distinctInstance",
        DISTINCT_INSTANCE_UNSATISFIED,
        {"group": demand.group, "tasksOfGroup": count},
        -count,
    )


CHECKS: tuple[Checker, ...] = (
    Checker("status", "INACTIVE", _status),
    Checker("agent", "AGENT", _agent),
    Checker("attributes", "ATTRIBUTE", _attributes),
    Checker("location", "LOCATION", _location),
    Checker("cpu", "RESOURCE:CPU", _cpu),
    Checker("memory", "RESOURCE:MEMORY", _memory),
    Checker("ports", "RESOURCE:PORTS", _ports("ports", "RESOURCE:PORTS", True)),
    Checker("portsUdp", "RESOURCE:PORTS_UDP", _ports("portsUdp", "RESOURCE:PORTS_UDP", False)),
    Checker("memberOf", MEMBER_OF_UNSATISFIED, _member_of),
    Checker("distinctInstance", DISTINCT_INSTANCE_UNSATISFIED, _distinct),
)
_BINDING = frozenset({"memberOf", "distinctInstance"})


def first_failure(node: NodeState, demand: TaskDemand, *, constraints: bool = True) -> Failure | None:
    """The first check `node` fails for `demand` (constraints skipped when asked: StartTask)."""
    for checker in CHECKS:
        if not constraints and checker.name in _BINDING:
            continue
        failure = checker(node, demand)
        if failure is not None:
            return failure
    return None


def all_failures(node: NodeState, demand: TaskDemand) -> list[tuple[Checker, Failure | None]]:
    """Every check with its outcome, in order (for explanations)."""
    return [(checker, checker(node, demand)) for checker in CHECKS]


def relevant_checks(demand: TaskDemand) -> tuple[Checker, ...]:
    """The checkers that can fail for this demand (the others pass on every node)."""
    resources = demand.resources
    skip = set()
    if not demand.requires:
        skip.add("attributes")
    if demand.zones is None:
        skip.add("location")
    if not resources.ports_tcp:
        skip.add("ports")
    if not resources.ports_udp:
        skip.add("portsUdp")
    kinds = {c.type for c in demand.constraints}
    if "memberOf" not in kinds:
        skip.add("memberOf")
    if "distinctInstance" not in kinds:
        skip.add("distinctInstance")
    return tuple(c for c in CHECKS if c.name not in skip)


def feasible(node: NodeState, demand: TaskDemand, checks: Sequence[Checker] | None = None) -> bool:
    """A candidate that passes every check (`checks`: `relevant_checks(demand)`, precomputed)."""
    if not is_candidate(node, demand):
        return False
    for checker in CHECKS if checks is None else checks:
        if checker.test(node, demand) is not None:
            return False
    return True
