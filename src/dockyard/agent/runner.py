"""One task on one host, from work item to cleanup: the agent's task runner.

```
plan ─> adopt containers recorded before a restart ─> PENDING: read secrets, pull the images still needed
     ─> volumes (Fargate: ephemeral storage), network (pause container, host ports)
     ─> start each container once its dependsOn conditions hold ─> RUNNING
     ─> watch: exits, health, the desired status ─> STOPPING: stop in reverse dependency order
     ─> awsvpc: DEPROVISIONING while the pause container is released ─> STOPPED (delivered)
     ─> after the cleanup wait: remove containers, volumes, storage
```
An essential container that cannot be created, started or have its dependencies met fails the
task (`TaskFailedToStart`, with the error in ECS's words); a non-essential one only stops itself,
as an exiting non-essential container does. An essential container exiting stops the task with
`EssentialContainerExited`. Everything the runner creates is recorded in the agent's state file
first, and its last report is kept there, so a restarted agent re-attaches (adopting running
containers, reporting those that exited meanwhile) instead of starting over. Cancelling `run()`
(agent shutdown) leaves the containers running.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from dockyard.agent.dependencies import DependencyFailed, Interrupted, wait_for_dependencies
from dockyard.agent.ecr_auth import ecr_auth
from dockyard.agent.metadata_host import container_endpoint_id
from dockyard.agent.plan import TaskPlan, TaskSpecError
from dockyard.agent.planner import plan_task
from dockyard.agent.runner_config import ReportSink, RunnerConfig
from dockyard.agent.runner_steps import (
    OOM_REASON,
    PullFailed,
    mark_exited,
    pull_images,
    remove_task,
    restore_status,
    run_all,
)
from dockyard.agent.runtime.protocol import ContainerNotFound, ContainerSpec, ContainerState, RuntimeError_
from dockyard.agent.secrets import TaskSecrets, resolve_task_secrets
from dockyard.agent.signal import Signal
from dockyard.agent.specs import container_spec, network_bindings
from dockyard.agent.state import TaskRecord
from dockyard.agent.stopping import stop_in_order
from dockyard.agent.task_cgroup import task_envelope
from dockyard.agent.task_logs import TaskLogs
from dockyard.agent.task_network import TaskNetwork
from dockyard.agent.task_status import HEALTH, ContainerStatus, TaskStatus
from dockyard.agent.timers import wait_until
from dockyard.agent.volumes import TaskVolumes

__all__ = ["OOM_REASON", "ReportSink", "RunnerConfig", "TaskRunner"]

log = logging.getLogger(__name__)

#: What ECS reports for a container that never started because its dependencies failed (SIGTERM's).
_NEVER_STARTED_EXIT = 143
_WATCH_RETRY = 1.0


class _Stop(Exception):
    def __init__(self, code: str | None = None, reason: str | None = None) -> None:
        super().__init__(reason or code or "stop")
        self.code = code
        self.reason = reason


@dataclass
class _Launch:
    """What the containers of a task are created with, once provisioned."""

    volume_sources: dict[str, str]
    pause_id: str | None
    host_ports: dict[tuple[int, str], int]


class TaskRunner:
    def __init__(self, item: dict[str, Any], record: TaskRecord, config: RunnerConfig) -> None:
        self.item = item
        self.record = record
        self.config = config
        self.plan: TaskPlan | None = None
        self.volumes: TaskVolumes | None = None
        self.network: TaskNetwork | None = None
        self.status = TaskStatus(task_arn=item["taskArn"], containers={})
        self.finished = asyncio.Event()
        self._wake = Signal()
        self._forgotten = False
        self._started_at: dict[str, float] = {}  # container name -> epoch it started, for startTimeout
        self._watchers: list[asyncio.Task[None]] = []
        self._secrets = TaskSecrets()  # resolved secrets: in memory only, never saved or reported
        self._host = config.host  # with the task's own cgroup parent once it has one (task_cgroup.py)
        self._logs = TaskLogs(None, config)  # awslogs shipping (task_logs)

    # -- signals from the agent ---------------------------------------------------------------

    @property
    def task_arn(self) -> str:
        return str(self.item["taskArn"])

    def update(self, item: dict[str, Any]) -> None:
        self.item = self.record.item = item
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

    def ephemeral_storage_metrics(self) -> tuple[int, int] | None:
        """(Utilized, Reserved) MiB of a Fargate task's ephemeral storage (task metadata v4)."""
        return self.volumes.storage_metrics() if self.volumes is not None else None

    # -- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            try:
                self.plan = plan_task(self.item, self.config.host)
                self.status.containers = {
                    c.name: ContainerStatus(c.name, c.essential) for c in self.plan.containers
                }
                restore_status(self.status, self.record.report)
                self._logs = TaskLogs(self.plan, self.config)
                self.volumes = TaskVolumes.for_runner(self.plan, self.item, self.config)
                self.network = TaskNetwork.for_runner(self.plan, self.record, self.config)
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
            except RuntimeError_ as exc:  # the engine failed where no step expected it
                log.warning("task %s: container engine error: %s", self.task_arn, exc)
                self._fail("TaskFailedToStart", f"ResourceInitializationError: {exc}")
            await self._shutdown()
            await self._cleanup()
        finally:
            for watcher in self._watchers:
                watcher.cancel()
            self._logs.close()
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

    def _stop_requested(self) -> bool:
        return self._forgotten or self.item.get("desiredStatus") == "STOPPED"

    def _should_stop(self) -> bool:
        return self.status.stop_code is not None or self._stop_requested() or self._essential_exited()

    def _essential_exited(self) -> bool:
        return any(c.essential and c.stopped for c in self.status.containers.values())

    def _check_stop(self) -> None:
        if self._essential_exited():
            raise _Stop("EssentialContainerExited", "Essential container in task exited")
        if self.status.stop_code is not None or self._stop_requested():
            raise _Stop()

    async def _launch(self) -> None:
        assert self.plan is not None and self.volumes is not None
        clock = self.config.clock
        self._check_stop()
        await self._adopt()
        self._check_stop()
        if self.status.last_status == "PROVISIONING":
            self.status.last_status = "PENDING"
        to_create = [c for c in self.plan.containers if not self.status.containers[c.name].created]
        if to_create:
            self.status.pull_started_at = self.status.pull_started_at or clock.now()
        self._report()
        self._secrets = await resolve_task_secrets(  # SecretsUnavailable is a TaskSpecError
            [c.definition for c in to_create], self.config.aws, self.plan.region, sleep=clock.sleep
        )
        auth = self._secrets.auth({c.name: c.image for c in to_create})
        try:
            # Images in the control plane's ECR pull with a GetAuthorizationToken token.
            auth.update(
                await ecr_auth({c.image for c in to_create}, self.config.aws, self.plan.region, known=auth)
            )
            digests = await pull_images(
                {c.image for c in to_create}, self.config.runtime, self.config.pull_behavior, auth=auth
            )
        except PullFailed as exc:
            for container in to_create:
                if container.image == exc.image:
                    self.status.containers[container.name].reason = exc.reason
            raise _Stop("TaskFailedToStart", exc.reason) from exc
        if to_create:
            self.status.pull_stopped_at = self.status.pull_stopped_at or clock.now()
        for container in to_create:
            self.status.containers[container.name].image_digest = digests.get(container.image)
        self._check_stop()
        sources = await self.volumes.provision()
        self.record.volumes.update(sources)
        assert self.network is not None
        pause_id = await self.network.ensure_pause()
        host_ports = self.network.allocate_ports()
        envelope = task_envelope(self.plan, self.config.host)  # task-level cpu/memory: hard limits
        if envelope is not None and envelope.apply():
            self._host = dataclasses.replace(self.config.host, cgroup_parent=envelope.cgroup_parent)
        self.config.save_state()
        launch = _Launch(sources, pause_id, host_ports)
        await run_all(self._start_one(c.name, launch) for c in self.plan.containers)
        self._check_stop()
        self.status.last_status = "RUNNING"
        self.status.started_at = self.status.started_at or clock.now()
        self._report()

    async def _adopt(self) -> None:
        """Take over the containers recorded before a restart: running ones are watched again,
        exited ones reported, created-but-not-started ones started later like new ones."""
        for name, container_id in self.record.containers.items():
            status = self.status.containers.get(name)
            if status is None or status.stopped:
                continue
            try:
                state = await self.config.runtime.inspect(container_id)
            except ContainerNotFound:
                mark_exited(status, None, False, "container removed", started=status.started)
                continue
            except RuntimeError_ as exc:
                raise _Stop("TaskFailedToStart", f"CannotInspectContainerError: {exc}") from exc
            status.runtime_id, status.created = state.id, True
            if state.running or state.started_at is not None:
                self._attach(name, state)

    async def _start_one(self, name: str, launch: _Launch) -> None:
        assert self.plan is not None
        runtime = self.config.runtime
        status = self.status.containers[name]
        if status.started or status.stopped:
            return
        try:
            await wait_for_dependencies(
                self.plan.container(name),
                self.plan,
                self.status,
                self._wake,
                self.config.clock,
                started_at=self._started_at,
                stop=self._should_stop,
            )
        except Interrupted:
            self._check_stop()
            raise _Stop() from None
        except DependencyFailed as exc:
            self._container_failed(name, exc.reason, exit_code=_NEVER_STARTED_EXIT)
            return
        container_id = status.runtime_id if status.created else None
        if container_id is None:
            try:
                container_id = await runtime.create(self._spec(name, launch))
            except (RuntimeError_, ValueError) as exc:
                self._container_failed(name, f"CannotCreateContainerError: {exc}")
                return
            self.record.containers[name] = container_id
            self.config.save_state()
            status.runtime_id, status.created = container_id, True
            self._wake.notify()
        failure = await self._logs.prepare(name, container_id)  # awslogs: group and stream, as ECS at start
        if failure is not None:
            self._container_failed(name, failure)
            return
        try:
            await runtime.start(container_id)
            state = await runtime.inspect(container_id)
        except RuntimeError_ as exc:
            self._container_failed(name, f"CannotStartContainerError: {exc}")
            return
        self._attach(name, state)
        self._report()

    def _spec(self, name: str, launch: _Launch) -> ContainerSpec:
        assert self.plan is not None
        spec = container_spec(
            self.plan,
            self.plan.container(name),
            host=self._host,
            host_ports=launch.host_ports,
            volume_sources=launch.volume_sources,
            container_ids=self.record.containers,
            pause_id=launch.pause_id,
            endpoint_id=container_endpoint_id(self.record.endpoint_id, name),
            extra_labels=self.config.agent_label,
            docker_network=self.config.vpc_network,
        )
        return self._logs.spec(name, self._secrets.apply(spec, name))

    def _container_failed(self, name: str, reason: str, *, exit_code: int | None = None) -> None:
        """A container that cannot run: stopped with `reason`; the task fails if it is essential."""
        status = self.status.containers[name]
        status.reason, status.stopped = reason, True
        if exit_code is not None:
            status.exit_code = exit_code
        self._wake.notify()
        if status.essential:
            self._fail("TaskFailedToStart", reason)
            raise _Stop()
        log.info("non-essential container %s of %s stopped: %s", name, self.task_arn, reason)
        self._report()

    def _attach(self, name: str, state: ContainerState) -> None:
        """Record a created container's inspected state; watch it while it runs."""
        assert self.plan is not None
        status = self.status.containers[name]
        status.runtime_id, status.created = state.id, True
        status.network_bindings = network_bindings(state, self.plan.container(name), self.config.host)
        if state.health is not None:
            status.health = HEALTH.get(state.health, "UNKNOWN")
        if state.started_at is not None:
            status.started = True
            self._started_at[name] = state.started_at
            self._logs.follow(name, state.id)
        if state.running:
            self._watchers.append(asyncio.create_task(self._watch(name, state.id), name=f"watch {name}"))
        elif state.started_at is not None:
            mark_exited(status, state.exit_code, state.oom_killed, state.error)
        self._wake.notify()

    async def _watch(self, name: str, container_id: str) -> None:
        status = self.status.containers[name]
        while not status.stopped:
            try:
                result = await self.config.runtime.wait(container_id)
            except ContainerNotFound:
                mark_exited(status, None, False, "container removed")
            except Exception as exc:  # the engine restarting, a dropped connection: wait again
                log.warning("waiting for container %s of %s failed (%s); retrying", name, self.task_arn, exc)
                await self.config.clock.sleep(_WATCH_RETRY)
            else:
                mark_exited(status, result.exit_code, result.oom_killed, result.error)
        self._report()
        self._wake.notify()

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
        if self.status.last_status != "PROVISIONING" or self.record.containers:
            self.status.last_status = "STOPPING"
            self._report()
        if self.plan is not None:
            running = {
                n: i for n, i in self.record.containers.items() if not self.status.containers[n].stopped
            }
            await stop_in_order(self.plan, running, self.config.runtime, stopped=self._stopped)
            await self._logs.drain()  # awslogs: what the containers wrote is sent before STOPPED
        deprovisioning = None
        if self.plan is not None and self.plan.network_mode == "awsvpc":
            self.status.last_status = "DEPROVISIONING"
            deprovisioning = self._report()
        if self.network is not None:
            await self.network.release()
        if deprovisioning is not None:
            await self._delivered(deprovisioning)
        self.status.last_status = "STOPPED"
        self.status.execution_stopped_at = clock.now()
        future = self._report()
        if future is not None:
            await self._delivered(future)
        self.record.stopped_at = clock.now()
        self.config.save_state()

    def _stopped(self, name: str, state: ContainerState | None) -> None:
        status = self.status.containers[name]
        if state is None or state.running:
            status.stopped = True  # never created, gone, or would not stop: stopped as far as ECS knows
            return
        mark_exited(
            status, state.exit_code, state.oom_killed, state.error, started=state.started_at is not None
        )
        self._report()

    async def _delivered(self, future: asyncio.Future[None]) -> None:
        """Wait until the control plane has the report (or the task is forgotten)."""
        future.add_done_callback(lambda _: self._wake.notify())
        await wait_until(self._wake, lambda: future.done() or self._forgotten)

    async def _cleanup(self) -> None:
        """Keep stopped containers for the cleanup wait (as ECS does), then remove what the task made."""
        clock = self.config.clock
        if not self._forgotten:
            stopped_at = self.record.stopped_at or clock.now()
            delay = stopped_at + self.config.cleanup_wait - clock.now()
            if delay > 0:
                await wait_until(self._wake, lambda: self._forgotten, clock=clock, timeout=delay)
        await remove_task(self.config.runtime, self.record, self.volumes)
        envelope = task_envelope(self.plan, self.config.host) if self.plan is not None else None
        if envelope is not None:
            envelope.remove()
        self._logs.forget(self.record.containers.values())
