"""What the runner knows about a task's containers, and the TaskReport snapshot made from it.

`TaskStatus` is mutated only by the runner's coroutine; `snapshot()` renders the TaskReport of
docs/agent-protocol.md that the reporter delivers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ContainerStatus", "TaskStatus", "HEALTH"]

HEALTH = {None: "UNKNOWN", "starting": "UNKNOWN", "healthy": "HEALTHY", "unhealthy": "UNHEALTHY"}


@dataclass
class ContainerStatus:
    name: str
    essential: bool
    runtime_id: str | None = None
    created: bool = False
    started: bool = False  # reached RUNNING at least once
    stopped: bool = False
    exit_code: int | None = None
    reason: str | None = None
    health: str = "UNKNOWN"
    image_digest: str | None = None
    network_bindings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last_status(self) -> str:
        if self.stopped:
            return "STOPPED"
        return "RUNNING" if self.started else "PENDING"

    def report(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "name": self.name,
            "lastStatus": self.last_status,
            "healthStatus": self.health,
            "networkBindings": self.network_bindings,
        }
        if self.runtime_id:
            item["runtimeId"] = self.runtime_id
        if self.exit_code is not None:
            item["exitCode"] = self.exit_code
        if self.reason:
            item["reason"] = self.reason[:1024]
        if self.image_digest:
            item["imageDigest"] = self.image_digest
        return item


@dataclass
class TaskStatus:
    task_arn: str
    containers: dict[str, ContainerStatus]
    last_status: str = "PROVISIONING"
    pull_started_at: float | None = None
    pull_stopped_at: float | None = None
    started_at: float | None = None
    execution_stopped_at: float | None = None
    stop_code: str | None = None
    stopped_reason: str | None = None

    def snapshot(self) -> dict[str, Any]:
        report: dict[str, Any] = {
            "taskArn": self.task_arn,
            "lastStatus": self.last_status,
            "containers": [c.report() for c in self.containers.values()],
        }
        for name, value in (
            ("pullStartedAt", self.pull_started_at),
            ("pullStoppedAt", self.pull_stopped_at),
            ("startedAt", self.started_at),
            ("executionStoppedAt", self.execution_stopped_at),
            ("stopCode", self.stop_code),
            ("stoppedReason", self.stopped_reason),
        ):
            if value is not None:
                report[name] = value
        return report
