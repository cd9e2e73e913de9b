"""Placement data: what a container instance offers, what a task asks for, and the answers.

Everything here is an immutable record. `NodeView` is a container instance as placement sees it
at the start of a decision (reference §5.1, §5.4, §6.1); `TaskDemand` is one copy of a task (its
resources per §2.6, its static host ports per §2.4, its group, required attributes, constraints
and the availability zones of its subnets); `Placement` / `Unplaceable` are the outcomes, the
latter with the reason ECS reports in RunTask's `failures` (§3.8) and the closest instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "Resources",
    "reserve",
    "release",
    "Requirement",
    "Constraint",
    "Strategy",
    "NodeView",
    "TaskDemand",
    "TaskView",
    "Placement",
    "Unplaceable",
    "NO_INSTANCES",
    "MEMBER_OF_UNSATISFIED",
    "DISTINCT_INSTANCE_UNSATISFIED",
    "MAX_RESERVED_PORTS",
    "ACTIVE_TASK_STATUSES",
]

NO_INSTANCES = "No Container Instances were found in your cluster."
MEMBER_OF_UNSATISFIED = "MemberOf placement constraint unsatisfied."
DISTINCT_INSTANCE_UNSATISFIED = "DistinctInstance placement constraint unsatisfied."
MAX_RESERVED_PORTS = 100  # static host ports per protocol on one instance, reserved ones included
# Task statuses that count as "RUNNING or PENDING" for distinctInstance and spread.
ACTIVE_TASK_STATUSES = frozenset({"PROVISIONING", "PENDING", "ACTIVATING", "RUNNING"})

_EMPTY: Mapping[str, int] = MappingProxyType({})
_NO_ATTRIBUTES: Mapping[str, str | None] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Resources:
    """CPU units, MiB and static host ports: what an instance has left or a task takes."""

    cpu: int = 0
    memory: int = 0
    ports_tcp: frozenset[int] = frozenset()
    ports_udp: frozenset[int] = frozenset()


def reserve(remaining: Resources, taken: Resources) -> Resources:
    """What is left after `taken` is placed on an instance with `remaining`."""
    return Resources(
        cpu=remaining.cpu - taken.cpu,
        memory=remaining.memory - taken.memory,
        ports_tcp=remaining.ports_tcp | taken.ports_tcp,
        ports_udp=remaining.ports_udp | taken.ports_udp,
    )


def release(remaining: Resources, taken: Resources) -> Resources:
    """What is left after a task holding `taken` stops."""
    return Resources(
        cpu=remaining.cpu + taken.cpu,
        memory=remaining.memory + taken.memory,
        ports_tcp=remaining.ports_tcp - taken.ports_tcp,
        ports_udp=remaining.ports_udp - taken.ports_udp,
    )


@dataclass(frozen=True, slots=True)
class Requirement:
    """One `requiresAttributes` entry of a task definition: the instance needs this attribute."""

    name: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class Constraint:
    """`memberOf` (with a cluster query language expression) or `distinctInstance`."""

    type: str
    expression: str | None = None


@dataclass(frozen=True, slots=True)
class Strategy:
    """A placement strategy with its field normalized: `cpu`, `memory`, `instanceId`, `attribute:<name>`."""

    type: str  # binpack | spread | random
    field: str | None = None

    @property
    def label(self) -> str:
        return self.type if self.field is None else f"{self.type}({self.field})"

    @property
    def attribute(self) -> str | None:
        """The attribute name a `spread(attribute:<name>)` buckets by."""
        if self.field is not None and self.field.startswith("attribute:"):
            return self.field[len("attribute:") :]
        return None


@dataclass(frozen=True, slots=True)
class NodeView:
    """A container instance at the start of a placement decision."""

    arn: str
    remaining: Resources
    status: str = "ACTIVE"
    agent_connected: bool = True
    attributes: Mapping[str, str | None] = field(default_factory=lambda: _NO_ATTRIBUTES)
    ec2_instance_id: str = ""
    registered_at: float = 0.0
    agent_version: str | None = None
    running_tasks_count: int = 0  # desired RUNNING and not yet STOPPED
    group_counts: Mapping[str, int] = field(default_factory=lambda: _EMPTY)  # RUNNING/PENDING tasks by group
    external: bool = False

    @property
    def task_groups(self) -> frozenset[str]:
        return frozenset(g for g, n in self.group_counts.items() if n > 0)


@dataclass(frozen=True, slots=True)
class TaskDemand:
    """One copy of a task to place."""

    resources: Resources
    group: str = ""
    launch_type: str = "EC2"  # EC2 | EXTERNAL
    requires: tuple[Requirement, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    zones: frozenset[str] | None = None  # awsvpc: the availability zones of the given subnets


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task as scale-in sees it (reference §5.5)."""

    arn: str
    node: str | None  # containerInstanceArn; None on Fargate
    resources: Resources = Resources()
    last_status: str = "RUNNING"
    health_status: str = "UNKNOWN"
    protected: bool = False
    availability_zone: str | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    arn: str  # the container instance chosen


@dataclass(frozen=True, slots=True)
class Unplaceable:
    """No instance can take the task: ECS's reason, the closest instance, and what filtered them."""

    reason: str
    closest: str | None
    filtered: Mapping[str, int] = field(default_factory=lambda: _EMPTY)  # check name -> instances it excluded

    def failure(self) -> dict[str, str]:
        """The entry RunTask puts in `failures`."""
        if self.closest is None:
            return {"reason": self.reason}
        return {"arn": self.closest, "reason": self.reason}
