"""The parts of `FakeRuntime`: scripted behaviour, one fake container's record, address books.

Kept apart from `fake_runtime` so each module stays one concept: this one is data and small
pure helpers, `fake_runtime` is the runtime's operations and its event bus.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from dockyard.agent.runtime.protocol import (
    ContainerSpec,
    ContainerState,
    PortBinding,
    PortInUse,
    RuntimeError_,
)

__all__ = ["Behaviour", "FakeContainer", "FakeNetwork", "allocate_ports"]

_FIRST_DYNAMIC_PORT = 32768
_LAST_DYNAMIC_PORT = 60999


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What a fake container (or its image) does. Times are seconds on the runtime's clock.

    By default a container runs until stopped, exits with `term_exit_code` on SIGTERM, and, if
    its spec has a health check, turns ``healthy`` after one check interval (``unhealthy``
    after ``interval * retries``, as Docker counts failures).
    """

    exit_after: float | None = None  # exit by itself this long after start (None: run until stopped)
    exit_code: int = 0  # the code it exits with then
    ignore_sigterm: bool = False  # SIGTERM does nothing: stop() kills it after its timeout (137)
    term_delay: float = 0.0  # how long it takes to shut down after SIGTERM
    term_exit_code: int = 143  # its exit code after SIGTERM (128 + 15, the default action)
    health: str = "healthy"  # what its health check settles on: healthy | unhealthy
    health_after: float | None = None  # when; None: Docker's timing (see above)
    health_changes: tuple[tuple[float, str], ...] = ()  # later (seconds after start, status) changes
    oom_after: float | None = None  # OOM-killed this long after start: "oom" then "die" 137
    pull_error: RuntimeError_ | None = None  # pull() raises a copy of this (e.g. ImageNotFound(...))
    start_error: str | None = None  # start() raises RuntimeError_(this); the container stays created
    output: tuple[bytes, ...] = ()  # lines it writes to its log when it starts
    memory_usage: int = 4 << 20  # bytes, reported by stats()

    def timeline(self, spec: ContainerSpec) -> list[tuple[float, str, str]]:
        """(seconds after start, what, detail) in order: health changes, oom, exit."""
        steps: list[tuple[float, str, str]] = []
        check = spec.healthcheck
        if check is not None:
            default = check.interval * (check.retries if self.health == "unhealthy" else 1)
            steps.append(
                (self.health_after if self.health_after is not None else default, "health", self.health)
            )
            steps += [(at, "health", status) for at, status in self.health_changes]
        if self.oom_after is not None:
            steps.append((self.oom_after, "oom", ""))
        if self.exit_after is not None:
            steps.append((self.exit_after, "exit", ""))
        return sorted(steps, key=lambda step: step[0])


@dataclass(slots=True)
class FakeNetwork:
    id: str
    name: str
    subnet: ipaddress.IPv4Network
    gateway: str
    labels: dict[str, str]
    used: set[str] = field(default_factory=set)

    def allocate(self, wanted: str | None) -> str:
        if wanted is not None:
            if ipaddress.IPv4Address(wanted) not in self.subnet:
                raise RuntimeError_(
                    f"Invalid address {wanted}: It does not belong to any of this network's subnets"
                )
            if wanted in self.used or wanted == self.gateway:
                raise RuntimeError_("Address already in use")
            self.used.add(wanted)
            return wanted
        for host in self.subnet.hosts():
            address = str(host)
            if address != self.gateway and address not in self.used:
                self.used.add(address)
                return address
        raise RuntimeError_(f"no available IPv4 addresses on this network's address pools: {self.name}")


@dataclass(slots=True)
class FakeContainer:
    id: str
    spec: ContainerSpec
    behaviour: Behaviour
    image_id: str
    created_at: float
    status: str = "created"
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    oom_killed: bool = False
    error: str = ""
    health: str | None = None
    pid: int = 0
    ports: tuple[PortBinding, ...] = ()
    addresses: dict[str, str] = field(default_factory=dict)
    log: list[tuple[float, bytes]] = field(default_factory=list)
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    lifecycle: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"

    def touch(self) -> None:
        """Wake log followers."""
        self.changed.set()
        self.changed = asyncio.Event()

    def state(self) -> ContainerState:
        return ContainerState(
            id=self.id,
            name=self.spec.name,
            image=self.spec.image,
            image_id=self.image_id,
            labels=dict(self.spec.labels),
            status=self.status,
            running=self.running,
            exit_code=self.exit_code,
            oom_killed=self.oom_killed,
            error=self.error,
            created_at=self.created_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            health=self.health,
            ports=self.ports,
            ip_addresses=dict(self.addresses),
            mac_addresses={name: _mac(address) for name, address in self.addresses.items()},
            pid=self.pid,
        )


def _mac(address: str) -> str:
    """Docker's scheme: 02:42 then the four octets of the IPv4 address."""
    return "02:42:" + ":".join(f"{int(octet):02x}" for octet in address.split("."))


def _overlaps(ip_a: str, ip_b: str) -> bool:
    return ip_a == ip_b or "0.0.0.0" in (ip_a, ip_b)


def allocate_ports(
    name: str, wanted: Iterable[PortBinding], taken: Iterable[PortBinding]
) -> tuple[PortBinding, ...]:
    """Publish `wanted` next to the running containers' `taken` ports; 0 picks a dynamic port."""
    busy = list(taken)
    published: list[PortBinding] = []
    for port in wanted:
        if port.host_port is None:
            continue
        host_ip = port.host_ip or "0.0.0.0"

        def free(number: int, ip: str = host_ip, protocol: str = port.protocol) -> bool:
            return not any(
                b.host_port == number and b.protocol == protocol and _overlaps(b.host_ip, ip) for b in busy
            )

        if port.host_port:
            if not free(port.host_port):
                raise PortInUse(
                    f"driver failed programming external connectivity on endpoint {name}: "
                    f"Bind for {host_ip}:{port.host_port} failed: port is already allocated"
                )
            number = port.host_port
        else:
            number = next((n for n in range(_FIRST_DYNAMIC_PORT, _LAST_DYNAMIC_PORT + 1) if free(n)), 0)
            if not number:
                raise PortInUse(f"Bind for {host_ip}:0 failed: no free dynamic host port")
        binding = PortBinding(port.container_port, number, port.protocol, host_ip)
        published.append(binding)
        busy.append(binding)
    return tuple(published)
