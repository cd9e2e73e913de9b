"""Applying what agents observe to task documents.

Only agents write `lastStatus`, container states, exit codes and health (the control plane writes
`desiredStatus`). Reports are idempotent and monotonic: a status never moves backwards, so a late
or repeated report cannot undo a newer one. The transition to STOPPED releases what the task held
(instance resources, its private IP lease) in the same commit.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.core.arns import parse_arn
from dockyard.core.clock import Clock, on_clock
from dockyard.scheduler import release
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.instance_resources import demand_from_record, remaining, with_remaining
from dockyard.services.ecs.networking import lease_key
from dockyard.services.ecs.resources import CONTAINER_INSTANCE, TASK
from dockyard.services.ecs.task_documents import status_rank
from dockyard.services.ecs.task_launch import task_labels
from dockyard.store import Conflict, Delete, Key, Put, Write

__all__ = ["apply_report", "task_key", "task_health"]

_CONTAINER_RANK = {"PENDING": 0, "RUNNING": 1, "STOPPED": 2}
_ATTEMPTS = 8


def task_key(task_arn: str) -> Key | None:
    parsed = parse_arn(task_arn)
    if parsed is None or parsed.service != "ecs" or parsed.resource_type != "task":
        return None
    parts = parsed.resource_path.split("/")
    if len(parts) != 2:
        return None
    return Key(parsed.account_id, parsed.region, TASK, "/".join(parts))


def task_health(task: dict[str, Any]) -> str:
    """UNHEALTHY > UNKNOWN > HEALTHY over essential containers that have a health check."""
    definitions = {
        c["name"]: c
        for c in task.get("dockyard", {}).get("taskDefinition", {}).get("containerDefinitions", [])
    }
    statuses = [
        c.get("healthStatus", "UNKNOWN")
        for c in task.get("containers", [])
        if definitions.get(c["name"], {}).get("essential", True)
        and definitions.get(c["name"], {}).get("healthCheck")
    ]
    if not statuses:
        return "UNKNOWN"
    if "UNHEALTHY" in statuses:
        return "UNHEALTHY"
    if "UNKNOWN" in statuses:
        return "UNKNOWN"
    return "HEALTHY"


def _merge_container(container: dict[str, Any], report: dict[str, Any]) -> None:
    status = report.get("lastStatus")
    if status and _CONTAINER_RANK.get(status, 0) >= _CONTAINER_RANK.get(
        container.get("lastStatus", "PENDING"), 0
    ):
        container["lastStatus"] = status
    for name in ("runtimeId", "imageDigest", "networkBindings", "reason", "healthStatus"):
        if report.get(name) is not None:
            container[name] = report[name]
    if report.get("exitCode") is not None:
        container["exitCode"] = report["exitCode"]


def _merge(task: dict[str, Any], report: dict[str, Any], now: float) -> bool:
    before = copy.deepcopy(task)
    status = report.get("lastStatus")
    current = task.get("lastStatus", "PROVISIONING")
    if status and status_rank(status) > status_rank(current):
        task["lastStatus"] = status
        if (
            status_rank(status) >= status_rank("PENDING")
            and "pullStartedAt" not in task
            and report.get("pullStartedAt")
        ):
            task["pullStartedAt"] = report["pullStartedAt"]
        if "startedAt" not in task and (report.get("startedAt") or status == "RUNNING"):
            task["startedAt"] = report.get("startedAt") or now
        if status_rank(status) >= status_rank("STOPPING") and "stoppingAt" not in task:
            task["stoppingAt"] = now
        if status == "STOPPED":
            task["stoppedAt"] = now
            task["executionStoppedAt"] = report.get("executionStoppedAt") or now
            final = task.get("dockyard", {}).get("stopCodeOnStop")
            if final:  # a Fargate Spot interruption: TerminationNotice, then SpotInterruption
                task["stopCode"] = final
            elif "stopCode" not in task:
                task["stopCode"] = report.get("stopCode") or (
                    "EssentialContainerExited" if "startedAt" in task else "TaskFailedToStart"
                )
    for name in ("pullStartedAt", "pullStoppedAt"):
        if report.get(name) is not None and name not in task:
            task[name] = report[name]
    if report.get("executionStoppedAt") and "executionStoppedAt" not in task:
        task["executionStoppedAt"] = report["executionStoppedAt"]
    if report.get("stopCode") and task.get("desiredStatus") == "RUNNING":
        task["desiredStatus"] = "STOPPED"
        task["stopCode"] = report["stopCode"]
        if report.get("stoppedReason"):
            task["stoppedReason"] = report["stoppedReason"]
    if task.get("lastStatus") == "STOPPED":
        task["desiredStatus"] = "STOPPED"
        if "stoppedReason" not in task and report.get("stoppedReason"):
            task["stoppedReason"] = report["stoppedReason"]
    by_name = {c["name"]: c for c in task.get("containers", [])}
    for item in report.get("containers", []):
        container = by_name.get(item.get("name", ""))
        if container is not None:
            _merge_container(container, item)
    for attachment in task.get("attachments", []):
        rank = status_rank(task["lastStatus"])
        if task["lastStatus"] == "STOPPED":
            attachment["status"] = "DELETED"
        elif rank >= status_rank("DEPROVISIONING"):
            attachment["status"] = "DETACHING"
        elif rank >= status_rank("PENDING"):
            attachment["status"] = "ATTACHED"
    task["healthStatus"] = task_health(task)
    return task != before


_REPORTED_TIMES = ("pullStartedAt", "pullStoppedAt", "startedAt", "executionStoppedAt")


def _on_server_clock(clock: Clock, report: dict[str, Any]) -> dict[str, Any]:
    """The report with the agent's (wall-clock) timestamps on the server's time line, which
    runs faster with `--time-scale`: a task then starts after it was created, as it does."""
    times = {
        name: on_clock(clock, float(value))
        for name in _REPORTED_TIMES
        if isinstance(value := report.get(name), int | float) and not isinstance(value, bool)
    }
    return {**report, **times} if times else report


async def apply_report(ecs: Ecs, report: dict[str, Any]) -> bool:
    """Merge one TaskReport (see docs/agent-protocol.md); False when the task is unknown."""
    key = task_key(str(report.get("taskArn", "")))
    if key is None:
        return False
    report = _on_server_clock(ecs.clock, report)
    for attempt in range(_ATTEMPTS):
        current = await ecs.store.get(key)
        if current is None:
            return False
        task = copy.deepcopy(current.value)
        was_stopped = task.get("lastStatus") == "STOPPED"
        if not _merge(task, report, ecs.clock.now()):
            return True
        task["version"] = int(task.get("version", 1)) + 1
        writes: list[Write] = [Put(key, task, expected_revision=current.revision, labels=task_labels(task))]
        if task.get("lastStatus") == "STOPPED" and not was_stopped:
            writes += await _releases(ecs, key, task)
        try:
            await ecs.store.commit(writes)
            return True
        except Conflict:
            if attempt == _ATTEMPTS - 1:
                raise
    return False


async def _releases(ecs: Ecs, key: Key, task: dict[str, Any]) -> list[Write]:
    writes: list[Write] = []
    internal = task.get("dockyard", {})
    network = internal.get("network")
    if network:
        writes.append(Delete(lease_key(network["privateIpv4Address"])))
    instance_arn = task.get("containerInstanceArn")
    reserved = internal.get("reserved")
    if instance_arn and reserved:
        instance_key = Key(
            key.account_id, key.region, CONTAINER_INSTANCE, "/".join(instance_arn.split("/")[-2:])
        )
        instance = await ecs.store.get(instance_key)
        if instance is not None and instance.value.get("status") != "INACTIVE":
            freed = release(remaining(instance.value), demand_from_record(reserved))
            writes.append(
                Put(instance_key, with_remaining(instance.value, freed), expected_revision=instance.revision)
            )
    return writes
