"""Container instances and tasks as the scheduler sees them, and what a task takes from an instance.

Converts between the ECS `Resource` lists stored on a container instance (`registeredResources`,
`remainingResources`) and the scheduler's `Resources`; builds a `NodeView` from an instance
document and the tasks placed on it (attributes, identity, task counts per group); and computes
what one copy of a task asks for (reference §2.6 for CPU and memory, §2.4 for the static host
ports it occupies, §5.1 for required attributes, constraints and subnets' zones).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dockyard.scheduler import Constraint, NodeView, Requirement, Resources, TaskDemand
from dockyard.scheduler.model import ACTIVE_TASK_STATUSES

__all__ = [
    "remaining",
    "node_view",
    "with_remaining",
    "task_demand",
    "placement_demand",
    "demand_record",
    "demand_from_record",
]

EXTERNAL_ATTRIBUTE = "ecs.capability.external"


def _resource(resources: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    for item in resources:
        if item.get("name") == name:
            return item
    return None


def remaining(instance: Mapping[str, Any]) -> Resources:
    """The instance's `remainingResources`."""
    left = instance.get("remainingResources", [])
    cpu = _resource(left, "CPU") or {}
    memory = _resource(left, "MEMORY") or {}
    tcp = _resource(left, "PORTS") or {}
    udp = _resource(left, "PORTS_UDP") or {}
    return Resources(
        cpu=int(cpu.get("integerValue", 0)),
        memory=int(memory.get("integerValue", 0)),
        ports_tcp=frozenset(int(p) for p in tcp.get("stringSetValue", [])),
        ports_udp=frozenset(int(p) for p in udp.get("stringSetValue", [])),
    )


def node_view(instance: Mapping[str, Any], tasks: Iterable[Mapping[str, Any]] = ()) -> NodeView:
    """The instance with the (not STOPPED) tasks placed on it, as placement sees it."""
    attributes = {str(a["name"]): a.get("value") for a in instance.get("attributes", [])}
    groups: dict[str, int] = {}
    running = 0
    for task in tasks:
        last = task.get("lastStatus")
        if task.get("desiredStatus") == "RUNNING" and last != "STOPPED":
            running += 1
        group = task.get("group")
        if group and last in ACTIVE_TASK_STATUSES:
            groups[group] = groups.get(group, 0) + 1
    return NodeView(
        arn=str(instance["containerInstanceArn"]),
        remaining=remaining(instance),
        status=str(instance.get("status", "ACTIVE")),
        agent_connected=bool(instance.get("agentConnected", False)),
        attributes=attributes,
        ec2_instance_id=str(instance.get("ec2InstanceId", "")),
        registered_at=float(instance.get("registeredAt", 0.0)),
        agent_version=(instance.get("versionInfo") or {}).get("agentVersion"),
        running_tasks_count=running,
        group_counts=groups,
        external=EXTERNAL_ATTRIBUTE in attributes,
    )


def with_remaining(instance: dict[str, Any], left: Resources) -> dict[str, Any]:
    """A copy of `instance` whose `remainingResources` are `left`."""
    values: dict[str, tuple[str, int | frozenset[int]]] = {
        "CPU": ("INTEGER", left.cpu),
        "MEMORY": ("INTEGER", left.memory),
        "PORTS": ("STRINGSET", left.ports_tcp),
        "PORTS_UDP": ("STRINGSET", left.ports_udp),
    }
    resources = []
    for name, (kind, value) in values.items():
        item: dict[str, Any] = {
            "name": name,
            "type": kind,
            "doubleValue": 0.0,
            "longValue": 0,
            "integerValue": 0,
        }
        if isinstance(value, int):
            item["integerValue"] = value
        else:
            item["stringSetValue"] = [str(p) for p in sorted(value)]
        resources.append(item)
    return {**instance, "remainingResources": resources}


def _static_ports(td: Mapping[str, Any]) -> tuple[frozenset[int], frozenset[int]]:
    mode = td.get("networkMode", "bridge")
    if mode in ("awsvpc", "none"):
        return frozenset(), frozenset()
    tcp: set[int] = set()
    udp: set[int] = set()
    for container in td.get("containerDefinitions", []):
        for mapping in container.get("portMappings", []):
            port = mapping.get("hostPort")
            if mode == "host" and not port:
                port = mapping.get("containerPort")
            if port:
                (udp if mapping.get("protocol") == "udp" else tcp).add(int(port))
    return frozenset(tcp), frozenset(udp)


def task_demand(td: Mapping[str, Any], cpu: int, memory: int) -> Resources:
    """What one copy takes from an instance: CPU units, MiB and its static host ports."""
    tcp, udp = _static_ports(td)
    return Resources(cpu=cpu, memory=memory, ports_tcp=tcp, ports_udp=udp)


def placement_demand(
    td: Mapping[str, Any],
    resources: Resources,
    *,
    group: str,
    launch_type: str,
    constraints: Sequence[Constraint] = (),
    zones: Iterable[str] | None = None,
) -> TaskDemand:
    """Everything placement checks for one copy of a task."""
    requires = tuple(
        Requirement(str(item["name"]), item.get("value"))
        for item in td.get("requiresAttributes") or []
        if item.get("name")
    )
    return TaskDemand(
        resources=resources,
        group=group,
        launch_type=launch_type,
        requires=requires,
        constraints=tuple(constraints),
        zones=None if zones is None else frozenset(zones),
    )


def demand_record(taken: Resources) -> dict[str, Any]:
    """What a task document records it reserved (released when it stops)."""
    return {
        "cpu": taken.cpu,
        "memory": taken.memory,
        "portsTcp": sorted(taken.ports_tcp),
        "portsUdp": sorted(taken.ports_udp),
    }


def demand_from_record(record: Mapping[str, Any]) -> Resources:
    return Resources(
        cpu=int(record.get("cpu", 0)),
        memory=int(record.get("memory", 0)),
        ports_tcp=frozenset(record.get("portsTcp", [])),
        ports_udp=frozenset(record.get("portsUdp", [])),
    )
