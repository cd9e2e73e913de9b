"""A task's network on the host: its pause container and its dynamic host ports.

- The pause container holds the namespaces the task's containers join: the awsvpc network
  namespace with the task's own address on the VPC network (as the ENI does on ECS), and the
  pid/ipc namespaces of `pidMode`/`ipcMode` "task". It is created before the task's containers and
  removed once they have stopped (the DEPROVISIONING step of an awsvpc task).
- Dynamic host ports of `bridge` tasks come from the agent's `HostPortAllocator`; they are kept in
  the task's record so a restarted agent reuses them, and a containerPortRange holds a block.

Everything is idempotent: a restarted agent keeps a running pause container and its ports.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping

from dockyard.agent.plan import HostContext, TaskPlan, TaskSpecError
from dockyard.agent.ports import HostPortAllocator, HostPortUnavailable
from dockyard.agent.runner_config import RunnerConfig
from dockyard.agent.runtime.protocol import ContainerNotFound, ContainerRuntime, RuntimeError_
from dockyard.agent.specs import pause_spec
from dockyard.agent.state import TaskRecord

__all__ = ["TaskNetwork"]

log = logging.getLogger(__name__)


def _record_key(container: str, port: int, protocol: str) -> str:
    return f"{container}/{port}/{protocol}"


class TaskNetwork:
    def __init__(
        self,
        plan: TaskPlan,
        record: TaskRecord,
        runtime: ContainerRuntime,
        *,
        host: HostContext,
        pause_image: str,
        docker_network: str,
        labels: Mapping[str, str],
        ports: HostPortAllocator | None,
        save_state: Callable[[], None],
    ) -> None:
        self.plan = plan
        self.record = record
        self.runtime = runtime
        self.host = host
        self.pause_image = pause_image
        self.docker_network = docker_network
        self.labels = labels
        self.ports = ports
        self.save_state = save_state

    @classmethod
    def for_runner(cls, plan: TaskPlan, record: TaskRecord, config: RunnerConfig) -> TaskNetwork:
        return cls(
            plan,
            record,
            config.runtime,
            host=config.host,
            pause_image=config.pause_image,
            docker_network=config.vpc_network,
            labels=config.agent_label,
            ports=config.ports,
            save_state=config.save_state,
        )

    async def ensure_pause(self) -> str | None:
        """The running pause container's id (created and started when missing); None when the
        task needs none. Raises `TaskSpecError` (ResourceInitializationError)."""
        if self.plan.pause_name is None:
            return None
        try:
            if self.record.pause_id:
                with contextlib.suppress(ContainerNotFound):
                    state = await self.runtime.inspect(self.record.pause_id)
                    if state.running:
                        return self.record.pause_id
                    await self.runtime.remove(self.record.pause_id, force=True)
            spec = pause_spec(
                self.plan,
                self.host,
                image=self.pause_image,
                docker_network=self.docker_network,
                extra_labels=self.labels,
            )
            pause_id = await self.runtime.create(spec)
            self.record.pause_id = pause_id
            self.save_state()
            await self.runtime.start(pause_id)
        except RuntimeError_ as exc:
            raise TaskSpecError(f"failed to configure the task network interface: {exc}") from exc
        return pause_id

    def allocate_ports(self) -> dict[tuple[int, str], int]:
        """Host ports for the task's bridge ports (`PortPlan.key` -> first host port): static ones
        as defined, dynamic ones from the allocator or the record. Raises `TaskSpecError`."""
        allocated: dict[tuple[int, str], int] = {}
        for container in self.plan.containers:
            for port in container.ports:
                key = _record_key(container.name, port.container_port, port.protocol)
                if port.host_port is not None:
                    allocated[port.key] = port.host_port
                elif key in self.record.host_ports:
                    first = allocated[port.key] = self.record.host_ports[key]
                    if self.ports is not None:
                        self.ports.mark_used(range(first, first + port.count), protocol=port.protocol)
                elif self.ports is not None:
                    try:
                        first, _last = self.ports.allocate_range(port.count, port.protocol)
                    except HostPortUnavailable as exc:
                        raise TaskSpecError(str(exc)) from exc
                    allocated[port.key] = self.record.host_ports[key] = first
        return allocated

    async def release(self) -> None:
        """Remove the pause container and give the dynamic host ports back (every port of a range)."""
        if self.record.pause_id:
            try:
                await self.runtime.remove(self.record.pause_id, force=True)
                self.record.pause_id = None
            except ContainerNotFound:
                self.record.pause_id = None
            except RuntimeError_ as exc:
                log.warning("removing the pause container of %s failed: %s", self.plan.task_arn, exc)
        counts = {
            _record_key(c.name, p.container_port, p.protocol): p.count
            for c in self.plan.containers
            for p in c.ports
        }
        if self.ports is not None:
            for key, first in self.record.host_ports.items():
                protocol = key.rsplit("/", 1)[-1]
                for port in range(first, first + counts.get(key, 1)):
                    self.ports.release(port, protocol=protocol)
        self.record.host_ports.clear()
        self.save_state()
