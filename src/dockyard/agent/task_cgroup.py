"""Task-level CPU and memory as hard limits (ecs.md §2: task size).

On Fargate a task's `cpu` and `memory` are what it gets, and on EC2 Linux the ECS agent enforces
them too when a task definition sets them: every container of the task runs under one cgroup
parent that carries the task's CPU quota (cpu / 1024 cores) and memory limit. Containers keep
their own container-level limits and shares inside it.

```
Fargate pool:  /dockyard/task-<task id>
EC2 instance:  /dockyard/<instance id>/task-<task id>      (inside the instance's envelope)
```
"""

from __future__ import annotations

from dockyard.agent.envelope import Envelope
from dockyard.agent.plan import HostContext, TaskPlan

__all__ = ["task_envelope"]

_PREFIX = "/dockyard/"


def task_envelope(plan: TaskPlan, host: HostContext) -> Envelope | None:
    """The task's own envelope, or None when it sets neither task-level cpu nor memory."""
    if not plan.cpu and not plan.memory:
        return None
    name = f"task-{plan.task_id}"
    if host.cgroup_parent:
        if not host.cgroup_parent.startswith(_PREFIX):
            return None  # an envelope Dockyard did not make: leave it as it is
        name = f"{host.cgroup_parent.removeprefix(_PREFIX)}/{name}"
    return Envelope(name, cpu_units=plan.cpu or 0, memory_mib=plan.memory or 0)
