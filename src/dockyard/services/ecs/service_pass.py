"""One pass of the service scheduler over a service document: what it records, and its stops.

A `ServicePass` holds a working copy of the service document and collects every write of the
pass, so the bookkeeping (deployment states, failure counts, events) and the task stops commit
together, compare-and-swap on the service's revision and each stopped task's:

```
observe   count_failures   stage 1: primary tasks that stopped before RUNNING (+ launch backoff)
          begin            the ServiceDeployment goes PENDING -> IN_PROGRESS
decide    trip             circuit breaker: FAILED (+ rollback to the last COMPLETED deployment)
          fail             the same for deployment alarms (`service_alarms.watch`)
          settle           older deployments without tasks leave; the primary COMPLETES
                           (after the alarms' bake time);
                           steady state; a deleted (DRAINING) service without tasks is INACTIVE
act       stop             desiredStatus STOPPED, stopCode ServiceSchedulerInitiated
                           (stage 2: primary tasks stopped for failing health checks)
commit    flush            one commit; returns the service's new revision
```
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.scheduler.service_model import (
    PENDING_STATUSES,
    ServicePlan,
    Stop,
    StopKind,
    breaker_threshold,
    breaker_verdict,
)
from dockyard.services.ecs import service_events as messages
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.ecs_events import deployment_change_put, service_action_put, task_event_put
from dockyard.services.ecs.service_documents import SERVICE_DEPLOYMENT, primary
from dockyard.services.ecs.service_rollout import HEALTH_FAILURE, STAGE1_FAILURE, document_key
from dockyard.services.ecs.task_documents import status_rank
from dockyard.services.ecs.task_launch import task_labels
from dockyard.store import Put, Versioned, Write

__all__ = ["ALARMS_IGNORED", "BAKE_UNTIL", "ServicePass", "backoff_delay", "stop_reason"]

# Stops that say nothing about the task definition: by the scheduler, a user, a Spot reclaim.
_NOT_FAILURES = frozenset(
    {"ServiceSchedulerInitiated", "UserInitiated", "SpotInterruption", "TerminationNotice"}
)
_MAX_COUNTED = 500
BACKOFF_AFTER = 3  # consecutive tasks that never reached RUNNING before launches slow down
BACKOFF_MAX = 900.0  # 15 minutes
# A deployment record's entries of its deployment alarms (`service_alarms`): a rollback to it
# watches and bakes afresh, so they are not carried over.
ALARMS_IGNORED = "alarmsIgnored"  # an alarm was in ALARM when the deployment began
BAKE_UNTIL = "bakeUntil"  # when the bake time of the finished rollout ends
FRESH_PER_ROLLOUT = (ALARMS_IGNORED, BAKE_UNTIL)


def backoff_delay(failures: int) -> float:
    """Seconds between launches after `failures` consecutive tasks failed to start (§4.6)."""
    if failures < BACKOFF_AFTER:
        return 0.0
    return float(min(BACKOFF_MAX, 10.0 * 2.0 ** (failures - BACKOFF_AFTER)))


def stop_reason(stop: Stop) -> str:
    if stop.kind == StopKind.UNHEALTHY:
        return "Task failed container health checks"
    if stop.kind == StopKind.ELB_UNHEALTHY:
        return f"Task failed ELB health checks in (target-group {stop.target_group})"
    return f"Scaling activity initiated by (deployment {stop.deployment})"


class ServicePass:
    def __init__(self, ecs: Ecs, current: Versioned, tasks: list[Versioned]) -> None:
        self.ecs = ecs
        self.current = current
        self.doc: dict[str, Any] = copy.deepcopy(current.value)
        self.tasks = tasks
        self.now = ecs.clock.now()
        self.writes: list[Write] = []
        self._sds: dict[str, tuple[Versioned, dict[str, Any]]] = {}
        self.name = str(self.doc["serviceName"])
        self._impaired = False
        # Why a task's target is unhealthy (ELB's TargetHealth description), by task ARN.
        self.lb_reasons: dict[str, str] = {}

    # -- helpers -----------------------------------------------------------------------------

    @property
    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.doc.setdefault("dockyard", {})
        return state

    def record(self, deployment_id: str) -> dict[str, Any]:
        record: dict[str, Any] = self.state.setdefault("deployments", {}).setdefault(deployment_id, {})
        return record

    def post(self, message: str) -> bool:
        return messages.post(self.doc, message, ids=self.ecs.ids, now=self.now)

    def action(self, event_type: str, event_name: str, **extra: Any) -> None:
        self.writes.append(
            service_action_put(
                self.ecs.ids,
                self.doc,
                event_type=event_type,
                event_name=event_name,
                now=self.now,
                extra=extra,
            )
        )

    def deployment_event(self, deployment_id: str, event_name: str, reason: str) -> None:
        self.writes.append(
            deployment_change_put(
                self.ecs.ids,
                self.doc,
                deployment_id=deployment_id,
                event_name=event_name,
                reason=reason,
                now=self.now,
            )
        )

    async def sd(self, arn: str | None) -> dict[str, Any] | None:
        """A ServiceDeployment document to change (written at flush)."""
        if not arn:
            return None
        if arn not in self._sds:
            sd_key = document_key(arn, SERVICE_DEPLOYMENT)
            found = await self.ecs.store.get(sd_key) if sd_key is not None else None
            if found is None:
                return None
            self._sds[arn] = (found, copy.deepcopy(found.value))
        return self._sds[arn][1]

    # -- observe -----------------------------------------------------------------------------

    async def begin(self) -> None:
        head = primary(self.doc)
        sd = await self.sd(self.record(head["id"]).get("serviceDeploymentArn"))
        if sd is not None and sd.get("status") == "PENDING":
            sd["status"] = "IN_PROGRESS"
            sd["startedAt"] = self.now
            sd["updatedAt"] = self.now
            self.deployment_event(head["id"], "SERVICE_DEPLOYMENT_IN_PROGRESS", head["rolloutStateReason"])

    async def count_failures(self) -> None:
        """Stage 1 of the circuit breaker and the launch backoff: primary tasks that stopped
        without ever reaching RUNNING (not stopped by the scheduler or a user)."""
        head = primary(self.doc)
        record = self.record(head["id"])
        counted = set(record.get("counted", []))
        failed = []
        started_since = False
        backoff = self.state.get("backoff") or {}
        for versioned in self.tasks:
            task = versioned.value
            if task.get("dockyard", {}).get("deployment") != head["id"]:
                continue
            if task.get("startedAt") is not None and float(task["startedAt"]) >= float(
                backoff.get("since", 0)
            ):
                started_since = True
            task_id = str(task["taskArn"]).rsplit("/", 1)[-1]
            if (
                task.get("lastStatus") == "STOPPED"
                and task.get("startedAt") is None
                and task.get("stopCode") not in _NOT_FAILURES
                and task_id not in counted
            ):
                failed.append(task_id)
        if started_since and backoff.get("count"):
            self.state["backoff"] = {}
        if not failed:
            return
        await self._add_failures(head, failed, stage=1)
        backoff = self.state.get("backoff") or {}
        count = int(backoff.get("count", 0)) + len(failed)
        self.state["backoff"] = {"count": count, "since": self.now, "until": self.now + backoff_delay(count)}
        self._impaired = count >= BACKOFF_AFTER > count - len(failed)

    def report_impaired(self) -> None:
        """The backoff just began (and the circuit breaker did not end the deployment instead)."""
        if self._impaired:
            self.post(messages.start_impaired(self.name))
            self.action("WARN", "SERVICE_TASK_START_IMPAIRED")
            self._impaired = False

    async def _add_failures(self, head: dict[str, Any], task_ids: list[str], *, stage: int) -> None:
        record = self.record(head["id"])
        record["counted"] = [*record.get("counted", []), *task_ids][-_MAX_COUNTED:]
        record["failures"] = int(record.get("failures", 0)) + len(task_ids)
        if stage == 1:
            record["stage1"] = int(record.get("stage1", 0)) + len(task_ids)
        head["failedTasks"] = record["failures"]
        sd = await self.sd(record.get("serviceDeploymentArn"))
        if sd is not None:
            breaker = sd.setdefault("deploymentCircuitBreaker", {})
            breaker["failureCount"] = record["failures"]
            breaker["threshold"] = breaker_threshold(int(self.doc.get("desiredCount", 0)))
            sd["updatedAt"] = self.now

    # -- decide ------------------------------------------------------------------------------

    async def trip(self) -> bool:
        """Fail the primary deployment when the circuit breaker's threshold is reached."""
        head = primary(self.doc)
        breaker = self.doc.get("deploymentConfiguration", {}).get("deploymentCircuitBreaker") or {}
        record = self.record(head["id"])
        threshold = breaker_threshold(int(self.doc.get("desiredCount", 0)))
        target = self.rollback_target(head)
        verdict = breaker_verdict(
            enabled=bool(breaker.get("enable")),
            rollback=bool(breaker.get("rollback")),
            failures=int(record.get("failures", 0)),
            desired=int(self.doc.get("desiredCount", 0)),
            in_progress=head.get("rolloutState") == "IN_PROGRESS",
            can_roll_back=target is not None,
        )
        if verdict is None:
            return False
        sd = await self.sd(record.get("serviceDeploymentArn"))
        if sd is not None:
            sd["deploymentCircuitBreaker"] = {
                "status": "TRIGGERED",
                "failureCount": int(record.get("failures", 0)),
                "threshold": threshold,
            }
        await self.fail(
            head,
            reason=STAGE1_FAILURE if record.get("stage1") else HEALTH_FAILURE,
            why="tasks failed to start" if record.get("stage1") else "tasks failed health checks",
            method="circuit breaker",
            target=target if verdict == "ROLLBACK" else None,
        )
        return True

    def rollback_target(self, head: dict[str, Any]) -> dict[str, Any] | None:
        """The last COMPLETED deployment, when there is one to roll `head` back to."""
        target: dict[str, Any] = self.state.get("completed") or {}
        return target if target and target.get("id") != head["id"] else None

    async def fail(
        self, head: dict[str, Any], *, reason: str, why: str, method: str, target: dict[str, Any] | None
    ) -> None:
        """The primary deployment FAILED (`method`: what detected it), rolled back to `target`
        when given; otherwise it stays PRIMARY and launches nothing more."""
        head.update(rolloutState="FAILED", rolloutStateReason=reason, updatedAt=self.now)
        self.post(messages.deployment_failed(self.name, head["id"], why))
        self.deployment_event(head["id"], "SERVICE_DEPLOYMENT_FAILED", reason)
        sd = await self.sd(self.record(head["id"]).get("serviceDeploymentArn"))
        if sd is not None:
            sd.update(statusReason=reason, updatedAt=self.now)
        if target is not None:
            await self._roll_back(head, target, sd, method)
        elif sd is not None:
            sd.update(status="STOPPED", stoppedAt=self.now)

    async def _roll_back(
        self, failed: dict[str, Any], target: dict[str, Any], sd: dict[str, Any] | None, method: str
    ) -> None:
        reason = f"ECS deployment {method}: rolling back to deploymentId {target['id']}."
        failed["status"] = "ACTIVE"
        deployments = [d for d in self.doc["deployments"] if d["id"] != target["id"]]
        restored = copy.deepcopy(target["deployment"])
        restored.update(
            status="PRIMARY",
            desiredCount=int(self.doc.get("desiredCount", 0)),
            rolloutState="IN_PROGRESS",
            rolloutStateReason=reason,
            updatedAt=self.now,
            failedTasks=0,
        )
        self.doc["deployments"] = [restored, *deployments]
        record = copy.deepcopy(target["record"])
        record.update(failures=0, stage1=0)  # `counted` stays: old failures are not counted again
        for name in FRESH_PER_ROLLOUT:  # the rollback watches its alarms (and bakes) afresh
            record.pop(name, None)
        record["rollbackOf"] = self.record(failed["id"]).get("serviceDeploymentArn")
        self.state["deployments"][target["id"]] = record
        self.state["backoff"] = {}
        spec = record.get("spec", {})
        for name in ("launchType", "capacityProviderStrategy", "platformVersion", "networkConfiguration"):
            if spec.get(name) is not None:
                self.doc[name] = copy.deepcopy(spec[name])
            else:
                self.doc.pop(name, None)
        self.doc["taskDefinition"] = spec.get("taskDefinition", self.doc.get("taskDefinition"))
        for name in ("placementConstraints", "placementStrategy", "loadBalancers", "serviceRegistries"):
            self.doc[name] = list(spec.get(name) or [])
        if sd is not None:
            sd.update(
                status="ROLLBACK_IN_PROGRESS",
                rollback={
                    "reason": reason,
                    "startedAt": self.now,
                    "serviceRevisionArn": record.get("revisionArn"),
                },
            )
        self.post(messages.rolling_back(self.name, target["id"]))
        self.deployment_event(target["id"], "SERVICE_DEPLOYMENT_IN_PROGRESS", reason)

    async def settle(self, plan: ServicePlan, *, baking: bool = False) -> None:
        """Deployments that finished, the primary completing (not while `baking`: the rollout
        is done, its deployment alarms are still watched), steady state, deletion."""
        kept = []
        for deployment in self.doc["deployments"]:
            if deployment["status"] != "PRIMARY" and plan.live.get(deployment["id"], 0) == 0:
                self.state.get("deployments", {}).pop(deployment["id"], None)
                continue
            kept.append(deployment)
        self.doc["deployments"] = kept
        head = primary(self.doc)
        if self.doc.get("schedulingStrategy") == "DAEMON" and self.doc.get("status") == "ACTIVE":
            if self.doc.get("desiredCount") != plan.desired:
                self.doc["desiredCount"] = plan.desired
        head["desiredCount"] = int(self.doc.get("desiredCount", 0))
        if self.doc.get("status") == "ACTIVE" and plan.complete:
            if head.get("rolloutState") == "IN_PROGRESS" and not baking:
                await self._complete(head)
            if len(self.doc["deployments"]) == 1 and head.get("rolloutState") == "COMPLETED":
                if self.post(messages.steady_state(self.name)):
                    self.action("INFO", "SERVICE_STEADY_STATE")
        if self.doc.get("status") == "DRAINING" and all(
            status_rank(str(t.value.get("lastStatus", ""))) >= status_rank("STOPPING") for t in self.tasks
        ):
            self.doc["status"] = "INACTIVE"
            self.state["inactiveAt"] = self.now
        if plan.stalled:
            self.post(messages.deployment_blocked(self.name))

    async def _complete(self, head: dict[str, Any]) -> None:
        reason = f"ECS deployment {head['id']} completed."
        head.update(rolloutState="COMPLETED", rolloutStateReason=reason, updatedAt=self.now)
        self.post(messages.deployment_completed(self.name, head["id"]))
        self.deployment_event(head["id"], "SERVICE_DEPLOYMENT_COMPLETED", reason)
        record = self.record(head["id"])
        rollback_of = record.pop("rollbackOf", None)
        sd = await self.sd(rollback_of or record.get("serviceDeploymentArn"))
        if sd is not None:
            sd.update(status="ROLLBACK_SUCCESSFUL" if rollback_of else "SUCCESSFUL")
            sd.update(finishedAt=self.now, updatedAt=self.now)
            statuses = [
                t.value.get("lastStatus")
                for t in self.tasks
                if t.value.get("dockyard", {}).get("deployment") == head["id"] and not rollback_of
            ]
            sd["targetServiceRevision"] = {
                **sd.get("targetServiceRevision", {}),
                "requestedTaskCount": 0 if rollback_of else int(head.get("desiredCount", 0)),
                "runningTaskCount": statuses.count("RUNNING"),
                "pendingTaskCount": sum(1 for s in statuses if s in PENDING_STATUSES),
            }
            for method in (sd.get("deploymentCircuitBreaker") or {}, sd.get("alarms") or {}):
                if method.get("status") == "MONITORING":
                    method["status"] = "MONITORING_COMPLETE"
        self.state["completed"] = {
            "id": head["id"],
            "deployment": {k: v for k, v in head.items() if k not in ("runningCount", "pendingCount")},
            "record": {
                k: v for k, v in record.items() if k not in ("failures", "stage1", *FRESH_PER_ROLLOUT)
            },
        }

    # -- act ---------------------------------------------------------------------------------

    async def stop(self, stops: tuple[Stop, ...]) -> None:
        by_arn = {v.value["taskArn"]: v for v in self.tasks}
        head = primary(self.doc)
        stopped = []
        unhealthy = []
        for stop in stops:
            current = by_arn.get(stop.arn)
            if current is None or current.value.get("desiredStatus") == "STOPPED":
                continue
            task = copy.deepcopy(current.value)
            task["desiredStatus"] = "STOPPED"
            task["stopCode"] = "ServiceSchedulerInitiated"
            task["stoppedReason"] = stop_reason(stop)
            task["version"] = int(task.get("version", 1)) + 1
            self.writes.append(
                Put(current.key, task, expected_revision=current.revision, labels=task_labels(task))
            )
            event = task_event_put(self.ecs.ids, task, self.now)
            if event is not None:
                self.writes.append(event)
            task_id = stop.arn.rsplit("/", 1)[-1]
            stopped.append(task_id)
            if stop.kind in (StopKind.UNHEALTHY, StopKind.ELB_UNHEALTHY):
                if stop.kind == StopKind.UNHEALTHY:
                    self.post(messages.failed_health_checks(self.name, task_id))
                else:
                    reason = self.lb_reasons.get(stop.arn, "Health checks failed")
                    group = str(stop.target_group)
                    self.post(messages.unhealthy_in_target_group(self.name, task_id, group, reason))
                if stop.deployment == head["id"]:
                    unhealthy.append(task_id)
        if unhealthy:
            await self._add_failures(head, unhealthy, stage=2)
        if stopped:
            self.post(messages.stopped(self.name, stopped))

    # -- commit ------------------------------------------------------------------------------

    def changes(self) -> list[Write]:
        writes = list(self.writes)
        for found, doc in self._sds.values():
            if doc != found.value:
                writes.append(Put(found.key, doc, expected_revision=found.revision))
        if self.doc != self.current.value:
            writes.append(Put(self.current.key, self.doc, expected_revision=self.current.revision))
        return writes

    async def flush(self) -> int:
        """Commit everything; the service document's revision afterwards."""
        writes = self.changes()
        if not writes:
            return self.current.revision
        revision = await self.ecs.store.commit(writes)
        changed = self.doc != self.current.value
        self.current = Versioned(self.current.key, self.doc, revision if changed else self.current.revision)
        self.doc = copy.deepcopy(self.doc)
        self.writes = []
        self._sds = {}
        return self.current.revision
