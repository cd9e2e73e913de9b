"""RegisterTaskDefinition's rules for `containerDefinitions`, with ECS's messages (pure).

Checked in this order, the first broken rule raising `ClientException`:

1. the list: 1-10 containers, each with a valid unique name and an image, >= 1 essential;
2. each container: memory settings, cpu, network-mode rules (ports, links, hostname, extra hosts,
   DNS servers), health check ranges, volumes and mount points, volumesFrom, log configuration,
   secrets, ulimits;
3. the task as a whole: container cpu / memory reservations against the task-level values,
   port conflicts between containers, port mapping names, `dependsOn` (targets, conditions, cycles).

Functions take the normalized request (`taskdef_normalize.normalize_request`): task `cpu` and
`memory` are unit strings or absent; containers have no defaults filled in yet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from dockyard.services.ecs.errors import ClientException
from dockyard.services.ecs.taskdef_fargate import to_units
from dockyard.services.ecs.taskdef_ports import check_port_conflicts, check_port_mappings

__all__ = ["check_container_definitions", "MAX_CONTAINERS"]

MAX_CONTAINERS = 10
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_HEALTH_RANGES = (("interval", 5, 300), ("timeout", 2, 60), ("retries", 1, 10), ("startPeriod", 0, 300))

Container = Mapping[str, Any]


def check_container_definitions(td: Mapping[str, Any], *, network_mode: str) -> None:
    containers: Sequence[Container] = td.get("containerDefinitions") or []
    _check_list(containers)
    volumes = {v.get("name") for v in td.get("volumes") or []}
    names = {c["name"] for c in containers}
    task_memory = to_units(td.get("memory"))
    for container in containers:
        _check_memory(container, task_memory)
        _check_networking(container, network_mode)
        _check_health(container)
        _check_volumes(container, volumes, names)
        _check_logging_and_secrets(container, td)
        _check_ulimits(container)
    _check_task_totals(containers, td)
    check_port_conflicts(containers, network_mode=network_mode)
    _check_dependencies(containers)


def _check_list(containers: Sequence[Container]) -> None:
    if not containers:
        raise ClientException("Container list cannot be empty.")
    if len(containers) > MAX_CONTAINERS:
        raise ClientException("Too many containers.")
    seen: set[str] = set()
    for container in containers:
        name = container.get("name")
        if not name:
            raise ClientException("Container.name should not be null or empty.")
        if not _NAME.match(name):
            raise ClientException("Container.name contains invalid characters.")
        if not container.get("image"):
            raise ClientException("Container.image should not be null or empty.")
        if name in seen:
            raise ClientException("Container names must be unique within a task definition.")
        seen.add(name)
    if not any(container.get("essential", True) for container in containers):
        raise ClientException("Task definition doesn't have any essential container.")


def _check_memory(container: Container, task_memory: int | None) -> None:
    name = container["name"]
    memory, reservation = container.get("memory"), container.get("memoryReservation")
    if task_memory is None and memory is None and reservation is None:
        raise ClientException(
            f"Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' "
            "must be specified."
        )
    if memory is not None and memory <= 0:
        raise ClientException(f"Invalid 'memory' setting for container '{name}'.")
    if reservation is not None and reservation <= 0:
        raise ClientException(f"Invalid 'memoryReservation' setting for container '{name}'.")
    if memory is not None and reservation is not None and memory < reservation:
        raise ClientException(
            f"Invalid setting for container '{name}'. 'memory' must be greater than or equal to "
            "'memoryReservation'."
        )
    if task_memory is not None:
        if memory is not None and memory > task_memory:
            raise ClientException(
                f"The 'memory' setting for container '{name}' is greater than for the task."
            )
        if reservation is not None and reservation > task_memory:
            raise ClientException(
                f"The 'memoryReservation' setting for container '{name}' is greater than for the task."
            )
    cpu = container.get("cpu")
    if cpu is not None and cpu < 0:
        raise ClientException(f"Invalid 'cpu' setting for container '{name}'.")


def _check_networking(container: Container, mode: str) -> None:
    check_port_mappings(container, network_mode=mode)
    if container.get("links") and mode != "bridge":
        raise ClientException(f"Links are not supported when networkMode={mode}.")
    if mode == "awsvpc":
        if container.get("hostname") is not None:
            raise ClientException("hostname is not supported on container when networkMode=awsvpc.")
        if container.get("extraHosts"):
            raise ClientException("Extra hosts are not supported on container when networkMode=awsvpc.")
        if container.get("dnsServers"):
            raise ClientException("DNS servers are not supported on container when networkMode=awsvpc.")


def _check_health(container: Container) -> None:
    health = container.get("healthCheck")
    if health is None:
        return
    name = container["name"]
    if not health.get("command"):
        raise ClientException(
            f"Invalid 'healthCheck' setting for container '{name}'. 'command' must not be empty."
        )
    for member, low, high in _HEALTH_RANGES:
        value = health.get(member)
        if value is not None and not low <= value <= high:
            raise ClientException(
                f"Invalid 'healthCheck' setting for container '{name}'. '{member}' must be between "
                f"{low} and {high}."
            )


def _check_volumes(container: Container, volumes: set[Any], containers: set[str]) -> None:
    for mount in container.get("mountPoints") or []:
        source = mount.get("sourceVolume")
        if source is None or source not in volumes:
            raise ClientException(f"Unknown volume '{'null' if source is None else source}'.")
    for source in container.get("volumesFrom") or []:
        other = source.get("sourceContainer")
        if other is None or other not in containers:
            raise ClientException(f"Invalid 'volumesFrom' setting. Unknown container: '{other}'.")


def _check_logging_and_secrets(container: Container, td: Mapping[str, Any]) -> None:
    log = container.get("logConfiguration")
    if log is not None and log.get("logDriver") == "awslogs":
        options = log.get("options") or {}
        missing = [o for o in ("awslogs-region", "awslogs-group") if not options.get(o)]
        if missing:
            raise ClientException(f"Log driver awslogs requires options: {', '.join(missing)}")
    secrets = [*(container.get("secrets") or []), *((log or {}).get("secretOptions") or [])]
    if secrets and not td.get("executionRoleArn"):
        raise ClientException(
            "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'."
        )


def _check_ulimits(container: Container) -> None:
    for limit in container.get("ulimits") or []:
        if limit.get("softLimit", 0) > limit.get("hardLimit", 0):
            raise ClientException(f"Soft limit exceeds hard limit for ulimit {limit.get('name')}.")


def _check_task_totals(containers: Sequence[Container], td: Mapping[str, Any]) -> None:
    task_cpu, task_memory = to_units(td.get("cpu")), to_units(td.get("memory"))
    if task_cpu is not None and sum(c.get("cpu") or 0 for c in containers) > task_cpu:
        raise ClientException(
            "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'."
        )
    reserved = sum(c.get("memoryReservation") or c.get("memory") or 0 for c in containers)
    if task_memory is not None and reserved > task_memory:
        raise ClientException(
            "The sum of all container 'memoryReservation' values cannot be greater than the value of "
            "the task 'memory'."
        )


def _check_dependencies(containers: Sequence[Container]) -> None:
    by_name = {c["name"]: c for c in containers}
    for container in containers:
        for dependency in container.get("dependsOn") or []:
            target = by_name.get(dependency.get("containerName"))
            if target is None:
                raise ClientException(
                    f"Cannot depend on container + '{dependency.get('containerName')}' "
                    "because it does not exist"
                )
            condition = dependency.get("condition")
            if condition in ("COMPLETE", "SUCCESS") and target.get("essential", True):
                raise ClientException(
                    "A dependency container with SUCCESS or COMPLETE condition cannot be an "
                    "essential container"
                )
            if condition == "HEALTHY" and target.get("healthCheck") is None:
                raise ClientException(
                    "A dependency container with HEALTHY condition must have health check configured"
                )
    cycle = _find_cycle(containers)
    if cycle:
        raise ClientException(f"Container dependency cycle detected: {' -> '.join(cycle)}.")


def _find_cycle(containers: Sequence[Container]) -> list[str] | None:
    edges = {c["name"]: [d.get("containerName") for d in c.get("dependsOn") or []] for c in containers}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for nxt in edges.get(name, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt in edges and state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[name] = 2
        return None

    for name in edges:
        if state.get(name) is None:
            found = visit(name)
            if found:
                return found
    return None
