"""Container statistics for ECS's CloudWatch metrics: sample, sum per task, post.

Every `interval` seconds (20 s, as the ECS agent samples) the agent reads Docker's statistics
of each running container of its RUNNING tasks, turns them into CPU units and MiB in use, sums
them per task and posts them to the control plane:

```
POST /_dockyard/agent/v1/telemetry
{"node": <container instance ARN | "fargate">,
 "samples": [{"taskArn": ..., "cpu": <CPU units in use>, "memory": <MiB in use>}]}
```

CPU units in use = (container CPU time delta / host CPU time delta) x online CPUs x 1024, from
the two readings one non-streaming Docker stats call returns; memory in use = usage minus page
cache (`cache` on cgroup v1, `inactive_file` on v2), as `docker stats` shows it. The server turns
samples into `AWS/ECS` CPUUtilization and MemoryUtilization (services/ecs/telemetry.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from dockyard.agent.runner import TaskRunner
from dockyard.agent.runtime.protocol import ContainerNotFound, ContainerRuntime

__all__ = ["Telemetry", "cpu_units", "memory_mib"]

log = logging.getLogger(__name__)

MIB = 1024 * 1024
Post = Callable[[dict[str, Any]], Awaitable[object]]


def cpu_units(stats: Mapping[str, Any]) -> float:
    """CPU units (1024 per core) a container used between the two readings of `stats`."""
    now = stats.get("cpu_stats") or {}
    before = stats.get("precpu_stats") or {}
    used = float((now.get("cpu_usage") or {}).get("total_usage") or 0) - float(
        (before.get("cpu_usage") or {}).get("total_usage") or 0
    )
    system = float(now.get("system_cpu_usage") or 0) - float(before.get("system_cpu_usage") or 0)
    if used <= 0 or system <= 0 or not before.get("system_cpu_usage"):
        return 0.0
    cpus = int(now.get("online_cpus") or len((now.get("cpu_usage") or {}).get("percpu_usage") or []) or 1)
    return used / system * cpus * 1024.0


def memory_mib(stats: Mapping[str, Any]) -> float:
    """MiB in use: usage minus page cache (what `docker stats` shows)."""
    memory = stats.get("memory_stats") or {}
    usage = float(memory.get("usage") or 0)
    details = memory.get("stats") or {}
    cache = 0.0
    for name in ("inactive_file", "total_inactive_file", "cache"):  # cgroup v2, then v1
        if name in details:
            cache = float(details[name] or 0)
            break
    return max(0.0, usage - cache) / MIB


class Telemetry:
    def __init__(
        self,
        runtime: ContainerRuntime,
        runners: Callable[[], Iterable[TaskRunner]],
        post: Post,
        *,
        node: Callable[[], str],
        interval: float = 20.0,
    ) -> None:
        self._runtime = runtime
        self._runners = runners
        self._post = post
        self._node = node
        self.interval = interval

    async def sample(self) -> list[dict[str, Any]]:
        """One sample per RUNNING task with at least one running container."""
        jobs = []
        for runner in self._runners():
            if runner.status.last_status != "RUNNING":
                continue
            ids = [
                c.runtime_id
                for c in runner.status.containers.values()
                if c.runtime_id and c.started and not c.stopped
            ]
            if ids:
                jobs.append(self._task_sample(runner.task_arn, ids))
        return [s for s in await asyncio.gather(*jobs) if s is not None]

    async def _task_sample(self, task_arn: str, container_ids: list[str]) -> dict[str, Any] | None:
        readings = await asyncio.gather(*(self._stats(i) for i in container_ids))
        found = [r for r in readings if r is not None]
        if not found:
            return None
        return {
            "taskArn": task_arn,
            "cpu": sum(cpu_units(r) for r in found),
            "memory": sum(memory_mib(r) for r in found),
        }

    async def _stats(self, container_id: str) -> Mapping[str, Any] | None:
        try:
            return await self._runtime.stats(container_id)
        except ContainerNotFound:
            return None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                samples = await self.sample()
                if samples:
                    await self._post({"node": self._node(), "samples": samples})
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next round tries again
                log.warning("telemetry not sent: %s", exc)
