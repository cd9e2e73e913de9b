"""Fargate Spot interruptions, on demand (reference §10.1, §3.2).

AWS reclaims Spot capacity when it needs it; Dockyard has no such pressure, so a user triggers
the reclaim (`POST /_dockyard/fargate-spot/interrupt`, `dockyard fargate-spot interrupt`) to see
what their tasks and services do. An interruption is what ECS does:

```
the warning   desiredStatus STOPPED while lastStatus is still RUNNING, stopCode TerminationNotice,
              stoppedReason "Your Spot Task was interrupted.", an ECS Task State Change event
the stop      the Fargate pool's agent stops the containers as for any stop: SIGTERM (or the
              image's stop signal), SIGKILL after the container's stopTimeout
the end       STOPPED with stopCode SpotInterruption; a service starts a replacement (its
              strategy splits it like any other new task)
```
Only tasks of the FARGATE_SPOT capacity provider that are not being stopped already can be
interrupted.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.ecs_events import task_event_put
from dockyard.services.ecs.resources import TASK
from dockyard.services.ecs.task_launch import task_labels
from dockyard.services.ecs.task_state import task_key
from dockyard.store import Conflict, Put, Versioned, Write

__all__ = ["SPOT_PROVIDER", "WARNING_REASON", "SpotError", "interrupt_tasks", "spot_tasks"]

SPOT_PROVIDER = "FARGATE_SPOT"
WARNING_REASON = "Your Spot Task was interrupted."
_ATTEMPTS = 8


class SpotError(Exception):
    """A request that cannot be carried out: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _interruptible(task: dict[str, Any]) -> bool:
    return (
        task.get("capacityProviderName") == SPOT_PROVIDER
        and task.get("desiredStatus") == "RUNNING"
        and task.get("lastStatus") != "STOPPED"
    )


async def spot_tasks(ecs: Ecs, *, account_id: str, region: str, cluster: str, count: int) -> list[str]:
    """Up to `count` interruptible tasks of the cluster: RUNNING ones first, oldest first."""
    found = [
        v.value
        for v in await ecs.store.list(TASK, account_id=account_id, region=region, prefix=f"{cluster}/")
        if _interruptible(v.value)
    ]
    found.sort(key=lambda t: (t.get("lastStatus") != "RUNNING", float(t.get("createdAt", 0)), t["taskArn"]))
    return [str(t["taskArn"]) for t in found[:count]]


async def interrupt_tasks(ecs: Ecs, task_arns: Sequence[str]) -> list[dict[str, Any]]:
    """Give each task its Spot interruption warning; returns the tasks as they are now."""
    interrupted = []
    for arn in task_arns:
        key = task_key(arn)
        if key is None:
            raise SpotError(400, f"{arn} is not a task ARN.")
        for _ in range(_ATTEMPTS):
            current = await ecs.store.get(key)
            if current is None:
                raise SpotError(404, f"The task {arn} was not found.")
            if not _interruptible(current.value):
                if current.value.get("capacityProviderName") != SPOT_PROVIDER:
                    raise SpotError(
                        400, f"The task {arn} does not run on the FARGATE_SPOT capacity provider."
                    )
                raise SpotError(409, f"The task {arn} is already stopping or stopped.")
            try:
                interrupted.append(await _warn(ecs, current))
                break
            except Conflict:
                continue
    return interrupted


async def _warn(ecs: Ecs, current: Versioned) -> dict[str, Any]:
    task = copy.deepcopy(current.value)
    task["desiredStatus"] = "STOPPED"
    task["stopCode"] = "TerminationNotice"
    task["stoppedReason"] = WARNING_REASON
    task["version"] = int(task.get("version", 1)) + 1
    # What the task's stop code becomes once it has stopped (task_state.py).
    task.setdefault("dockyard", {})["stopCodeOnStop"] = "SpotInterruption"
    writes: list[Write] = [
        Put(current.key, task, expected_revision=current.revision, labels=task_labels(task))
    ]
    event = task_event_put(ecs.ids, task, ecs.clock.now())
    if event is not None:
        writes.append(event)
    await ecs.store.commit(writes)
    return task
