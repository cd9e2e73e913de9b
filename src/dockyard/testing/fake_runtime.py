"""`FakeRuntime`: an in-memory `ContainerRuntime` for fast, deterministic tests of the agent.

Containers follow a scripted `Behaviour`, chosen by their command (first) or image::

    runtime = FakeRuntime(clock=clock)             # any dockyard.core.clock.Clock; sleeps use it
    runtime.add_image("app:1")                     # images are absent until added or pulled
    runtime.script(Behaviour(exit_after=5, exit_code=3), image="app:crash")
    runtime.script(Behaviour(ignore_sigterm=True), command=("sleep", "infinity"))
    runtime.script(Behaviour(pull_error=ImageNotFound("manifest unknown")), image="nope:1")

It mirrors what the agent relies on in Docker: `create` needs the image (``No such image``),
`start` publishes ports (``PortInUse`` on a collision, dynamic ports from 32768) and emits
``start``; a container's timeline emits ``health_status: healthy`` (the status also in
``attributes["health_status"]``, as `DockerRuntime` reports it), ``oom`` and ``die`` (with
``exitCode``); `stop` sends SIGTERM, then SIGKILL after the timeout (exit 137) when SIGTERM is
ignored or shutdown is slower than the timeout, and returns once the container has exited;
`wait` on a never-started container returns at once with 0, as Docker's does.

Failures are scripted too: `Behaviour.pull_error` (raised by `pull`), `Behaviour.start_error`
(raised by `start`, the container stays ``created``), `remove_image` (later creates fail).
`events()` subscribes when called, so nothing between the call and the first ``__anext__`` is
missed; `write_log` adds output; `close()` cancels the containers' timelines.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import itertools
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from dockyard.agent.runtime.log_frames import format_timestamp, timestamp_ns
from dockyard.agent.runtime.protocol import (
    ContainerNotFound,
    ContainerRuntime,
    ContainerSpec,
    ContainerState,
    ExitStatus,
    ImageNotFound,
    LogFrame,
    RegistryAuth,
    RuntimeError_,
    RuntimeEvent,
)
from dockyard.core.clock import Clock, SystemClock
from dockyard.testing._fake_container import Behaviour, FakeContainer, FakeNetwork, allocate_ports

__all__ = ["Behaviour", "FakeRuntime"]

_KILL = ("SIGKILL", "KILL", "9")
_TERM = ("SIGTERM", "TERM", "15")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _normal(image: str) -> str:
    return image if "@" in image or ":" in image.rsplit("/", 1)[-1] else f"{image}:latest"


class FakeRuntime:
    """In-memory containers, networks and volumes with Docker-like events."""

    def __init__(self, *, clock: Clock | None = None, default: Behaviour | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.default = default or Behaviour()
        self.containers: dict[str, FakeContainer] = {}
        self.images: dict[str, str] = {}  # normalised name -> image id
        bridge = FakeNetwork(
            _digest("network-bridge"), "bridge", ipaddress.IPv4Network("172.17.0.0/16"), "172.17.0.1", {}
        )
        self.networks: dict[str, FakeNetwork] = {"bridge": bridge}
        self.volumes: dict[str, dict[str, str]] = {}  # name -> labels
        self.pulls: list[str] = []  # every pull() call, in order
        self._by_image: dict[str, Behaviour] = {}
        self._by_command: dict[tuple[str, ...], Behaviour] = {}
        self._subscribers: list[tuple[Mapping[str, str], asyncio.Queue[RuntimeEvent]]] = []
        self._ids = itertools.count(1)
        self._background: set[asyncio.Future[None]] = set()

    # scripting ------------------------------------------------------------------------------

    def script(
        self, behaviour: Behaviour, *, image: str | None = None, command: tuple[str, ...] | None = None
    ) -> None:
        """Containers with this command (checked first) or image behave as `behaviour`."""
        if command is not None:
            self._by_command[tuple(command)] = behaviour
        if image is not None:
            self._by_image[_normal(image)] = behaviour
        if image is None and command is None:
            raise ValueError("script() needs an image or a command")

    def behaviour_for(self, spec: ContainerSpec) -> Behaviour:
        if spec.command is not None and tuple(spec.command) in self._by_command:
            return self._by_command[tuple(spec.command)]
        return self._by_image.get(_normal(spec.image), self.default)

    def add_image(self, *images: str) -> None:
        for image in images:
            self.images[_normal(image)] = f"sha256:{_digest(_normal(image))}"

    def remove_image(self, image: str) -> None:
        self.images.pop(_normal(image), None)

    def spec_of(self, container_id: str) -> ContainerSpec:
        return self._get(container_id).spec

    # engine facts and images ------------------------------------------------------------------

    async def version(self) -> Mapping[str, Any]:
        return {"Version": "fake", "ApiVersion": "1.41", "Os": "linux", "Arch": "amd64"}

    async def image_id(self, image: str) -> str | None:
        return self.images.get(_normal(image))

    async def image_digest(self, image: str) -> str | None:
        return f"sha256:{_digest('digest:' + _normal(image))}" if _normal(image) in self.images else None

    async def pull(self, image: str, *, auth: RegistryAuth | None = None) -> str:
        self.pulls.append(image)
        error = self._by_image.get(_normal(image), self.default).pull_error
        if error is not None:
            raise type(error)(*error.args)
        self.add_image(image)
        return self.images[_normal(image)]

    # containers -----------------------------------------------------------------------------

    def _get(self, container_id: str) -> FakeContainer:
        found = self.containers.get(container_id) or next(
            (c for c in self.containers.values() if c.spec.name == container_id), None
        )
        if found is None:
            matches = [c for c in self.containers.values() if c.id.startswith(container_id)]
            found = matches[0] if len(matches) == 1 and container_id else None
        if found is None:
            raise ContainerNotFound(f"No such container: {container_id}")
        return found

    def _emit(self, container: FakeContainer, action: str, **attributes: str) -> None:
        labels = dict(container.spec.labels)
        event = RuntimeEvent(container.id, action, labels, self.clock.now(), attributes)
        for wanted, queue in self._subscribers:
            if all(labels.get(key) == value for key, value in wanted.items()):
                queue.put_nowait(event)

    async def create(self, spec: ContainerSpec) -> str:
        image_id = self.images.get(_normal(spec.image))
        if image_id is None:
            raise ImageNotFound(f"No such image: {_normal(spec.image)}")
        if any(c.spec.name == spec.name for c in self.containers.values()):
            raise RuntimeError_(f'Conflict. The container name "/{spec.name}" is already in use.')
        container_id = _digest(f"container-{next(self._ids)}-{spec.name}")
        container = FakeContainer(container_id, spec, self.behaviour_for(spec), image_id, self.clock.now())
        self.containers[container_id] = container
        self._emit(container, "create", image=spec.image, name=spec.name)
        return container_id

    def _network_of(self, container: FakeContainer) -> FakeNetwork | None:
        mode = container.spec.network_mode
        if mode in ("host", "none") or mode.startswith("container:"):
            return None
        network = self.networks.get("bridge" if mode == "default" else mode)
        if network is None:
            raise RuntimeError_(f"network {mode} not found")
        return network

    async def start(self, container_id: str) -> None:
        container = self._get(container_id)
        if container.running:
            return
        behaviour = container.behaviour
        if behaviour.start_error is not None:
            container.error = behaviour.start_error
            raise RuntimeError_(behaviour.start_error)
        taken = [port for c in self.containers.values() if c.running for port in c.ports]
        network = self._network_of(container)
        ports = allocate_ports(container.spec.name, container.spec.ports, taken)
        if network is not None:
            wanted = container.spec.ip_address if network.name != "bridge" else None
            container.addresses = {network.name: network.allocate(wanted)}
        container.ports, container.status, container.error = ports, "running", ""
        container.started_at, container.finished_at, container.exit_code = self.clock.now(), None, None
        container.pid = 1000 + next(self._ids)
        container.health = "starting" if container.spec.healthcheck else None
        container.exited = asyncio.Event()
        self._emit(container, "start", image=container.spec.image, name=container.spec.name)
        container.log += [(self.clock.now(), line) for line in behaviour.output]
        container.touch()
        container.lifecycle = asyncio.create_task(self._live(container), name=f"fake-{container.spec.name}")

    async def _live(self, container: FakeContainer) -> None:
        elapsed = 0.0
        for at, what, detail in container.behaviour.timeline(container.spec):
            await self.clock.sleep(max(0.0, at - elapsed))
            elapsed = max(elapsed, at)
            if what == "health":
                container.health = detail
                self._emit(container, f"health_status: {detail}", health_status=detail)
            elif what == "oom":
                self._emit(container, "oom")
                self._exit(container, 137, oom_killed=True)
                return
            else:
                self._exit(container, container.behaviour.exit_code)
                return

    def _exit(self, container: FakeContainer, code: int, *, oom_killed: bool = False) -> None:
        if not container.running:
            return
        if container.lifecycle is not None and container.lifecycle is not asyncio.current_task():
            container.lifecycle.cancel()
        for name, address in container.addresses.items():
            self.networks[name].used.discard(address)
        container.status, container.exit_code, container.oom_killed = "exited", code, oom_killed
        container.finished_at, container.pid, container.ports, container.addresses = (
            self.clock.now(),
            0,
            (),
            {},
        )
        self._emit(container, "die", exitCode=str(code), image=container.spec.image, name=container.spec.name)
        container.exited.set()
        container.touch()

    async def _sleep_unless_exited(self, container: FakeContainer, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waiter = asyncio.ensure_future(container.exited.wait())
        try:
            await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waiter.cancel()

    async def _terminate(self, container: FakeContainer, timeout: float | None) -> None:
        self._emit(container, "kill", signal="15")
        behaviour = container.behaviour
        graceful = not behaviour.ignore_sigterm and (timeout is None or behaviour.term_delay <= timeout)
        await self._sleep_unless_exited(container, behaviour.term_delay if graceful else (timeout or 0.0))
        if graceful:
            self._exit(container, behaviour.term_exit_code)
        elif timeout is not None and container.running:
            self._emit(container, "kill", signal="9")
            self._exit(container, 137)

    async def wait(self, container_id: str) -> ExitStatus:
        container = self._get(container_id)
        if container.running:
            await container.exited.wait()
        return ExitStatus(container.exit_code or 0, container.oom_killed, container.error)

    async def stop(self, container_id: str, *, timeout: float) -> None:
        container = self._get(container_id)
        if container.running:
            await self._terminate(container, timeout)
            self._emit(container, "stop", image=container.spec.image, name=container.spec.name)

    async def kill(self, container_id: str, *, signal: str = "SIGKILL") -> None:
        container = self._get(container_id)
        if not container.running:
            raise RuntimeError_(
                f"Cannot kill container: {container_id}: Container {container.id} is not running"
            )
        if signal.upper() in _KILL:
            self._emit(container, "kill", signal="9")
            self._exit(container, 137)
        elif signal.upper() in _TERM:
            task = asyncio.ensure_future(self._terminate(container, None))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        else:
            self._emit(container, "kill", signal=signal)

    async def remove(self, container_id: str, *, force: bool = False) -> None:
        container = self._get(container_id)
        if container.running and not force:
            raise RuntimeError_(
                f"You cannot remove a running container {container.id}. "
                "Stop the container before attempting removal or force remove"
            )
        if container.running:
            self._emit(container, "kill", signal="9")
            self._exit(container, 137)
        del self.containers[container.id]
        self._emit(container, "destroy", image=container.spec.image, name=container.spec.name)

    async def inspect(self, container_id: str) -> ContainerState:
        return self._get(container_id).state()

    async def list(self, *, labels: Mapping[str, str]) -> list[ContainerState]:
        return [
            c.state()
            for c in self.containers.values()
            if all(c.spec.labels.get(key) == value for key, value in labels.items())
        ]

    def events(self, *, labels: Mapping[str, str]) -> AsyncIterator[RuntimeEvent]:
        queue: asyncio.Queue[RuntimeEvent] = asyncio.Queue()
        subscriber = (dict(labels), queue)
        self._subscribers.append(subscriber)  # now, so events before the first __anext__ count
        return self._events(subscriber)

    async def _events(
        self, subscriber: tuple[Mapping[str, str], asyncio.Queue[RuntimeEvent]]
    ) -> AsyncIterator[RuntimeEvent]:
        try:
            while True:
                yield await subscriber[1].get()
        finally:
            self._subscribers.remove(subscriber)

    def logs(
        self, container_id: str, *, since: float | None = None, follow: bool = False
    ) -> AsyncIterator[bytes]:
        return self._logs(self._get(container_id), since, follow)

    async def _logs(
        self, container: FakeContainer, since: float | None, follow: bool
    ) -> AsyncIterator[bytes]:
        index = 0
        while True:
            changed = container.changed
            for at, line in container.log[index:]:
                if since is None or at >= since:
                    yield line
            index = len(container.log)
            if not (follow and container.running):
                return
            await changed.wait()

    def log_frames(
        self, container_id: str, *, since: str | None = None, follow: bool = False
    ) -> AsyncIterator[LogFrame]:
        return self._log_frames(self._get(container_id), since, follow)

    async def _log_frames(
        self, container: FakeContainer, since: str | None, follow: bool
    ) -> AsyncIterator[LogFrame]:
        start = timestamp_ns(since) if since else None
        index = 0
        while True:
            changed = container.changed
            for at, line in container.log[index:]:
                ns = round(at * 1_000_000_000)
                if start is None or ns >= start:
                    yield LogFrame(format_timestamp(ns), 1, line + b"\n")
            index = len(container.log)
            if not (follow and container.running):
                return
            await changed.wait()

    def write_log(self, container_id: str, *lines: bytes) -> None:
        """Append output lines to a container's log, as if it had printed them."""
        container = self._get(container_id)
        container.log += [(self.clock.now(), line) for line in lines]
        container.touch()

    async def stats(self, container_id: str) -> Mapping[str, Any]:
        container = self._get(container_id)
        usage = container.behaviour.memory_usage if container.running else 0
        return {
            "id": container.id,
            "name": f"/{container.spec.name}",
            "memory_stats": {"usage": usage, "limit": container.spec.memory or 8 << 30},
            "cpu_stats": {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0, "online_cpus": 2},
            "pids_stats": {"current": 1 if container.running else 0},
        }

    # networks and volumes -------------------------------------------------------------------

    async def ensure_network(self, name: str, *, subnet: str, gateway: str, labels: Mapping[str, str]) -> str:
        if name not in self.networks:
            network_id = _digest(f"network-{name}")
            self.networks[name] = FakeNetwork(
                network_id, name, ipaddress.IPv4Network(subnet), gateway, dict(labels)
            )
        return self.networks[name].id

    async def remove_network(self, name: str) -> None:
        network = self.networks.get(name)
        if network is None:
            return
        if network.used:
            raise RuntimeError_(
                f"error while removing network: network {name} id {network.id} has active endpoints"
            )
        del self.networks[name]

    async def create_volume(
        self,
        name: str,
        *,
        driver: str = "local",
        driver_opts: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        self.volumes.setdefault(name, dict(labels or {}))
        return name

    async def remove_volume(self, name: str) -> None:
        users = [c.id for c in self.containers.values() if any(m.source == name for m in c.spec.mounts)]
        if name in self.volumes and users:
            raise RuntimeError_(f"remove {name}: volume is in use - [{', '.join(users)}]")
        self.volumes.pop(name, None)

    async def volume_exists(self, name: str) -> bool:
        return name in self.volumes

    async def close(self) -> None:
        """Cancel the containers' timelines (their state stays as it is)."""
        for container in self.containers.values():
            if container.lifecycle is not None:
                container.lifecycle.cancel()
        for task in list(self._background):
            task.cancel()


if TYPE_CHECKING:  # mypy holds the fake to the protocol
    _conforms: type[ContainerRuntime] = FakeRuntime
