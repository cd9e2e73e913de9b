"""Stopping a task's containers in reverse dependency order (reference §3.5).

Each container is stopped once every container that depends on it (dependsOn, links,
volumesFrom) has stopped; independent containers stop in parallel. A stop is Docker's: the
image's stop signal (SIGTERM by default), then SIGKILL after the container's `stopTimeout`.

    web ──dependsOn──> db          stop web, wait for it, then stop db
    logs (nothing depends on it)   stopped at once, alongside web
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

from dockyard.agent.plan import TaskPlan
from dockyard.agent.runtime.protocol import ContainerRuntime, ContainerState, RuntimeError_

__all__ = ["stop_in_order"]

log = logging.getLogger(__name__)


async def stop_in_order(
    plan: TaskPlan,
    running: Mapping[str, str],
    runtime: ContainerRuntime,
    *,
    stopped: Callable[[str, ContainerState | None], None],
) -> None:
    """Stop the containers in `running` (name -> runtime id), dependents first.

    `stopped(name, state)` is called for every container of the plan once it is stopped, with its
    inspected state (None when it has no container or it is gone). Errors from the engine do not
    stop the sequence: a container that cannot be stopped (or is gone: `ContainerNotFound` is a
    `RuntimeError_`) is reported with what could be inspected."""
    dependents: dict[str, list[str]] = {c.name: [] for c in plan.containers}
    for container in plan.containers:
        for dependency in container.depends_on:
            dependents.setdefault(dependency.container, []).append(container.name)
    tasks: dict[str, asyncio.Task[None]] = {}

    async def stop_one(name: str) -> None:
        waiting = [tasks[other] for other in dependents.get(name, []) if other in tasks]
        if waiting:
            await asyncio.wait(waiting)  # never raises: a failed dependent still lets this one stop
        container_id = running.get(name)
        if container_id is None:
            stopped(name, None)
            return
        with contextlib.suppress(RuntimeError_):
            await runtime.stop(container_id, timeout=plan.container(name).stop_timeout)
        state = None
        with contextlib.suppress(RuntimeError_):
            state = await runtime.inspect(container_id)
        stopped(name, state)

    for name in plan.stop_order:
        tasks[name] = asyncio.create_task(stop_one(name), name=f"stop {name}")
    try:
        results = await asyncio.gather(*tasks.values(), return_exceptions=True)
    finally:
        for task in tasks.values():
            task.cancel()
    for name, result in zip(tasks, results, strict=True):
        if isinstance(result, BaseException):
            log.error("stopping container %s of %s failed", name, plan.task_arn, exc_info=result)
