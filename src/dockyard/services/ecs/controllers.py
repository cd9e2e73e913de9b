"""The ECS controllers the server runs.

- `StoppedTaskReaper`: a STOPPED task stays describable for `stopped_task_retention` seconds
  (ECS keeps them at least an hour), then its document is deleted.
- `AgentMonitor`: an instance whose agent has not polled for `agent_timeout` seconds shows
  `agentConnected: false` (and so receives no new placements) until it polls again.
- `DeregisteredInstanceTasks`: tasks left on a deregistered (INACTIVE) instance have no agent to
  report for them any more; they are recorded STOPPED (their containers are orphaned, as on ECS).
- `ServiceController` (service_controller.py): the service scheduler.
- `TaskEventRecorder`, `EventRetention` (ecs_events.py): EventBridge events, recorded and bounded.
- `CapacityProviderController` (capacity_controller.py): Auto Scaling group providers' managed
  scaling, termination protection and draining; `ProvisioningController`
  (capacity_provisioning.py): tasks waiting in PROVISIONING placed as capacity appears.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from dockyard.controllers.reconciler import DONE, Reconciler, Requeue
from dockyard.services.ecs.capacity_controller import CapacityProviderController
from dockyard.services.ecs.capacity_provisioning import ProvisioningController
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.ecs_events import EventRetention, TaskEventRecorder
from dockyard.services.ecs.resources import CONTAINER_INSTANCE, TASK
from dockyard.services.ecs.service_controller import ServiceController
from dockyard.services.ecs.task_state import apply_report
from dockyard.store import Change, Conflict, Key, Put

__all__ = ["ecs_controllers", "StoppedTaskReaper", "AgentMonitor", "DeregisteredInstanceTasks"]


class StoppedTaskReaper:
    name = "ecs-stopped-task-reaper"
    kind = TASK

    def __init__(self, ecs: Ecs) -> None:
        self._ecs = ecs

    def triggers(self, change: Change) -> Iterable[Key]:
        return [change.key] if change.key.kind == TASK and not change.deleted else []

    async def reconcile(self, key: Key) -> Requeue:
        current = await self._ecs.store.get(key)
        if current is None or current.value.get("lastStatus") != "STOPPED":
            return DONE
        stopped_at = float(current.value.get("stoppedAt", 0))
        remaining = stopped_at + self._ecs.settings.stopped_task_retention - self._ecs.clock.now()
        if remaining > 0:
            return Requeue(after=remaining)
        try:
            await self._ecs.store.delete(key, expected_revision=current.revision)
        except Conflict:
            return Requeue(after=0)
        return DONE


class AgentMonitor:
    name = "ecs-agent-monitor"
    kind = CONTAINER_INSTANCE

    def __init__(self, ecs: Ecs) -> None:
        self._ecs = ecs

    def triggers(self, change: Change) -> Iterable[Key]:
        return [change.key] if change.key.kind == CONTAINER_INSTANCE and not change.deleted else []

    async def reconcile(self, key: Key) -> Requeue:
        current = await self._ecs.store.get(key)
        if current is None or not current.value.get("agentConnected"):
            return DONE
        doc = current.value
        last_seen = float(doc.get("dockyard", {}).get("lastSeen") or doc.get("registeredAt") or 0)
        remaining = last_seen + self._ecs.settings.agent_timeout - self._ecs.clock.now()
        if remaining > 0:
            return Requeue(after=remaining)
        updated = copy.deepcopy(doc)
        updated["agentConnected"] = False
        try:
            await self._ecs.store.commit([Put(key, updated, expected_revision=current.revision)])
        except Conflict:
            return Requeue(after=0)
        return DONE


class DeregisteredInstanceTasks:
    name = "ecs-deregistered-instance-tasks"
    kind = CONTAINER_INSTANCE

    def __init__(self, ecs: Ecs) -> None:
        self._ecs = ecs

    def triggers(self, change: Change) -> Iterable[Key]:
        return [change.key] if change.key.kind == CONTAINER_INSTANCE and not change.deleted else []

    async def reconcile(self, key: Key) -> Requeue:
        current = await self._ecs.store.get(key)
        if current is None or current.value.get("status") != "INACTIVE":
            return DONE
        instance_arn = current.value["containerInstanceArn"]
        for task in await self._ecs.store.find(TASK, "node", instance_arn):
            await apply_report(
                self._ecs,
                {
                    "taskArn": task.value["taskArn"],
                    "lastStatus": "STOPPED",
                    "stopCode": "TerminationNotice",
                    "stoppedReason": f"Container instance {instance_arn} was deregistered.",
                },
            )
        return DONE


def ecs_controllers(ecs: Ecs) -> list[Reconciler]:
    return [
        StoppedTaskReaper(ecs),
        AgentMonitor(ecs),
        DeregisteredInstanceTasks(ecs),
        ServiceController(ecs),
        TaskEventRecorder(ecs),
        EventRetention(ecs),
        CapacityProviderController(ecs),
        ProvisioningController(ecs),
    ]
