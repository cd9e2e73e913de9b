"""ECS's EventBridge events, recorded as store documents for a later delivery (reference §9).

Three detail types are recorded, each a full EventBridge envelope (`version`, `id`,
`detail-type`, `source: aws.ecs`, `account`, `time`, `region`, `resources`, `detail`), with
ISO-8601 times as EventBridge sends them:

- `ECS Task State Change`: detail = the task as DescribeTasks shows it (attachments of type
  `eni`, no health fields) plus `updatedAt` and `version`;
- `ECS Service Action`: `{eventType, eventName, clusterArn, createdAt, [reason], ...}`;
- `ECS Deployment State Change`: `{eventType, eventName, deploymentId, updatedAt, reason}`.

Store layout: kind `events:ecs`, name `<cluster>/<key>` with the document `{createdAt, event}`.
Task events have the deterministic key `task/<task id>/<version>`, so one task version is
recorded once whoever writes it first (the launch or the service scheduler, in the commit that
makes the change, or `TaskEventRecorder` for changes made elsewhere). Other events have a
unique key ordered by time, then by the order they were written in. `EventRetention` deletes a
cluster's events after `event_retention` seconds, which bounds the table.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dockyard.controllers.reconciler import DONE, Requeue
from dockyard.core.ids import IdGenerator
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import CLUSTER, TASK
from dockyard.store import Change, Conflict, Delete, Key, Put

__all__ = [
    "ECS_EVENTS",
    "iso",
    "envelope",
    "task_event_put",
    "service_action_put",
    "deployment_change_put",
    "TaskEventRecorder",
    "EventRetention",
]

ECS_EVENTS = "events:ecs"
_TIMES = (
    "createdAt",
    "startedAt",
    "stoppedAt",
    "stoppingAt",
    "pullStartedAt",
    "pullStoppedAt",
    "executionStoppedAt",
    "connectivityAt",
)


def iso(epoch: float, *, millis: bool = True) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(
    ids: IdGenerator,
    *,
    detail_type: str,
    account: str,
    region: str,
    resources: Sequence[str],
    detail: Mapping[str, Any],
    now: float,
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": ids.uuid(),
        "detail-type": detail_type,
        "source": "aws.ecs",
        "account": account,
        "time": iso(now, millis=False),
        "region": region,
        "resources": list(resources),
        "detail": dict(detail),
    }


def _task_detail(task: Mapping[str, Any], now: float) -> dict[str, Any]:
    detail = {k: v for k, v in task.items() if k not in ("dockyard", "healthStatus")}
    for name in _TIMES:
        if isinstance(detail.get(name), int | float):
            detail[name] = iso(float(detail[name]))
    detail["attachments"] = [{**a, "type": "eni"} for a in task.get("attachments", [])]
    detail["containers"] = [
        {k: v for k, v in c.items() if k != "healthStatus"} for c in task.get("containers", [])
    ]
    detail["updatedAt"] = iso(now)
    detail["version"] = int(task.get("version", 1))
    return detail


def _scope(task: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(account, region, cluster name) of a task document."""
    internal = task.get("dockyard", {})
    parts = str(task.get("taskArn", "")).split(":")
    if len(parts) < 6:
        return None
    account = internal.get("accountId") or parts[4]
    region = internal.get("region") or parts[3]
    cluster = str(task.get("clusterArn", "")).rsplit("/", 1)[-1]
    return str(account), str(region), cluster


def _task_event_key(task: Mapping[str, Any]) -> Key | None:
    scope = _scope(task)
    if scope is None:
        return None
    account, region, cluster = scope
    task_id = str(task["taskArn"]).rsplit("/", 1)[-1]
    return Key(account, region, ECS_EVENTS, f"{cluster}/task/{task_id}/{int(task.get('version', 1)):08d}")


def task_event_put(ids: IdGenerator, task: Mapping[str, Any], now: float) -> Put | None:
    """`ECS Task State Change` for the task's current version (written at most once)."""
    key = _task_event_key(task)
    if key is None:
        return None
    event = envelope(
        ids,
        detail_type="ECS Task State Change",
        account=key.account_id,
        region=key.region,
        resources=[str(task["taskArn"])],
        detail=_task_detail(task, now),
        now=now,
    )
    return Put(key, {"createdAt": now, "event": event}, expected_revision=0)


_sequence = itertools.count()  # orders the events one pass writes at the same moment


def _unique_key(ids: IdGenerator, account: str, region: str, cluster: str, now: float) -> Key:
    name = f"{cluster}/{int(now * 1000):015d}-{next(_sequence) % 1_000_000:06d}-{ids.hex32()[:8]}"
    return Key(account, region, ECS_EVENTS, name)


def service_action_put(
    ids: IdGenerator,
    service: Mapping[str, Any],
    *,
    event_type: str,
    event_name: str,
    now: float,
    extra: Mapping[str, Any] | None = None,
) -> Put:
    """`ECS Service Action` (SERVICE_STEADY_STATE, TASKS_STARTED, SERVICE_TASK_PLACEMENT_FAILURE...)."""
    arn = str(service["serviceArn"])
    _, _, _, region, account, _ = arn.split(":", 5)
    detail = {
        "eventType": event_type,
        "eventName": event_name,
        "clusterArn": service["clusterArn"],
        "createdAt": iso(now),
        **(extra or {}),
    }
    cluster = str(service["clusterArn"]).rsplit("/", 1)[-1]
    event = envelope(
        ids,
        detail_type="ECS Service Action",
        account=account,
        region=region,
        resources=[arn],
        detail=detail,
        now=now,
    )
    return Put(_unique_key(ids, account, region, cluster, now), {"createdAt": now, "event": event})


def deployment_change_put(
    ids: IdGenerator,
    service: Mapping[str, Any],
    *,
    deployment_id: str,
    event_name: str,
    reason: str,
    now: float,
) -> Put:
    """`ECS Deployment State Change`: SERVICE_DEPLOYMENT_IN_PROGRESS / _COMPLETED / _FAILED."""
    arn = str(service["serviceArn"])
    _, _, _, region, account, _ = arn.split(":", 5)
    detail = {
        "eventType": "ERROR" if event_name.endswith("FAILED") else "INFO",
        "eventName": event_name,
        "deploymentId": deployment_id,
        "updatedAt": iso(now),
        "reason": reason,
    }
    cluster = str(service["clusterArn"]).rsplit("/", 1)[-1]
    event = envelope(
        ids,
        detail_type="ECS Deployment State Change",
        account=account,
        region=region,
        resources=[arn],
        detail=detail,
        now=now,
    )
    return Put(_unique_key(ids, account, region, cluster, now), {"createdAt": now, "event": event})


def _last_change(task: Mapping[str, Any]) -> float:
    return max((float(task[name]) for name in _TIMES if isinstance(task.get(name), int | float)), default=0.0)


class TaskEventRecorder:
    """Records `ECS Task State Change` for task changes nobody recorded in their own commit
    (agent reports, StopTask): level-triggered on the task's current version."""

    name = "ecs-task-events"
    kind = TASK

    def __init__(self, ecs: Ecs) -> None:
        self._ecs = ecs
        self._recorded: dict[Key, int] = {}  # task -> the last version known to be recorded

    def triggers(self, change: Change) -> Iterable[Key]:
        if change.key.kind != TASK:
            return []
        if change.deleted:
            self._recorded.pop(change.key, None)
            return []
        return [change.key]

    async def reconcile(self, key: Key) -> Requeue:
        current = await self._ecs.store.get(key)
        if current is None:
            return DONE
        now = self._ecs.clock.now()
        task = current.value
        version = int(task.get("version", 1))
        if self._recorded.get(key) == version:
            return DONE
        # A version older than the retention was recorded (and reaped) long ago: never again.
        if _last_change(task) < now - self._ecs.settings.event_retention:
            return DONE
        event_key = _task_event_key(task)
        if event_key is not None and await self._ecs.store.get(event_key) is None:
            put = task_event_put(self._ecs.ids, task, now)
            if put is not None:
                with contextlib.suppress(Conflict):  # recorded meanwhile by whoever changed it
                    await self._ecs.store.commit([put])
        self._recorded[key] = version
        return DONE


class EventRetention:
    """Deletes a cluster's recorded events once they are `event_retention` seconds old."""

    name = "ecs-event-retention"
    kind = CLUSTER

    def __init__(self, ecs: Ecs) -> None:
        self._ecs = ecs

    def triggers(self, change: Change) -> Iterable[Key]:
        return [change.key] if change.key.kind == CLUSTER and not change.deleted else []

    async def reconcile(self, key: Key) -> Requeue:
        retention = self._ecs.settings.event_retention
        now = self._ecs.clock.now()
        events = await self._ecs.store.list(
            ECS_EVENTS, account_id=key.account_id, region=key.region, prefix=f"{key.name}/"
        )
        expired = [e for e in events if float(e.value.get("createdAt", 0)) + retention <= now]
        for start in range(0, len(expired), 500):
            await self._ecs.store.commit([Delete(e.key) for e in expired[start : start + 500]])
        gone = {e.key for e in expired}
        remaining = [
            float(e.value.get("createdAt", 0)) + retention - now for e in events if e.key not in gone
        ]
        if not remaining:
            return Requeue(after=retention)
        return Requeue(after=max(1.0, min(remaining)))
