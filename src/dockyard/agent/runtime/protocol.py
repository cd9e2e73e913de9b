"""The container runtime seam, in the shape of Nomad's driver interface.

The agent talks to containers only through `ContainerRuntime`. `DockerRuntime` implements it
over the Docker Engine API; `FakeRuntime` (in `dockyard.testing`) implements it in memory so the
task runner's logic can be tested fast and deterministically.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "ContainerRuntime",
    "ContainerSpec",
    "ContainerState",
    "ExitStatus",
    "HealthCheck",
    "Mount",
    "PortBinding",
    "Ulimit",
    "RegistryAuth",
    "RuntimeEvent",
    "RuntimeError_",
    "ImageNotFound",
    "ContainerNotFound",
    "PortInUse",
    "LogFrame",
]


class RuntimeError_(Exception):
    """The runtime refused an operation; the message is the engine's own words."""


class ImageNotFound(RuntimeError_):
    pass


class ContainerNotFound(RuntimeError_):
    pass


class PortInUse(RuntimeError_):
    pass


@dataclass(frozen=True, slots=True)
class RegistryAuth:
    username: str
    password: str
    server: str = ""


@dataclass(frozen=True, slots=True)
class PortBinding:
    container_port: int
    host_port: int | None  # None: do not publish (awsvpc, host mode)
    protocol: str = "tcp"  # tcp | udp
    host_ip: str = ""


@dataclass(frozen=True, slots=True)
class Mount:
    type: str  # bind | volume | tmpfs
    target: str
    source: str = ""
    read_only: bool = False
    tmpfs_size: int | None = None  # bytes, for tmpfs
    tmpfs_options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True, slots=True)
class HealthCheck:
    test: tuple[str, ...]  # ("CMD", ...) or ("CMD-SHELL", "...")
    interval: float = 30.0
    timeout: float = 5.0
    retries: int = 3
    start_period: float = 0.0


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    name: str
    image: str
    labels: Mapping[str, str] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    # resources
    cpu_shares: int | None = None
    memory: int | None = None  # hard limit, bytes
    memory_reservation: int | None = None  # soft limit, bytes
    memory_swap: int | None = None  # memory + swap, bytes (Docker MemorySwap); None: engine default
    memory_swappiness: int | None = None  # 0-100; None: engine default
    cgroup_parent: str | None = None
    # networking: "bridge" | "host" | "none" | "container:<id>" | a network name
    network_mode: str = "bridge"
    ip_address: str | None = None  # on a user-defined network
    mac_address: str | None = None  # on a user-defined network
    network_disabled: bool = False
    ports: tuple[PortBinding, ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()  # "host:ip"
    links: tuple[str, ...] = ()
    # storage
    mounts: tuple[Mount, ...] = ()
    volumes_from: tuple[str, ...] = ()  # "<container id>[:ro]"
    readonly_rootfs: bool = False
    # process and security
    ulimits: tuple[Ulimit, ...] = ()
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    init: bool = False
    shm_size: int | None = None  # bytes
    devices: tuple[tuple[str, str, str], ...] = ()  # (host path, container path, permissions)
    sysctls: Mapping[str, str] = field(default_factory=dict)
    security_opt: tuple[str, ...] = ()
    pid_mode: str | None = None  # "host" | "container:<id or name>"
    ipc_mode: str | None = None  # "host" | "none" | "shareable" | "container:<id or name>"
    tty: bool = False
    interactive: bool = False
    healthcheck: HealthCheck | None = None
    stop_timeout: int | None = None
    log_driver: str | None = None
    log_options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExitStatus:
    exit_code: int
    oom_killed: bool = False
    error: str = ""


@dataclass(frozen=True, slots=True)
class ContainerState:
    id: str
    name: str
    image: str
    image_id: str
    labels: Mapping[str, str]
    status: str  # created | running | paused | restarting | removing | exited | dead
    running: bool
    exit_code: int | None
    oom_killed: bool
    error: str
    created_at: float | None
    started_at: float | None  # epoch seconds; None if never started
    finished_at: float | None
    health: str | None  # None (no check) | starting | healthy | unhealthy
    health_output: str = ""
    ports: tuple[PortBinding, ...] = ()  # what the engine actually published
    ip_addresses: Mapping[str, str] = field(default_factory=dict)  # network name -> IPv4
    mac_addresses: Mapping[str, str] = field(default_factory=dict)
    pid: int = 0


@dataclass(frozen=True, slots=True)
class RuntimeEvent:
    """A container event: `action` is the engine's (start, die, oom, destroy, "health_status: healthy"...).

    `labels` are the container's labels; `attributes` the engine's extras (``exitCode`` on die,
    ``signal`` on kill, ``name``, ``image``) and, for an action with a detail such as
    ``health_status: healthy``, that detail under the action's name (``health_status``)."""

    container_id: str
    action: str
    labels: Mapping[str, str]
    time: float
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LogFrame:
    """One message of a container's output, as the engine logged it (for log shipping)."""

    timestamp: str  # when the engine logged it: RFC 3339 with nanoseconds, UTC
    stream: int  # 1 stdout, 2 stderr
    data: bytes  # a line with its "\n", or one part of a long line (without)


class ContainerRuntime(Protocol):
    async def version(self) -> Mapping[str, Any]:
        """Engine version facts (`Version`, `ApiVersion`, `Os`, `Arch`...)."""
        ...

    async def image_id(self, image: str) -> str | None:
        """The local image's id (sha256:...), or None when the image is not present."""
        ...

    async def image_digest(self, image: str) -> str | None:
        """The repository digest of a local image, when it came from a registry."""
        ...

    async def pull(self, image: str, *, auth: RegistryAuth | None = None) -> str:
        """Pull `image`; returns its image id. Raises `ImageNotFound` or `RuntimeError_`."""
        ...

    async def create(self, spec: ContainerSpec) -> str: ...

    async def start(self, container_id: str) -> None: ...

    async def wait(self, container_id: str) -> ExitStatus: ...

    async def stop(self, container_id: str, *, timeout: float) -> None:
        """The image's stop signal (SIGTERM by default), then SIGKILL after `timeout` seconds."""
        ...

    async def kill(self, container_id: str, *, signal: str = "SIGKILL") -> None: ...

    async def remove(self, container_id: str, *, force: bool = False) -> None: ...

    async def inspect(self, container_id: str) -> ContainerState: ...

    async def list(self, *, labels: Mapping[str, str]) -> list[ContainerState]:
        """All containers (running or not) carrying every one of `labels`."""
        ...

    def events(self, *, labels: Mapping[str, str]) -> AsyncIterator[RuntimeEvent]:
        """Container events from now on for containers carrying `labels`."""
        ...

    async def ensure_network(self, name: str, *, subnet: str, gateway: str, labels: Mapping[str, str]) -> str:
        """Create a bridge network unless one with this name exists; returns its id."""
        ...

    async def remove_network(self, name: str) -> None: ...

    async def create_volume(
        self,
        name: str,
        *,
        driver: str = "local",
        driver_opts: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> str: ...

    async def remove_volume(self, name: str) -> None: ...

    async def volume_exists(self, name: str) -> bool: ...

    def logs(
        self, container_id: str, *, since: float | None = None, follow: bool = False
    ) -> AsyncIterator[bytes]:
        """Raw output lines (stdout and stderr) of a container."""
        ...

    def log_frames(
        self, container_id: str, *, since: str | None = None, follow: bool = False
    ) -> AsyncIterator[LogFrame]:
        """Timestamped output messages from `since` (an RFC 3339 time, inclusive) on (awslogs)."""
        ...

    async def stats(self, container_id: str) -> Mapping[str, Any]:
        """One Docker stats sample (the `/containers/{id}/stats?stream=false` document)."""
        ...
