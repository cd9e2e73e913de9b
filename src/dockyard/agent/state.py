"""The agent's local state file: who it is and which containers belong to which task.

A restarted agent reads it to keep its container instance identity and to re-attach to the
containers it started instead of killing them. Writes are atomic (temporary file + rename).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["AgentState", "TaskRecord"]


@dataclass
class TaskRecord:
    task_arn: str
    containers: dict[str, str] = field(default_factory=dict)  # container name -> runtime id
    pause_id: str | None = None
    host_ports: dict[str, int] = field(default_factory=dict)  # "<container>/<port>/<proto>" -> host port
    volumes: dict[str, str] = field(default_factory=dict)  # task volume name -> host path or docker volume
    endpoint_id: str = ""
    stopped_at: float | None = None  # when the agent reported it STOPPED
    report: dict[str, Any] = field(default_factory=dict)  # the last report sent
    item: dict[str, Any] = field(default_factory=dict)  # the last work item received


@dataclass
class AgentState:
    path: Path
    container_instance_arn: str | None = None
    cluster: str | None = None
    host_address: str | None = None
    ec2_instance_id: str | None = None
    metadata_port: int | None = None  # kept across restarts: running containers know this port
    tasks: dict[str, TaskRecord] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> AgentState:
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text())
        tasks = {arn: TaskRecord(**record) for arn, record in data.pop("tasks", {}).items()}
        return cls(path, tasks=tasks, **data)

    def save(self) -> None:
        data = asdict(self)
        data.pop("path")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)
