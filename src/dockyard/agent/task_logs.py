"""`TaskLogs`: the awslogs side of one task, for the task runner.

```
create   spec(): the container logs to json-file on the host (rotated like Docker's local cache,
         20 MB x 5), which the agent reads and ships; bad awslogs options fail the creation
start    prepare(): group and stream ready, else the container fails to start, in ECS's words:
           EC2       CannotStartContainerError: Error response from daemon: failed to initialize
                     logging driver: failed to create Cloudwatch log stream: <code>: <message>
           Fargate   ResourceInitializationError: failed to validate logger args: create stream
                     has been retried 1 times: failed to create Cloudwatch log stream: ... : exit status 1
running  follow(): a LogShipper per container (also for containers adopted after a restart)
stopping drain(): the shippers send what is left (bounded), before the task reports STOPPED
cleanup  forget(): their cursor files go with the containers
```
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from dockyard.agent.awslogs import AwslogsConfig, awslogs_config
from dockyard.agent.log_shipping import LogShipper, StreamUnavailable
from dockyard.agent.plan import TaskPlan
from dockyard.agent.runner_config import RunnerConfig
from dockyard.agent.runtime.protocol import ContainerSpec

__all__ = ["DRAIN_TIMEOUT", "LOCAL_CACHE", "TaskLogs"]

log = logging.getLogger(__name__)

#: How long a stopping task waits for its logs to be sent.
DRAIN_TIMEOUT = 15.0
#: The json-file options of an awslogs container (Docker's dual-logging cache sizes).
LOCAL_CACHE = {"max-size": "20m", "max-file": "5"}


class TaskLogs:
    def __init__(self, plan: TaskPlan | None, config: RunnerConfig) -> None:
        self._plan = plan
        self._config = config
        self._shippers: dict[str, LogShipper] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def _settings(self, name: str, container_id: str) -> AwslogsConfig | None:
        if self._plan is None:
            return None
        container = self._plan.container(name)
        if container.log_driver != "awslogs":
            return None
        return awslogs_config(
            container.log_options,
            container_name=name,
            task_id=self._plan.task_id,
            container_id=container_id,
            region=self._plan.region,
        )

    def spec(self, name: str, spec: ContainerSpec) -> ContainerSpec:
        """The container's spec with awslogs swapped for the local json-file the agent reads;
        AwslogsOptionError (a ValueError) when the options are unusable."""
        if self._settings(name, "") is None:
            return spec
        return replace(spec, log_driver="json-file", log_options=dict(LOCAL_CACHE))

    def _cursor_path(self, container_id: str) -> Path:
        return Path(self._config.host.data_dir) / "awslogs" / f"{container_id}.json"

    def _shipper(self, name: str, container_id: str) -> LogShipper | None:
        shipper = self._shippers.get(name)
        if shipper is not None and shipper.container_id == container_id:
            return shipper
        settings = self._settings(name, container_id)
        if settings is None or self._config.aws is None:
            return None
        shipper = LogShipper(
            settings,
            container_id,
            runtime=self._config.runtime,
            aws=self._config.aws,
            clock=self._config.clock,
            cursor_path=self._cursor_path(container_id),
        )
        self._shippers[name] = shipper
        return shipper

    async def prepare(self, name: str, container_id: str) -> str | None:
        """Make the container's group and stream ready; the reason it cannot start, if any."""
        shipper = self._shipper(name, container_id)
        if shipper is None:
            return None
        try:
            await shipper.prepare()
        except StreamUnavailable as exc:
            assert self._plan is not None
            if self._plan.launch_type == "FARGATE":
                return (
                    "ResourceInitializationError: failed to validate logger args: create stream has been "
                    f"retried 1 times: {exc} : exit status 1"
                )
            return (
                "CannotStartContainerError: Error response from daemon: "
                f"failed to initialize logging driver: {exc}"
            )
        return None

    def follow(self, name: str, container_id: str) -> None:
        """Ship the output of a started container (once)."""
        running = self._tasks.get(name)
        if running is not None and not running.done():
            return
        shipper = self._shipper(name, container_id)
        if shipper is None:
            return

        async def ship() -> None:
            try:
                await shipper.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("shipping the logs of container %s failed", name)

        self._tasks[name] = asyncio.create_task(ship(), name=f"awslogs {name}")

    async def drain(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Wait (at most `timeout` seconds) for the shippers to send what is left."""
        pending = [task for task in self._tasks.values() if not task.done()]
        if not pending:
            return
        sleeper = asyncio.ensure_future(self._config.clock.sleep(timeout))
        try:
            while not sleeper.done() and any(not task.done() for task in pending):
                await asyncio.wait({*pending, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
        for name, task in self._tasks.items():
            if not task.done():
                log.warning("logs of container %s not all sent after %.0fs", name, timeout)

    def close(self) -> None:
        """Stop shipping (agent shutdown: the cursors stay for the next start)."""
        for task in self._tasks.values():
            task.cancel()

    def forget(self, container_ids: Iterable[str]) -> None:
        """Remove the cursor files of the task's containers (they are gone)."""
        for container_id in {*container_ids, *(s.container_id for s in self._shippers.values())}:
            with contextlib.suppress(OSError):
                self._cursor_path(container_id).unlink()
