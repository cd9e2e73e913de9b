"""Port mapping rules of RegisterTaskDefinition (reference §2.4), with ECS's messages (pure).

- every mapping has a `containerPort` (1-65535) or a `containerPortRange` ("8000-8010"), never both;
- `none`: no port mappings at all;
- `host` / `awsvpc`: `hostPort` omitted, 0 or equal to `containerPort`;
- `containerPortRange` only with `bridge` / `awsvpc`, at most 100 ranges per container;
- a host port is mapped once per task and protocol (with `host` / `awsvpc` the host port is the
  container port; `bridge` mappings without a static host port get dynamic ones and never clash);
  TCP and UDP may share a port;
- ranges do not overlap any other port of the same protocol in the container (and, with
  `awsvpc`, in the task);
- port mapping `name`s are unique within the task definition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dockyard.services.ecs.errors import ClientException

__all__ = ["check_port_mappings", "check_port_conflicts", "parse_port_range", "MAX_PORT_RANGES"]

MAX_PORT_RANGES = 100
_PORT_REUSED = "container port is used multiple times in task"


def parse_port_range(value: str) -> tuple[int, int] | None:
    """`"8000-8010"` -> (8000, 8010); None unless 1 <= low < high <= 65535."""
    low_text, sep, high_text = value.partition("-")
    if not sep or not low_text.strip().isdigit() or not high_text.strip().isdigit():
        return None
    low, high = int(low_text), int(high_text)
    if not 1 <= low < high <= 65535:
        return None
    return low, high


def check_port_mappings(container: Mapping[str, Any], *, network_mode: str) -> None:
    name = container["name"]
    mappings = container.get("portMappings") or []
    if mappings and network_mode == "none":
        raise ClientException("Port mappings are not supported when networkMode=none.")
    ranges = 0
    for mapping in mappings:
        port_range = mapping.get("containerPortRange")
        port, host_port = mapping.get("containerPort"), mapping.get("hostPort")
        if port_range is not None:
            if port is not None or host_port is not None:
                raise ClientException("cannot specify both single port and port range")
            if parse_port_range(port_range) is None:
                raise ClientException(f"Invalid 'containerPortRange' setting for container '{name}'.")
            if network_mode not in ("bridge", "awsvpc"):
                raise ClientException(
                    f"Container port ranges are not supported when networkMode={network_mode}."
                )
            ranges += 1
            continue
        if port is None or not 1 <= port <= 65535:
            raise ClientException(f"Invalid 'containerPort' setting for container '{name}'.")
        if host_port is not None and not 0 <= host_port <= 65535:
            raise ClientException(f"Invalid 'hostPort' setting for container '{name}'.")
        if network_mode in ("host", "awsvpc") and host_port not in (None, 0, port):
            raise ClientException(
                f"When networkMode={network_mode}, the host ports and container ports in port mappings "
                "must match."
            )
    if ranges > MAX_PORT_RANGES:
        raise ClientException(
            f"Too many container port ranges for container '{name}'. The limit is {MAX_PORT_RANGES}."
        )


def check_port_conflicts(containers: Sequence[Mapping[str, Any]], *, network_mode: str) -> None:
    """Host ports and port ranges shared between the mappings of one task, and mapping names."""
    names: set[str] = set()
    host_ports: set[tuple[int, str]] = set()
    task_ports: set[tuple[int, str]] = set()  # awsvpc: every container port of the task
    for container in containers:
        singles: set[tuple[int, str]] = set()
        ranged: list[set[tuple[int, str]]] = []
        for mapping in container.get("portMappings") or []:
            mapping_name = mapping.get("name")
            if mapping_name is not None:
                if mapping_name in names:
                    raise ClientException("port mapping name is already used")
                names.add(mapping_name)
            protocol = mapping.get("protocol") or "tcp"
            port_range = mapping.get("containerPortRange")
            if port_range is not None:
                low, high = parse_port_range(port_range) or (0, -1)
                ranged.append({(p, protocol) for p in range(low, high + 1)})
                continue
            port = mapping["containerPort"]
            singles.add((port, protocol))
            host_port = port if network_mode in ("host", "awsvpc") else mapping.get("hostPort")
            if host_port:
                if (host_port, protocol) in host_ports:
                    raise ClientException(
                        f"{protocol.upper()} host port '{host_port}' is mapped multiple times in task."
                    )
                host_ports.add((host_port, protocol))
        mine = set(singles)
        for ports in ranged:
            if mine & ports:
                raise ClientException(_PORT_REUSED)
            mine |= ports
        if network_mode == "awsvpc":
            if any(task_ports & ports for ports in ranged):
                raise ClientException(_PORT_REUSED)
            task_ports |= mine
