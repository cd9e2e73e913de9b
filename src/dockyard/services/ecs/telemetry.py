"""ECS's CloudWatch metrics from what agents measure (integrations.md §4.1).

Agents sample their running tasks' containers (CPU units and MiB in use, from Docker's
statistics) and post them to the agent channel (`POST /_dockyard/agent/v1/telemetry`, see
docs/agent-protocol.md). Each sample becomes one datapoint of the `AWS/ECS` metrics ECS
publishes, so a minute's samples aggregate as CloudWatch's do (SampleCount > 1):

```
CPUUtilization    = CPU units used  * 100 / CPU units reserved   {ClusterName, ServiceName}
MemoryUtilization = MiB used        * 100 / MiB reserved         {ClusterName}  (every task)
CPUReservation    = CPU units reserved by tasks * 100 / CPU units registered   {ClusterName}
MemoryReservation = MiB reserved by tasks       * 100 / MiB registered         (EC2 instances)
```

Reserved is the task-level `cpu` / `memory` when the task has one, else the sum of its
containers' `cpu` and `memory` (or `memoryReservation`); a task reserving no CPU has no CPU
utilization, as on ECS. Metrics go out through `Peers.metrics`, the in-process publishing seam of
the CloudWatch service (`dockyard.services.cloudwatch.Metrics`); ECS never touches its storage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dockyard.core.arns import parse_arn
from dockyard.services.ecs.deps import Ecs, MetricSink
from dockyard.services.ecs.resources import CONTAINER_INSTANCE, TASK
from dockyard.store import Key

__all__ = ["NAMESPACE", "record_samples", "reserved_of"]

NAMESPACE = "AWS/ECS"


def reserved_of(task: Mapping[str, Any]) -> tuple[float, float]:
    """CPU units and MiB the task reserves."""
    containers = task.get("dockyard", {}).get("taskDefinition", {}).get("containerDefinitions", [])
    overrides = {o.get("name"): o for o in task.get("overrides", {}).get("containerOverrides", [])}
    cpu = float(task.get("cpu") or 0) or float(
        sum(int(overrides.get(c["name"], {}).get("cpu") or c.get("cpu") or 0) for c in containers)
    )
    memory = float(task.get("memory") or 0) or float(
        sum(
            int(
                overrides.get(c["name"], {}).get("memory")
                or c.get("memory")
                or overrides.get(c["name"], {}).get("memoryReservation")
                or c.get("memoryReservation")
                or 0
            )
            for c in containers
        )
    )
    return cpu, memory


def _task_key(arn: str) -> Key | None:
    parsed = parse_arn(arn)
    if parsed is None or parsed.service != "ecs" or not parsed.resource.startswith("task/"):
        return None
    return Key(parsed.account_id, parsed.region, TASK, parsed.resource.split("/", 1)[1])


async def record_samples(ecs: Ecs, node: str, samples: Sequence[Mapping[str, Any]]) -> int:
    """Publish one agent report's samples; returns how many belonged to a known running task."""
    sink = ecs.peers.metrics
    if sink is None:
        return 0
    used = 0
    clusters: set[tuple[str, str, str]] = set()
    for sample in samples:
        key = _task_key(str(sample.get("taskArn", "")))
        if key is None:
            continue
        found = await ecs.store.get(key)
        if found is None or found.value.get("lastStatus") != "RUNNING":
            continue
        task = found.value
        if task.get("containerInstanceArn", node) != node:
            continue  # only the agent that runs a task speaks for it
        cluster = str(task["clusterArn"]).rsplit("/", 1)[-1]
        group = str(task.get("group") or "")
        when = ecs.clock.now()  # on arrival: the server's clock, whatever the agent's says
        dimension_sets: list[dict[str, str]] = [{"ClusterName": cluster}]
        if group.startswith("service:"):
            dimension_sets.append({"ClusterName": cluster, "ServiceName": group.split(":", 1)[1]})
        cpu_reserved, memory_reserved = reserved_of(task)
        for dimensions in dimension_sets:
            if cpu_reserved > 0:
                cpu = 100.0 * float(sample.get("cpu", 0.0)) / cpu_reserved
                await sink.put(
                    key.account_id, key.region, NAMESPACE, "CPUUtilization", dimensions,
                    value=cpu, unit="Percent", timestamp=when,
                )  # fmt: skip
            if memory_reserved > 0:
                memory = 100.0 * float(sample.get("memory", 0.0)) / memory_reserved
                await sink.put(
                    key.account_id, key.region, NAMESPACE, "MemoryUtilization", dimensions,
                    value=memory, unit="Percent", timestamp=when,
                )  # fmt: skip
        if task.get("containerInstanceArn"):
            clusters.add((key.account_id, key.region, cluster))
        used += 1
    for account_id, region, cluster in clusters:
        await _reservation(ecs, sink, account_id, region, cluster)
    return used


async def _reservation(ecs: Ecs, sink: MetricSink, account_id: str, region: str, cluster: str) -> None:
    """CPUReservation and MemoryReservation of the cluster's ACTIVE and DRAINING instances."""
    instances = await ecs.store.list(
        CONTAINER_INSTANCE, account_id=account_id, region=region, prefix=f"{cluster}/"
    )
    totals = {"CPU": [0.0, 0.0], "MEMORY": [0.0, 0.0]}  # registered, remaining
    for versioned in instances:
        instance = versioned.value
        if instance.get("status") not in ("ACTIVE", "DRAINING"):
            continue
        for field, slot in (("registeredResources", 0), ("remainingResources", 1)):
            for resource in instance.get(field, []):
                if resource.get("name") in totals:
                    totals[resource["name"]][slot] += float(resource.get("integerValue") or 0)
    now = ecs.clock.now()
    for resource, name in (("CPU", "CPUReservation"), ("MEMORY", "MemoryReservation")):
        registered, remaining = totals[resource]
        if registered > 0:
            value = 100.0 * (registered - remaining) / registered
            await sink.put(
                account_id, region, NAMESPACE, name, {"ClusterName": cluster},
                value=value, unit="Percent", timestamp=now,
            )  # fmt: skip
