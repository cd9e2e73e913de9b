"""Container instance resources as the scheduler sees them, and what a task takes from them.

Converts between the ECS `Resource` lists stored on a container instance (`registeredResources`,
`remainingResources`) and the scheduler's `NodeView`, and computes a task's `Demand`
(reference §2.6 for CPU and memory, §2.4 for the static host ports it occupies).
"""

from __future__ import annotations

from typing import Any

from dockyard.scheduler.fit import Demand, NodeView

__all__ = ["node_view", "with_remaining", "task_demand", "demand_record", "demand_from_record"]


def _resource(resources: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    for item in resources:
        if item.get("name") == name:
            return item
    return None


def node_view(instance: dict[str, Any]) -> NodeView:
    remaining = instance.get("remainingResources", [])
    cpu = _resource(remaining, "CPU") or {}
    memory = _resource(remaining, "MEMORY") or {}
    tcp = _resource(remaining, "PORTS") or {}
    udp = _resource(remaining, "PORTS_UDP") or {}
    return NodeView(
        arn=instance["containerInstanceArn"],
        cpu=int(cpu.get("integerValue", 0)),
        memory=int(memory.get("integerValue", 0)),
        ports_tcp=frozenset(int(p) for p in tcp.get("stringSetValue", [])),
        ports_udp=frozenset(int(p) for p in udp.get("stringSetValue", [])),
        status=instance.get("status", "ACTIVE"),
        agent_connected=bool(instance.get("agentConnected", False)),
    )


def with_remaining(instance: dict[str, Any], node: NodeView) -> dict[str, Any]:
    """A copy of `instance` whose `remainingResources` are those of `node`."""
    values = {
        "CPU": ("INTEGER", node.cpu),
        "MEMORY": ("INTEGER", node.memory),
        "PORTS": ("STRINGSET", node.ports_tcp),
        "PORTS_UDP": ("STRINGSET", node.ports_udp),
    }
    remaining = []
    for name, (kind, value) in values.items():
        item: dict[str, Any] = {
            "name": name,
            "type": kind,
            "doubleValue": 0.0,
            "longValue": 0,
            "integerValue": 0,
        }
        if kind == "INTEGER":
            item["integerValue"] = value
        else:
            item["stringSetValue"] = [str(p) for p in sorted(value)]  # type: ignore[call-overload]
        remaining.append(item)
    return {**instance, "remainingResources": remaining}


def _static_ports(td: dict[str, Any]) -> tuple[frozenset[int], frozenset[int]]:
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


def task_demand(td: dict[str, Any], cpu: int, memory: int) -> Demand:
    tcp, udp = _static_ports(td)
    return Demand(cpu=cpu, memory=memory, ports_tcp=tcp, ports_udp=udp)


def demand_record(demand: Demand) -> dict[str, Any]:
    return {
        "cpu": demand.cpu,
        "memory": demand.memory,
        "portsTcp": sorted(demand.ports_tcp),
        "portsUdp": sorted(demand.ports_udp),
    }


def demand_from_record(record: dict[str, Any]) -> Demand:
    return Demand(
        cpu=int(record.get("cpu", 0)),
        memory=int(record.get("memory", 0)),
        ports_tcp=frozenset(record.get("portsTcp", [])),
        ports_udp=frozenset(record.get("portsUdp", [])),
    )
