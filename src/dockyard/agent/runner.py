"""One task on one host, from work item to cleanup: the agent's task runner.

```
plan ─> PENDING: pull images ─> provision volumes and network (pause container, host ports)
     ─> start containers as their dependsOn conditions are met ─> RUNNING
     ─> watch: exits, health, the desired status ─> STOPPING: stop in reverse dependency order
     ─> release network ─> STOPPED (reported) ─> after the cleanup wait: remove containers, volumes
```
Failures before RUNNING stop the task with `TaskFailedToStart` and the error in ECS's words
(`CannotPullContainerError: ...`); an essential container exiting stops it with
`EssentialContainerExited`. Everything the runner creates is recorded in the agent's state file
first, so a restarted agent re-attaches (running the same steps, which skip what exists) instead
of starting over. Cancelling `run()` (agent shutdown) leaves the containers running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.agent.dependencies import DependencyFailed, Interrupted, wait_for_dependencies
from dockyard.agent.metadata_host import container_endpoint_id
from dockyard.agent.plan import HostContext, TaskPlan, TaskSpecError
from dockyard.agent.planner import plan_task
from dockyard.agent.ports import HostPortAllocator, HostPortUnavailable
from dockyard.agent.reporter import Reporter
from dockyard.agent.runtime.protocol import ContainerNotFound, ContainerRuntime, ImageNotFound, RuntimeError_
from dockyard.agent.signal import Signal
from dockyard.agent.specs import container_spec, network_bindings, pause_spec
from dockyard.agent.state import TaskRecord
from dockyard.agent.task_status import HEALTH, ContainerStatus, TaskStatus
from dockyard.core.clock import Clock

__all__ = ["TaskRunner", "RunnerConfig"]

log = logging.getLogger(__name__)


class _Stop(Exception):
    def __init__(self, code: str | None = None, reason: str | None = None) -> None:
        super().__init__(reason or code or "stop")
        self.code = code
        self.reason = reason


@dataclass
class RunnerConfig:
    """What every runner of one agent shares."""

    host: HostContext
    runtime: ContainerRuntime
    reporter: Reporter
    clock: Clock
    save_state: Callable[[], None]
    pause_image: str
    ports: HostPortAllocator | None = None
    pull_behavior: str = "default"  # ECS_IMAGE_PULL_BEHAVIOR: default | always | once | prefer-cached
    cleanup_wait: float = 3 * 3600.0  # ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION
    agent_label: dict[str, str] = field(default_factory=dict)
    vpc_network: str = "dockyard-vpc"


class TaskRunner:
    def __init__(self, item: dict[str, Any], record: TaskRecord, config: RunnerConfig) -> None:
        self.item = item
        self.record = record
        self.config = config
        self.plan: TaskPlan | None = None
        self.status = TaskStatus(task_arn=item["taskArn"], containers={})
        self.finished = asyncio.Event()
        self._wake = Signal()
        self._forgotten = False
        self._watchers: list[asyncio.Task[None]] = []

    # -- signals from the agent ---------------------------------------------------------------

    @property
    def task_arn(self) -> str:
        return str(self.item["taskArn"])

    def update(self, item: dict[str, Any]) -> None:
        self.item = item
        self._wake.notify()

    def forget(self) -> None:
        """The control plane no longer knows this task: stop it and clean up without reporting."""
        self._forgotten = True
        self._wake.notify()

    def on_health(self, container_id: str, health: str | None) -> None:
        for container in self.status.containers.values():
            if container.runtime_id == container_id:
                value = HEALTH.get(health, "UNKNOWN")
                if container.health != value:
                    container.health = value
                    self._report()
                self._wake.notify()

    def _stop_requested(self) -> bool:
        return self._forgotten or self.item.get("desiredStatus") == "STOPPED"

    # -- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            try:
                self.plan = plan_task(self.item, self.config.host)
                self.status.containers = {
                    c.name: ContainerStatus(c.name, c.essential) for c in self.plan.containers
                }
                if self.record.stopped_at is None:
                    await self._launch()
                    await self._monitor()
                elif self.record.report:
                    # Stopped before a restart: make sure the control plane heard it (reports are idempotent).
                    self.config.reporter.submit(self.record.report)
            except TaskSpecError as exc:
                self._fail(exc.stop_code, exc.reason, container_reason=exc.reason)
            except _Stop as stop:
                if stop.code:
                    self._fail(stop.code, stop.reason)
            await self._shutdown()
            await self._cleanup()
        finally:
            for watcher in self._watchers:
                watcher.cancel()
            self.finished.set()

    def _fail(self, code: str, reason: str | None, *, container_reason: str | None = None) -> None:
        if self.status.stop_code is None:
            self.status.stop_code = code
            self.status.stopped_reason = reason
        if container_reason:
            for container in self.status.containers.values():
                if not container.started and container.reason is None:
                    container.reason = container_reason

    def _report(self) -> asyncio.Future[None] | None:
        if self._forgotten:
            return None
        self.record.report = self.status.snapshot()
        return self.config.reporter.submit(self.status.snapshot())

    def _check_stop(self) -> None:
        if self._stop_requested():
            raise _Stop()
        for container in self.status.containers.values():
            if container.essential and container.stopped:
                raise _Stop("EssentialContainerExited", "Essential container in task exited")

    async def _launch(self) -> None:
        assert self.plan is not None
        runtime, clock = self.config.runtime, self.config.clock
        self._check_stop()
        self.status.last_status = "PENDING"
        self.status.pull_started_at = self.status.pull_started_at or clock.now()
        self._report()
        digests = await self._pull_all()
        self.status.pull_stopped_at = self.status.pull_stopped_at or clock.now()
        for container in self.plan.containers:
            self.status.containers[container.name].image_digest = digests.get(container.image)
        self._check_stop()
        volume_sources = await self._provision_volumes()
        pause_id = await self._ensure_pause()
        host_ports = self._allocate_ports()
        self.config.save_state()

        async def start_one(name: str) -> None:
            assert self.plan is not None
            plan = self.plan.container(name)
            status = self.status.containers[name]
            try:
                await wait_for_dependencies(
                    plan, self.plan, self.status, self._wake, clock, stop=self._stop_requested
                )
            except Interrupted:
                raise _Stop() from None
            except DependencyFailed as exc:
                status.reason = exc.reason
                status.stopped = True
                self._wake.notify()
                raise _Stop("TaskFailedToStart", exc.reason) from exc
            existing = self.record.containers.get(name)
            state = None
            if existing:
                with contextlib.suppress(ContainerNotFound):
                    state = await runtime.inspect(existing)
            if state is None:
                spec = container_spec(
                    self.plan,
                    plan,
                    host=self.config.host,
                    host_ports=host_ports,
                    volume_sources=volume_sources,
                    container_ids=self.record.containers,
                    pause_id=pause_id,
                    endpoint_id=container_endpoint_id(self.record.endpoint_id, name),
                    extra_labels=self.config.agent_label,
                )
                try:
                    container_id = await runtime.create(spec)
                except RuntimeError_ as exc:
                    raise _Stop("TaskFailedToStart", f"CannotCreateContainerError: {exc}") from exc
                self.record.containers[name] = container_id
                self.config.save_state()
                status.runtime_id = container_id
                status.created = True
                self._wake.notify()
                try:
                    await runtime.start(container_id)
                except RuntimeError_ as exc:
                    status.reason = f"CannotStartContainerError: {exc}"
                    raise _Stop("TaskFailedToStart", status.reason) from exc
                state = await runtime.inspect(container_id)
            status.runtime_id = state.id
            status.created = True
            status.started = status.started or state.started_at is not None
            status.network_bindings = network_bindings(state, plan, self.config.host)
            if state.health is not None:
                status.health = HEALTH.get(state.health, "UNKNOWN")
            if state.running:
                self._watchers.append(asyncio.create_task(self._watch(name, state.id)))
            else:
                self._mark_exited(status, state.exit_code, state.oom_killed, state.error)
            self._wake.notify()
            self._report()

        starters = [asyncio.create_task(start_one(c.name)) for c in self.plan.containers]
        try:
            while True:
                done, _ = await asyncio.wait(starters, return_when=asyncio.FIRST_EXCEPTION, timeout=None)
                for task in done:
                    if task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
                if all(task.done() for task in starters):
                    break
        finally:
            for task in starters:
                task.cancel()
            for task in starters:
                with contextlib.suppress(BaseException):
                    await task
        self._check_stop()
        self.status.last_status = "RUNNING"
        self.status.started_at = self.status.started_at or clock.now()
        self._report()

    async def _pull_all(self) -> dict[str, str | None]:
        assert self.plan is not None
        images = sorted({c.image for c in self.plan.containers})
        results = await asyncio.gather(*(self._pull(image) for image in images), return_exceptions=True)
        digests: dict[str, str | None] = {}
        for image, result in zip(images, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                reason = f"CannotPullContainerError: {result}"
                for container in self.status.containers.values():
                    if self.plan.container(container.name).image == image:
                        container.reason = reason
                raise _Stop("TaskFailedToStart", reason)
            digests[image] = result
        return digests

    async def _pull(self, image: str) -> str | None:
        runtime = self.config.runtime
        behavior = self.config.pull_behavior
        cached = await runtime.image_id(image)
        if cached is not None and behavior in ("once", "prefer-cached"):
            return await runtime.image_digest(image) or cached
        try:
            await runtime.pull(image)
        except (ImageNotFound, RuntimeError_) as exc:
            if cached is None or behavior == "always":
                raise
            log.debug("pull of %s failed (%s); using the cached image", image, exc)
        return await runtime.image_digest(image) or await runtime.image_id(image)

    async def _provision_volumes(self) -> dict[str, str]:
        assert self.plan is not None
        runtime = self.config.runtime
        sources: dict[str, str] = {}
        for volume in self.plan.volumes:
            if volume.kind == "task-directory":
                Path(volume.source).mkdir(parents=True, exist_ok=True)
            elif volume.kind == "docker-volume":
                if not await runtime.volume_exists(volume.source):
                    if volume.scope == "shared" and not volume.autoprovision:
                        error = volume.missing_error()
                        raise _Stop(error.stop_code, error.reason)
                    await runtime.create_volume(
                        volume.source,
                        driver=volume.driver,
                        driver_opts=volume.driver_opts,
                        labels=volume.labels,
                    )
            sources[volume.name] = volume.source
            self.record.volumes[volume.name] = volume.source
        return sources

    async def _ensure_pause(self) -> str | None:
        assert self.plan is not None
        if self.plan.pause_name is None:
            return None
        runtime = self.config.runtime
        if self.record.pause_id:
            with contextlib.suppress(ContainerNotFound):
                state = await runtime.inspect(self.record.pause_id)
                if state.running:
                    return self.record.pause_id
                await runtime.remove(self.record.pause_id, force=True)
        spec = pause_spec(
            self.plan,
            self.config.host,
            image=self.config.pause_image,
            docker_network=self.config.vpc_network,
            extra_labels=self.config.agent_label,
        )
        try:
            pause_id = await runtime.create(spec)
            self.record.pause_id = pause_id
            self.config.save_state()
            await runtime.start(pause_id)
        except RuntimeError_ as exc:
            raise _Stop(
                "TaskFailedToStart",
                f"ResourceInitializationError: failed to configure the task network interface: {exc}",
            ) from exc
        return pause_id

    def _allocate_ports(self) -> dict[tuple[int, str], int]:
        assert self.plan is not None
        allocated: dict[tuple[int, str], int] = {}
        allocator = self.config.ports
        for container in self.plan.containers:
            for port in container.ports:
                record_key = f"{container.name}/{port.container_port}/{port.protocol}"
                if port.host_port is not None:
                    allocated[port.key] = port.host_port
                    continue
                if record_key in self.record.host_ports:
                    allocated[port.key] = self.record.host_ports[record_key]
                    continue
                if allocator is None:
                    continue
                try:
                    first, _last = allocator.allocate_range(port.count, port.protocol)
                except HostPortUnavailable as exc:
                    raise _Stop("TaskFailedToStart", f"ResourceInitializationError: {exc}") from exc
                allocated[port.key] = first
                self.record.host_ports[record_key] = first
        return allocated

    async def _watch(self, name: str, container_id: str) -> None:
        runtime = self.config.runtime
        try:
            exit_status = await runtime.wait(container_id)
        except ContainerNotFound:
            self._mark_exited(self.status.containers[name], None, False, "container removed")
            return
        status = self.status.containers[name]
        self._mark_exited(status, exit_status.exit_code, exit_status.oom_killed, exit_status.error)
        self._report()
        self._wake.notify()

    def _mark_exited(self, status: ContainerStatus, code: int | None, oom: bool, error: str) -> None:
        if status.stopped:
            return
        status.stopped = True
        status.started = True
        status.exit_code = code
        if oom:
            status.reason = "OutOfMemoryError: Container killed due to memory usage"
        elif error and not status.reason:
            status.reason = error

    async def _monitor(self) -> None:
        while True:
            generation = self._wake.generation
            self._check_stop()
            await self._wake.wait(generation)

    # -- stopping --------------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        clock = self.config.clock
        if self.record.stopped_at is not None:
            return
        if self.status.last_status != "PROVISIONING" or any(self.record.containers.values()):
            self.status.last_status = "STOPPING"
            self._report()
        await self._stop_containers()
        await self._release_network()
        self.status.last_status = "STOPPED"
        self.status.execution_stopped_at = clock.now()
        if self.status.stop_code is None and not self._stop_requested():
            self.status.stop_code = "EssentialContainerExited"
        future = self._report()
        if future is not None:
            await future
        self.record.stopped_at = clock.now()
        self.config.save_state()

    async def _stop_containers(self) -> None:
        assert self.plan is not None or not self.record.containers
        runtime = self.config.runtime
        if self.plan is None:
            return
        stopped: dict[str, asyncio.Task[None]] = {}
        dependents: dict[str, list[str]] = {c.name: [] for c in self.plan.containers}
        for container in self.plan.containers:
            for dep in container.depends_on:
                dependents.setdefault(dep.container, []).append(container.name)

        async def stop_one(name: str) -> None:
            for other in dependents.get(name, []):
                if other in stopped:
                    await stopped[other]
            container_id = self.record.containers.get(name)
            status = self.status.containers[name]
            if container_id is None:
                status.stopped = True
                return
            plan = self.plan.container(name) if self.plan else None
            timeout = plan.stop_timeout if plan else 30
            with contextlib.suppress(ContainerNotFound, RuntimeError_):
                await runtime.stop(container_id, timeout=timeout)
            with contextlib.suppress(ContainerNotFound):
                state = await runtime.inspect(container_id)
                self._mark_exited(status, state.exit_code, state.oom_killed, state.error)
            status.stopped = True

        for name in self.plan.stop_order:
            stopped[name] = asyncio.create_task(stop_one(name))
        await asyncio.gather(*stopped.values(), return_exceptions=True)

    async def _release_network(self) -> None:
        runtime = self.config.runtime
        if self.record.pause_id:
            with contextlib.suppress(ContainerNotFound, RuntimeError_):
                await runtime.remove(self.record.pause_id, force=True)
        allocator = self.config.ports
        if allocator is not None:
            for record_key, port in self.record.host_ports.items():
                allocator.release(port, protocol=record_key.rsplit("/", 1)[-1])

    async def _cleanup(self) -> None:
        """Keep stopped containers for the cleanup wait (as ECS does), then remove what the task made."""
        if not self._forgotten:
            stopped_at = self.record.stopped_at or self.config.clock.now()
            delay = stopped_at + self.config.cleanup_wait - self.config.clock.now()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait_forgotten(), timeout=delay)
        runtime = self.config.runtime
        for container_id in self.record.containers.values():
            with contextlib.suppress(ContainerNotFound, RuntimeError_):
                await runtime.remove(container_id, force=True)
        if self.plan is not None:
            for volume in self.plan.volumes:
                if not volume.task_scoped:
                    continue
                if volume.kind == "task-directory":
                    shutil.rmtree(volume.source, ignore_errors=True)
                else:
                    with contextlib.suppress(RuntimeError_):
                        await runtime.remove_volume(volume.source)

    async def _wait_forgotten(self) -> None:
        while not self._forgotten:
            generation = self._wake.generation
            if self._forgotten:
                return
            await self._wake.wait(generation)
