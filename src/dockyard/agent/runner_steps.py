"""Steps of the task runner that stand on their own: image pulls and restoring status.

- `pull_images`: pull what a task needs, as `ECS_IMAGE_PULL_BEHAVIOR` says (default: pull, fall
  back to a cached image; always: pull or fail; once / prefer-cached: use a cached image as is),
  with the registry credentials the task's repositoryCredentials resolved to.
- `mark_exited`: a container's status once it has exited (exit code, OOM reason).
- `run_all`: run coroutines side by side; the first failure cancels the others and is raised.
- `restore_status`: the runner's view of a task rebuilt from its last report, after a restart.
- `remove_task`: remove what a task made (containers, pause container, volumes) after cleanup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any

from dockyard.agent.runtime.protocol import ContainerRuntime, ImageNotFound, RegistryAuth, RuntimeError_
from dockyard.agent.state import TaskRecord
from dockyard.agent.task_status import ContainerStatus, TaskStatus
from dockyard.agent.volumes import TaskVolumes

__all__ = [
    "OOM_REASON",
    "PullFailed",
    "mark_exited",
    "pull_images",
    "remove_task",
    "restore_status",
    "run_all",
]

log = logging.getLogger(__name__)

OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"


class PullFailed(Exception):
    """An image could not be pulled; `reason` is the containers' and the task's stoppedReason."""

    def __init__(self, image: str, error: Exception) -> None:
        self.image = image
        self.reason = f"CannotPullContainerError: {error}"
        super().__init__(self.reason)


async def pull_images(
    images: Iterable[str],
    runtime: ContainerRuntime,
    behavior: str,
    *,
    auth: Mapping[str, RegistryAuth] | None = None,
) -> dict[str, str | None]:
    """Pull `images` concurrently (with `auth[image]`, the registry credentials of the task's
    repositoryCredentials, when given); image -> digest (or image id). Raises `PullFailed`."""
    wanted = sorted(set(images))
    credentials = auth or {}
    results = await asyncio.gather(
        *(_pull(i, runtime, behavior, credentials.get(i)) for i in wanted), return_exceptions=True
    )
    digests: dict[str, str | None] = {}
    for image, result in zip(wanted, results, strict=True):
        if isinstance(result, asyncio.CancelledError):
            raise result
        if isinstance(result, Exception):
            raise PullFailed(image, result)
        if isinstance(result, BaseException):
            raise result
        digests[image] = result
    return digests


async def _pull(
    image: str, runtime: ContainerRuntime, behavior: str, auth: RegistryAuth | None
) -> str | None:
    cached = await runtime.image_id(image)
    if cached is not None and behavior in ("once", "prefer-cached"):
        return await runtime.image_digest(image) or cached
    try:
        await runtime.pull(image, auth=auth)
    except (ImageNotFound, RuntimeError_) as exc:
        if cached is None or behavior == "always":
            raise
        log.debug("pull of %s failed (%s); using the cached image", image, exc)
    return await runtime.image_digest(image) or await runtime.image_id(image)


async def run_all(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run `coroutines` concurrently until all return; the first exception cancels the rest and is
    raised (as does cancelling the caller)."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task.done() and not task.cancelled() and (error := task.exception()) is not None:
                raise error
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def mark_exited(
    status: ContainerStatus, code: int | None, oom: bool, error: str, *, started: bool = True
) -> None:
    """Record that a container has stopped (once): its exit code when it ever ran, and why."""
    if status.stopped:
        return
    status.stopped = True
    if started:  # a container that never ran has no exit code
        status.started = True
        status.exit_code = code
    if oom:
        status.reason = OOM_REASON
    elif error and not status.reason:
        status.reason = error


_TASK_FIELDS = {
    "lastStatus": "last_status",
    "pullStartedAt": "pull_started_at",
    "pullStoppedAt": "pull_stopped_at",
    "startedAt": "started_at",
    "executionStoppedAt": "execution_stopped_at",
    "stopCode": "stop_code",
    "stoppedReason": "stopped_reason",
}


def restore_status(status: TaskStatus, report: Mapping[str, Any]) -> None:
    """Fill a fresh `TaskStatus` from the last report sent before a restart (no-op when empty):
    timestamps, the agent's own stop decision, and what was known of each container. What the
    containers are doing now is then read from the engine."""
    for name, attribute in _TASK_FIELDS.items():
        if report.get(name) is not None:
            setattr(status, attribute, report[name])
    for item in report.get("containers", []):
        container = status.containers.get(str(item.get("name")))
        if container is None:
            continue
        last = item.get("lastStatus")
        container.runtime_id = item.get("runtimeId") or container.runtime_id
        container.created = bool(container.runtime_id)
        container.started = last == "RUNNING" or (last == "STOPPED" and item.get("exitCode") is not None)
        container.stopped = last == "STOPPED"
        container.exit_code = item.get("exitCode")
        container.reason = item.get("reason")
        container.health = str(item.get("healthStatus") or "UNKNOWN")
        container.image_digest = item.get("imageDigest")
        container.network_bindings = list(item.get("networkBindings") or [])


async def remove_task(runtime: ContainerRuntime, record: TaskRecord, volumes: TaskVolumes | None) -> None:
    """Remove a finished task's containers, its pause container and its volumes (best effort)."""
    for container_id in record.containers.values():
        with contextlib.suppress(RuntimeError_):
            await runtime.remove(container_id, force=True)
    if record.pause_id:
        with contextlib.suppress(RuntimeError_):
            await runtime.remove(record.pause_id, force=True)
    if volumes is not None:
        await volumes.cleanup()
