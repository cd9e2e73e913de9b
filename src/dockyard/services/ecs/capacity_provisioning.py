"""Tasks waiting in PROVISIONING for capacity: placed as soon as an instance can take them.

A level-triggered controller over clusters (reference §7.4). A task of an Auto Scaling group
provider with managed scaling that fit nowhere was created PROVISIONING with no instance and a
`dockyard.waiting` record (capacity_launch.py); its `waiting` label names its cluster.

```
key (a cluster) <- a waiting task changed | an instance of a cluster with waiting tasks changed
                   | a task left an instance there (resources freed) | every provisioning_retry
reconcile(cluster):
  waiting tasks, oldest first
    desired STOPPED (StopTask, the service scheduler)   -> STOPPED now (no agent ever had it)
    waited past provisioning_timeout                    -> STOPPED, TaskFailedToStart
    else: placed on an instance of its provider (the scheduler's checks and strategies, each
          placement seeing the ones before it)
  one commit: the placed tasks (instance, reserved resources, task events) and the instances'
  remainingResources, compare-and-swap on each; the agents' polls then hand the tasks out
```
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.controllers.reconciler import DONE, Requeue
from dockyard.core.errors import TemporaryError
from dockyard.scheduler import NO_INSTANCES, Placement, PlanContext, place
from dockyard.services.ecs.capacity_launch import waiting_demand, waiting_strategies
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.ecs_events import task_event_put
from dockyard.services.ecs.instance_resources import demand_record, with_remaining
from dockyard.services.ecs.resources import CLUSTER, CONTAINER_INSTANCE, TASK
from dockyard.services.ecs.task_launch import plan_context, task_labels
from dockyard.services.ecs.task_state import apply_report
from dockyard.store import Change, Conflict, Key, Put, Versioned, Write

__all__ = ["ProvisioningController"]

Scope = tuple[str, str, str]  # account, region, cluster


class ProvisioningController:
    name = "ecs-capacity-provisioning"
    kind = CLUSTER

    def __init__(self, ecs: Ecs) -> None:
        self._ecs = ecs
        self._waiting: set[Scope] = set()  # clusters with waiting tasks (as of their last pass)

    def triggers(self, change: Change) -> Iterable[Key]:
        k = change.key
        if k.kind == TASK:
            clusters = set(change.label_values("waiting"))
            cluster = change.previous_labels.get("cluster")
            if cluster and "node" in change.previous_labels and "node" not in change.labels:
                if (k.account_id, k.region, cluster) in self._waiting:
                    clusters.add(cluster)  # a task left its instance: room may have appeared
            return [Key(k.account_id, k.region, CLUSTER, c) for c in clusters]
        if k.kind == CONTAINER_INSTANCE:
            cluster = k.name.split("/", 1)[0]
            if (k.account_id, k.region, cluster) in self._waiting:
                return [Key(k.account_id, k.region, CLUSTER, cluster)]
        return []

    async def reconcile(self, key: Key) -> Requeue:
        ecs = self._ecs
        scope = (key.account_id, key.region, key.name)
        waiting = await ecs.store.find(
            TASK, "waiting", key.name, account_id=key.account_id, region=key.region
        )
        if not waiting:
            self._waiting.discard(scope)
            return DONE
        self._waiting.add(scope)
        settings = ecs.settings.capacity
        now = ecs.clock.now()
        waiting.sort(key=lambda v: (float(v.value.get("createdAt", 0)), v.key.name))
        pending: list[Versioned] = []
        for task in waiting:
            record = task.value["dockyard"]["waiting"]
            if task.value.get("desiredStatus") == "STOPPED":
                await _stop(ecs, task.value, None, None)
            elif now - float(record.get("since", now)) >= settings.provisioning_timeout:
                reason = str(record.get("reason") or "")
                await _stop(ecs, task.value, "TaskFailedToStart", f"TaskFailedToStart: {_short(reason)}")
            else:
                pending.append(task)
        if pending:
            await self._place(key, pending)
        deadlines = [
            float(t.value["dockyard"]["waiting"].get("since", now)) + settings.provisioning_timeout - now
            for t in pending
        ]
        return Requeue(after=max(0.0, min([settings.provisioning_retry, *deadlines]))) if pending else DONE

    async def _place(self, key: Key, tasks: list[Versioned]) -> None:
        ecs = self._ecs
        ctx = RequestContext(key.account_id, key.region, "", "ecs.amazonaws.com", "ecs", "PlaceWaitingTasks")
        plans: dict[tuple[str, str | None], tuple[dict[str, Versioned], PlanContext]] = {}
        writes: list[Write] = []
        touched: dict[str, tuple[Versioned, PlanContext]] = {}
        now = ecs.clock.now()
        for versioned in tasks:
            task = versioned.value
            provider = task["dockyard"]["waiting"].get("provider")
            launch_type = str(task.get("launchType", "EC2"))
            if (launch_type, provider) not in plans:
                plans[(launch_type, provider)] = await plan_context(
                    ecs, ctx, key.name, launch_type, provider=provider
                )
            instances, plan = plans[(launch_type, provider)]
            demand = waiting_demand(task)
            result = place(plan, demand, waiting_strategies(task))
            if not isinstance(result, Placement):
                continue
            instance = instances[result.arn]
            touched[result.arn] = (instance, plan)
            placed = _placed(task, instance.value, demand_record(demand.resources))
            writes.append(
                Put(versioned.key, placed, expected_revision=versioned.revision, labels=task_labels(placed))
            )
            event = task_event_put(ecs.ids, placed, now)
            if event is not None:
                writes.append(event)
        for arn, (instance, plan) in touched.items():
            node = plan.node(arn)
            assert node is not None
            writes.append(
                Put(
                    instance.key,
                    with_remaining(instance.value, node.remaining()),
                    expected_revision=instance.revision,
                )
            )
        if not writes:
            return
        try:
            await ecs.store.commit(writes)
        except Conflict as exc:
            raise TemporaryError("a waiting task or an instance changed while placing", delay=0.0) from exc


def _placed(task: dict[str, Any], instance: dict[str, Any], reserved: dict[str, Any]) -> dict[str, Any]:
    """The task on its instance: what `new_task` writes for a task placed at once."""
    placed = copy.deepcopy(task)
    arn = instance["containerInstanceArn"]
    placed["containerInstanceArn"] = arn
    if "availabilityZone" not in placed:
        for attribute in instance.get("attributes", []):
            if attribute.get("name") == "ecs.availability-zone":
                placed["availabilityZone"] = attribute.get("value")
    internal = placed["dockyard"]
    internal.pop("waiting", None)
    internal["node"] = arn
    internal["reserved"] = reserved
    placed["version"] = int(placed.get("version", 1)) + 1
    return placed


def _short(reason: str) -> str:
    """The stoppedReason word for why nothing could take the task."""
    return "NO ACTIVE INSTANCES" if reason in ("", NO_INSTANCES) else reason


async def _stop(ecs: Ecs, task: dict[str, Any], code: str | None, reason: str | None) -> None:
    """A task no agent ever had: STOPPED by the control plane, as ECS records it."""
    report: dict[str, Any] = {
        "taskArn": task["taskArn"],
        "lastStatus": "STOPPED",
        "containers": [{"name": c["name"], "lastStatus": "STOPPED"} for c in task.get("containers", [])],
    }
    if code is not None:
        report["stopCode"] = code
    if reason is not None:
        report["stoppedReason"] = reason
    await apply_report(ecs, report)
