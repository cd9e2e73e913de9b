"""Translation between the runtime's records and Docker Engine API documents (no I/O).

- `create_body(spec)`: a `ContainerSpec` as the ``POST /containers/create`` body
  (Config + HostConfig + NetworkingConfig).
- `container_state(doc)`: a ``GET /containers/{id}/json`` document as a `ContainerState`.
- `runtime_event(doc)`: one ``/events`` message as a `RuntimeEvent`.
- `parse_time(text)`: RFC 3339 with nanoseconds as epoch seconds; Go's zero time as None.
- `since_param(text)`: RFC 3339 as the exact ``since=<s>.<ns>`` query form.
"""

from __future__ import annotations

import re
from calendar import timegm
from collections.abc import Mapping
from typing import Any

from dockyard.agent.runtime.protocol import (
    ContainerSpec,
    ContainerState,
    PortBinding,
    RuntimeEvent,
)

__all__ = [
    "container_state",
    "create_body",
    "is_user_network",
    "parse_time",
    "runtime_event",
    "since_param",
]

_NS = 1_000_000_000
_TIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")
# Attributes Docker adds to an event's Actor next to the container's labels.
_EVENT_ATTRIBUTES = frozenset({"image", "name", "exitCode", "signal", "execID", "execDuration", "oldName"})


def _epoch(text: str) -> tuple[int, str]:
    """Whole epoch seconds and the fraction's digits of an RFC 3339 time."""
    match = _TIME.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    seconds = timegm((int(year), int(month), int(day), int(hour), int(minute), int(second)))
    if zone != "Z":
        offset = int(zone[1:3]) * 3600 + int(zone[4:6]) * 60
        seconds -= offset if zone[0] == "+" else -offset
    return seconds, fraction or ""


def parse_time(text: str | None) -> float | None:
    """``2024-05-01T10:00:00.123456789Z`` -> epoch seconds; ``0001-01-01T00:00:00Z`` -> None."""
    if not text or text.startswith("0001-01-01"):
        return None
    seconds, fraction = _epoch(text)
    return seconds + (float(f"0.{fraction}") if fraction else 0.0)


def since_param(text: str) -> str:
    """An RFC 3339 time as the engine's exact ``since`` form, ``<seconds>.<nanoseconds>``."""
    seconds, fraction = _epoch(text)
    return f"{seconds}.{fraction[:9].ljust(9, '0')}"


def _ns(seconds: float) -> int:
    return round(seconds * _NS)


def is_user_network(mode: str) -> bool:
    """True for a user-defined network name (not bridge/default/host/none/container:...)."""
    return mode not in ("bridge", "default", "host", "none") and not mode.startswith("container:")


def _port_key(binding: PortBinding) -> str:
    return f"{binding.container_port}/{binding.protocol}"


def _tmpfs_options(read_only: bool, size: int | None, options: tuple[str, ...]) -> str:
    parts = list(options)
    if read_only and "ro" not in parts:
        parts.append("ro")
    if size is not None:
        parts.append(f"size={size}")
    return ",".join(parts)


def _host_config(spec: ContainerSpec) -> dict[str, Any]:
    host: dict[str, Any] = {"NetworkMode": spec.network_mode}
    optional = {
        "CpuShares": spec.cpu_shares,
        "Memory": spec.memory,
        "MemoryReservation": spec.memory_reservation,
        "MemorySwap": spec.memory_swap,
        "MemorySwappiness": spec.memory_swappiness,
        "CgroupParent": spec.cgroup_parent,
        "ShmSize": spec.shm_size,
        "PidMode": spec.pid_mode,
        "IpcMode": spec.ipc_mode,
    }
    host.update({key: value for key, value in optional.items() if value is not None})
    bindings: dict[str, list[dict[str, str]]] = {}
    for port in spec.ports:
        if port.host_port is not None:
            bindings.setdefault(_port_key(port), []).append(
                {"HostIp": port.host_ip, "HostPort": str(port.host_port) if port.host_port else ""}
            )
    if bindings:
        host["PortBindings"] = bindings
    binds: list[str] = []
    mounts: list[dict[str, Any]] = []
    tmpfs: dict[str, str] = {}
    for mount in spec.mounts:
        if mount.type == "bind":
            # Binds (not Mounts) so a missing host path is created, as on ECS.
            binds.append(f"{mount.source}:{mount.target}" + (":ro" if mount.read_only else ""))
        elif mount.type == "volume":
            mounts.append(
                {
                    "Type": "volume",
                    "Source": mount.source,
                    "Target": mount.target,
                    "ReadOnly": mount.read_only,
                }
            )
        elif mount.type == "tmpfs":
            tmpfs[mount.target] = _tmpfs_options(mount.read_only, mount.tmpfs_size, mount.tmpfs_options)
        else:
            raise ValueError(f"unknown mount type {mount.type!r}")
    if binds:
        host["Binds"] = binds
    if mounts:
        host["Mounts"] = mounts
    if tmpfs:
        host["Tmpfs"] = tmpfs
    lists = {
        "VolumesFrom": spec.volumes_from,
        "CapAdd": spec.cap_add,
        "CapDrop": spec.cap_drop,
        "SecurityOpt": spec.security_opt,
        "Dns": spec.dns,
        "DnsSearch": spec.dns_search,
        "ExtraHosts": spec.extra_hosts,
        "Links": spec.links,
    }
    host.update({key: list(value) for key, value in lists.items() if value})
    if spec.ulimits:
        host["Ulimits"] = [{"Name": u.name, "Soft": u.soft, "Hard": u.hard} for u in spec.ulimits]
    if spec.devices:
        host["Devices"] = [
            {"PathOnHost": src, "PathInContainer": dst, "CgroupPermissions": perms or "rwm"}
            for src, dst, perms in spec.devices
        ]
    if spec.sysctls:
        host["Sysctls"] = dict(spec.sysctls)
    if spec.readonly_rootfs:
        host["ReadonlyRootfs"] = True
    if spec.privileged:
        host["Privileged"] = True
    if spec.init:
        host["Init"] = True
    if spec.log_driver:
        host["LogConfig"] = {"Type": spec.log_driver, "Config": dict(spec.log_options)}
    return host


def create_body(spec: ContainerSpec) -> dict[str, Any]:
    """The ``POST /containers/create?name=<spec.name>`` body for `spec`."""
    body: dict[str, Any] = {
        "Image": spec.image,
        "Labels": dict(spec.labels),
        "Env": [f"{key}={value}" for key, value in spec.env.items()],
        "Tty": spec.tty,
        "OpenStdin": spec.interactive,
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "HostConfig": _host_config(spec),
    }
    if spec.command is not None:
        body["Cmd"] = list(spec.command)
    if spec.entrypoint is not None:
        body["Entrypoint"] = list(spec.entrypoint)
    for key, value in (
        ("WorkingDir", spec.working_dir),
        ("User", spec.user),
        ("Hostname", spec.hostname),
        ("MacAddress", spec.mac_address),  # API 1.41 takes it in Config, for the first network
    ):
        if value is not None:
            body[key] = value
    if spec.network_disabled:
        body["NetworkDisabled"] = True
    if spec.stop_timeout is not None:
        body["StopTimeout"] = spec.stop_timeout
    if spec.ports:
        body["ExposedPorts"] = {_port_key(port): {} for port in spec.ports}
    if spec.healthcheck is not None:
        check = spec.healthcheck
        body["Healthcheck"] = {
            "Test": list(check.test),
            "Interval": _ns(check.interval),
            "Timeout": _ns(check.timeout),
            "Retries": check.retries,
            "StartPeriod": _ns(check.start_period),
        }
    if spec.ip_address and is_user_network(spec.network_mode):
        body["NetworkingConfig"] = {
            "EndpointsConfig": {spec.network_mode: {"IPAMConfig": {"IPv4Address": spec.ip_address}}}
        }
    return body


def _published_ports(ports: Mapping[str, Any] | None) -> tuple[PortBinding, ...]:
    found: list[PortBinding] = []
    for key, bindings in (ports or {}).items():
        port, _, protocol = key.partition("/")
        for binding in bindings or ():
            host_port = binding.get("HostPort")
            if host_port:
                found.append(
                    PortBinding(
                        container_port=int(port),
                        host_port=int(host_port),
                        protocol=protocol or "tcp",
                        host_ip=binding.get("HostIp", ""),
                    )
                )
    return tuple(found)


def container_state(doc: Mapping[str, Any]) -> ContainerState:
    """A ``GET /containers/{id}/json`` document as a `ContainerState`."""
    state = doc.get("State") or {}
    config = doc.get("Config") or {}
    settings = doc.get("NetworkSettings") or {}
    networks = settings.get("Networks") or {}
    health = state.get("Health")
    log = (health or {}).get("Log") or []
    status = str(state.get("Status", ""))
    started_at, finished_at = parse_time(state.get("StartedAt")), parse_time(state.get("FinishedAt"))
    if started_at is not None and finished_at is not None and finished_at < started_at:
        finished_at = started_at  # a process that exits at once can be stamped "finished" first
    return ContainerState(
        id=doc["Id"],
        name=str(doc.get("Name", "")).lstrip("/"),
        image=str(config.get("Image", "")),
        image_id=str(doc.get("Image", "")),
        labels=dict(config.get("Labels") or {}),
        status=status,
        running=bool(state.get("Running")),
        exit_code=int(state["ExitCode"]) if status in ("exited", "dead") else None,
        oom_killed=bool(state.get("OOMKilled")),
        error=str(state.get("Error") or ""),
        created_at=parse_time(doc.get("Created")),
        started_at=started_at,
        finished_at=finished_at,
        health=health.get("Status") if health else None,
        health_output=str(log[-1].get("Output", "")) if log else "",
        ports=_published_ports(settings.get("Ports")),
        ip_addresses={name: net["IPAddress"] for name, net in networks.items() if net.get("IPAddress")},
        mac_addresses={name: net["MacAddress"] for name, net in networks.items() if net.get("MacAddress")},
        pid=int(state.get("Pid") or 0),
    )


def runtime_event(doc: Mapping[str, Any]) -> RuntimeEvent:
    """One ``/events`` message. The action is kept as the engine says it (``health_status: healthy``,
    ``exec_start: sh``); the part after ``": "`` is also put in ``attributes[<action name>]``."""
    actor = doc.get("Actor") or {}
    raw_attributes = dict(actor.get("Attributes") or {})
    action = str(doc.get("Action") or doc.get("status") or "")
    name, _, detail = action.partition(": ")
    attributes = {key: value for key, value in raw_attributes.items() if key in _EVENT_ATTRIBUTES}
    if detail:
        attributes[name] = detail
    nanos = doc.get("timeNano")
    return RuntimeEvent(
        container_id=str(actor.get("ID") or doc.get("id") or ""),
        action=action,
        labels={key: value for key, value in raw_attributes.items() if key not in _EVENT_ATTRIBUTES},
        time=int(nanos) / _NS if nanos else float(doc.get("time") or 0),
        attributes=attributes,
    )
