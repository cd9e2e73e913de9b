"""Service events: the `events[]` of a Service, with ECS's message texts (reference §4.7).

At most 100 events are kept, newest first. A message equal to the newest one is not posted
again until 6 hours have passed (ECS suppresses a repeated message until its cause changes or
6 hours pass: a different event in between is a change of cause).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dockyard.core.ids import IdGenerator
from dockyard.scheduler import NO_INSTANCES

__all__ = [
    "MAX_EVENTS",
    "REPEAT_AFTER",
    "post",
    "steady_state",
    "started",
    "stopped",
    "deployment_completed",
    "deployment_failed",
    "rolling_back",
    "failed_health_checks",
    "unable_to_place",
    "deployment_blocked",
    "start_impaired",
    "daemon_constraint_violated",
    "registered_targets",
    "deregistered_targets",
    "unhealthy_in_target_group",
]

MAX_EVENTS = 100
REPEAT_AFTER = 6 * 3600.0
_TROUBLESHOOTING = "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
_CLOSEST = {
    "RESOURCE:CPU": "has insufficient CPU units available.",
    "RESOURCE:MEMORY": "has insufficient memory available.",
    "RESOURCE:PORTS": "is already using a port required by your task.",
    "RESOURCE:PORTS_UDP": "is already using a port required by your task.",
    "ATTRIBUTE": "is missing an attribute required by your task.",
}


def post(service: dict[str, Any], message: str, *, ids: IdGenerator, now: float) -> bool:
    """Add an event unless it repeats the newest one within 6 hours; True when added."""
    events: list[dict[str, Any]] = service.setdefault("events", [])
    if events and events[0].get("message") == message and now - float(events[0]["createdAt"]) < REPEAT_AFTER:
        return False
    events.insert(0, {"id": ids.uuid(), "createdAt": now, "message": message})
    del events[MAX_EVENTS:]
    return True


def _tasks(task_ids: Sequence[str]) -> str:
    return " ".join(f"(task {t})" for t in task_ids)


def steady_state(name: str) -> str:
    return f"(service {name}) has reached a steady state."


def started(name: str, task_ids: Sequence[str]) -> str:
    return f"(service {name}) has started {len(task_ids)} tasks: {_tasks(task_ids)}."


def stopped(name: str, task_ids: Sequence[str]) -> str:
    return f"(service {name}) has stopped {len(task_ids)} running tasks: {_tasks(task_ids)}."


def deployment_completed(name: str, deployment_id: str) -> str:
    return f"(service {name}) (deployment {deployment_id}) deployment completed."


def deployment_failed(name: str, deployment_id: str, why: str) -> str:
    return f"(service {name}) (deployment {deployment_id}) deployment failed: {why}."


def rolling_back(name: str, deployment_id: str) -> str:
    return f"(service {name}) rolling back to deployment {deployment_id}."


def failed_health_checks(name: str, task_id: str) -> str:
    return f"(service {name}) (task {task_id}) failed container health checks."


def unable_to_place(name: str, reason: str, closest: str | None) -> str:
    """Why a task could not be placed; `closest` is the nearest container instance's ARN."""
    head = (
        f"(service {name}) was unable to place a task because no container instance met all of its "
        "requirements."
    )
    if closest is None or reason == NO_INSTANCES:
        return f"{head} Reason: {NO_INSTANCES} {_TROUBLESHOOTING}"
    instance = closest.rsplit("/", 1)[-1]
    what = _CLOSEST.get(reason, f'encountered error "{reason}".')
    return f"{head} The closest matching (container-instance {instance}) {what} {_TROUBLESHOOTING}"


def deployment_blocked(name: str) -> str:
    return (
        f"(service {name}) was unable to stop or start tasks during a deployment because of the service "
        "deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
    )


def start_impaired(name: str) -> str:
    return f"(service {name}) is unable to consistently start tasks successfully."


def daemon_constraint_violated(name: str, task_ids: Sequence[str]) -> str:
    return (
        f"(service {name}) stopped {len(task_ids)} tasks that no longer satisfy the service's placement "
        f"constraints: {_tasks(task_ids)}."
    )


def registered_targets(name: str, count: int, target_group: str) -> str:
    return f"(service {name}) registered {count} targets in (target-group {target_group})"


def deregistered_targets(name: str, count: int, target_group: str) -> str:
    return f"(service {name}) deregistered {count} targets in (target-group {target_group})"


def unhealthy_in_target_group(name: str, task_id: str, target_group: str, reason: str) -> str:
    return (
        f"(service {name}) (task {task_id}) is unhealthy in (target-group {target_group}) "
        f"due to (reason {reason})."
    )
