"""The agents behind EC2 instances, as the instance launcher holds them, and the host they run on.

```
ProcessAgent    `python -m dockyard agent --instance-id i-... ...` as a child process (own session,
                log file next to its state); `on_exit` fires when it ends
AdoptedAgent    such a process left running by an earlier server (found by pid and command line)
SimulatedAgent  a `SimulatedInstance` (agent/simulate.py) run as a task in the server's loop
LocalHost       the Docker side of a real instance: stop or remove its containers, drop its cgroup
```
`stop()` is the agent stopping (server shutdown: containers keep running, a restarted agent takes
them back); `power_off()` is the host stopping (StopInstances, TerminateInstances).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from dockyard.agent.envelope import Envelope
from dockyard.agent.identity import AddressLock
from dockyard.agent.runtime.docker import DockerRuntime
from dockyard.agent.simulate import SimulatedInstance

__all__ = [
    "AgentHandle",
    "ProcessAgent",
    "AdoptedAgent",
    "SimulatedAgent",
    "LocalHost",
    "address_free",
    "DEREGISTERED_EXIT",
]

log = logging.getLogger(__name__)

# The agent's exit status when its container instance was deregistered: like ecs-init, the
# launcher does not restart it.
DEREGISTERED_EXIT = 5
STOP_TIMEOUT = 15.0


def address_free(address: str) -> bool:
    """True unless another process (an agent started by hand) holds `address`'s lock file."""
    lock = AddressLock()
    try:
        if lock.try_acquire(address):
            lock.release()
            return True
        return False
    except OSError:
        return True


class AgentHandle(Protocol):
    @property
    def alive(self) -> bool: ...

    @property
    def exit_code(self) -> int | None: ...

    @property
    def pid(self) -> int | None: ...

    async def stop(self) -> None: ...

    async def power_off(self) -> None: ...


class ProcessAgent:
    def __init__(
        self, args: Sequence[str], *, env: dict[str, str], log_path: Path, on_exit: Callable[[], None]
    ) -> None:
        self._args = list(args)
        self._env = env
        self._log_path = log_path
        self._on_exit = on_exit
        self._process: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._log_path, "ab") as out:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "dockyard",
                "agent",
                *self._args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=self._env,
                start_new_session=True,
            )
        self._watch = asyncio.create_task(self._wait())

    async def _wait(self) -> None:
        assert self._process is not None
        await self._process.wait()
        self._on_exit()

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def exit_code(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def stop(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def power_off(self) -> None:
        await self.stop()


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return []
    return [arg for arg in raw.split("\0") if arg]  # a zombie's is empty


class AdoptedAgent:
    """An agent process of this instance that outlived an earlier server (which crashed)."""

    def __init__(self, pid: int, *, on_exit: Callable[[], None]) -> None:
        self._pid = pid
        self._on_exit = on_exit
        self._watch = asyncio.create_task(self._poll())

    @staticmethod
    def find(pid: int | None, instance_id: str) -> int | None:
        """`pid` if it is still the agent of `instance_id`."""
        if not pid:
            return None
        args = _cmdline(pid)
        if "agent" in args and "--instance-id" in args and instance_id in args:
            return pid
        return None

    @property
    def alive(self) -> bool:
        return bool(_cmdline(self._pid))

    @property
    def exit_code(self) -> int | None:
        return None if self.alive else -1

    @property
    def pid(self) -> int | None:
        return self._pid

    async def _poll(self) -> None:
        while self.alive:
            await asyncio.sleep(2.0)
        self._on_exit()

    async def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_TIMEOUT
        while self.alive and loop.time() < deadline:
            await asyncio.sleep(0.1)
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
        self._watch.cancel()

    async def power_off(self) -> None:
        await self.stop()


class SimulatedAgent:
    def __init__(self, instance: SimulatedInstance, *, on_exit: Callable[[], None]) -> None:
        self.instance = instance
        self._task = asyncio.create_task(instance.run(), name=f"simulated {instance.config.instance_id}")
        self._task.add_done_callback(lambda _: on_exit())

    @property
    def alive(self) -> bool:
        return not self._task.done()

    @property
    def exit_code(self) -> int | None:
        if not self._task.done():
            return None
        if self.instance.deregistered:
            return DEREGISTERED_EXIT
        return 0 if self._task.cancelled() or self._task.exception() is None else 1

    @property
    def pid(self) -> int | None:
        return None

    async def stop(self) -> None:
        self._task.cancel()
        # asyncio.wait: the agent's own end (cancelled, or an error) is not ours to raise, while a
        # cancellation of the caller still is.
        await asyncio.wait([self._task])

    async def power_off(self) -> None:
        if self.alive:
            await self.instance.power_off()
        await self.stop()


class LocalHost:
    """The containers and cgroup of real instances on this machine (Docker is opened on first use)."""

    def __init__(self) -> None:
        self._runtime: DockerRuntime | None = None

    def _docker(self) -> DockerRuntime:
        if self._runtime is None:
            self._runtime = DockerRuntime.from_env()
        return self._runtime

    async def close(self) -> None:
        if self._runtime is not None:
            await self._runtime.close()
            self._runtime = None

    async def stop_containers(self, instance_id: str, *, timeout: float = 10.0) -> None:
        docker = self._docker()
        containers = await docker.list(labels={"dockyard.agent": instance_id})
        await asyncio.gather(
            *(docker.stop(c.id, timeout=timeout) for c in containers if c.running), return_exceptions=True
        )

    async def remove_containers(self, instance_id: str) -> None:
        docker = self._docker()
        containers = await docker.list(labels={"dockyard.agent": instance_id})
        await asyncio.gather(*(docker.remove(c.id, force=True) for c in containers), return_exceptions=True)
        Envelope(instance_id, cpu_units=0, memory_mib=0).remove()
