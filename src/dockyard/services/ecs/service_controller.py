"""The ECS service scheduler: a level-triggered controller over service documents.

```
change of a service ----------------------------> its key
change of a task (label service=<cluster>/<name>) -> that service's key
change of a container instance -------------------> the keys of the cluster's services that
                                                    place on instances (DRAINING, DAEMON)
change of a target group's targets or health ------> the services behind it
change of a CloudWatch alarm ----------------------> the services whose deployment watches it
reconcile(key):
   read    the service, its tasks (STOPPED ones too), the cluster's instances if it uses them
   targets register / deregister / drain load-balanced tasks; their target health
   alarms  the deployment alarms' states (service_alarms)
   plan    scheduler.service_plan.plan(state)                  pure: starts, stops, observations
   record  ServicePass: failures, circuit breaker, alarms, bake time, completion, events,
           stops -> one commit
   launch  launch_service_tasks: new tasks + the service's "has started" event -> one commit
   requeue when a task turns healthy, a grace period ends or a backoff expires
```

Everything is derived from the store on each pass, every write is compare-and-swap, and a
launch commits together with the service document that records it: a server restart in the
middle of a deployment simply continues it, and a pass that lost a race starts over.
A deleted service (INACTIVE) is purged `inactive_service_retention` seconds later.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from dockyard.aws.dispatch import RequestContext
from dockyard.controllers.reconciler import DONE, Requeue
from dockyard.core.errors import AwsError, TemporaryError
from dockyard.scheduler.service_plan import plan as compute_plan
from dockyard.services.ecs import service_alarms
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import CONTAINER_INSTANCE, TASK
from dockyard.services.ecs.service_documents import SERVICE, internal
from dockyard.services.ecs.service_launch import launch_service_tasks
from dockyard.services.ecs.service_pass import ServicePass
from dockyard.services.ecs.service_state import Observed, build_state, read_observed, uses_instances
from dockyard.services.ecs.service_targets import TargetSync
from dockyard.store import Change, Conflict, Key

__all__ = ["ServiceController", "scheduler_context"]

Scope = tuple[str, str, str]  # account, region, cluster
W = TypeVar("W")  # what a service watches: a target group ARN, an alarm (account, Region, name)
# Elastic Load Balancing's documents whose changes concern a service's tasks (named by the target
# group's ARN): the registered targets, and their health as the data plane sees it.
TARGET_KINDS = frozenset({"elbv2/targets", "elbv2/target-health"})


def scheduler_context(key: Key, request_id: str) -> RequestContext:
    """The identity the scheduler launches tasks with."""
    return RequestContext(
        account_id=key.account_id,
        region=key.region,
        request_id=request_id,
        principal="ecs.amazonaws.com",
        service="ecs",
        operation="ServiceScheduler",
    )


def _index(index: dict[W, set[Key]], key: Key, watched: Iterable[W]) -> None:
    """Make `key` listed under exactly the `watched` entries of `index` (empty sets dropped)."""
    for entry in list(index):
        index[entry].discard(key)
        if not index[entry]:
            del index[entry]
    for entry in watched:
        index.setdefault(entry, set()).add(key)


class ServiceController:
    name = "ecs-services"
    kind = SERVICE

    def __init__(self, ecs: Ecs) -> None:
        self._ecs = ecs
        # Services that place on container instances, by cluster: an instance change wakes them.
        self._on_instances: dict[Scope, set[Key]] = {}
        # Services behind load balancers, by target group ARN: a change of its targets or their
        # health wakes them.
        self._on_groups: dict[str, set[Key]] = {}
        # Services whose rolling deployment watches CloudWatch alarms, by alarm (account, Region,
        # name): a change of the alarm (its state) wakes them.
        self._on_alarms: dict[tuple[str, str, str], set[Key]] = {}

    def triggers(self, change: Change) -> Iterable[Key]:
        key = change.key
        if key.kind == SERVICE:
            return [] if change.deleted else [key]
        if key.kind == TASK:
            return [Key(key.account_id, key.region, SERVICE, name) for name in change.label_values("service")]
        if key.kind == CONTAINER_INSTANCE:
            scope = (key.account_id, key.region, key.name.split("/", 1)[0])
            return list(self._on_instances.get(scope, ()))
        if key.kind in TARGET_KINDS:  # Elastic Load Balancing's events: targets or their health
            return list(self._on_groups.get(key.name, ()))
        if key.kind == service_alarms.ALARM_KIND:
            return list(self._on_alarms.get((key.account_id, key.region, key.name), ()))
        return []

    def _remember_alarms(self, key: Key, names: Iterable[str]) -> None:
        _index(self._on_alarms, key, [(key.account_id, key.region, name) for name in names])

    def _remember(self, key: Key, watching: bool) -> None:
        scope = (key.account_id, key.region, key.name.split("/", 1)[0])
        keys = self._on_instances.setdefault(scope, set())
        if watching:
            keys.add(key)
        else:
            keys.discard(key)

    async def reconcile(self, key: Key) -> Requeue:
        current = await self._ecs.store.get(key)
        if current is None:
            self._remember(key, False)
            self._remember_alarms(key, ())
            return DONE
        service = current.value
        now = self._ecs.clock.now()
        if service.get("status") == "INACTIVE":
            self._remember(key, False)
            self._remember_alarms(key, ())
            return await self._purge(key, current.revision, float(internal(service).get("inactiveAt", now)))
        self._remember(key, uses_instances(service))
        observed = await read_observed(self._ecs, key, service)
        targets = None
        if service.get("loadBalancers"):
            targets, observed = await self._sync_targets(key, service, observed)
        self._remember_groups(key, targets.groups if targets is not None else [])
        run = ServicePass(self._ecs, current, observed.tasks)
        if targets is not None:
            for message in targets.events:
                run.post(message)
            for versioned in observed.tasks:
                health = targets.health_of(versioned.value)
                if health is not None and health.reason:
                    run.lb_reasons[versioned.value["taskArn"]] = health.reason
        watching = service_alarms.watched(service)
        self._remember_alarms(key, watching)
        alarms = await service_alarms.read(self._ecs, key, watching)
        try:
            await run.begin()
            await run.count_failures()
            if await run.trip() or await service_alarms.watch(run, alarms):
                await run.flush()
                return Requeue(after=0)
            run.report_impaired()
            plan = compute_plan(build_state(self._ecs, run.doc, observed, now=now, targets=targets))
            baking = service_alarms.bake(run, complete=plan.complete, alarms=alarms)
            await run.settle(plan, baking=baking is not None)
            await run.stop(plan.stops)
            await run.flush()
        except Conflict as exc:
            raise TemporaryError("the service or its tasks changed during the pass", delay=0.0) from exc
        self._remember_alarms(key, service_alarms.watched(run.doc))
        retry = None
        if run.doc.get("status") == "ACTIVE" and (plan.start or plan.start_on):
            retry = await launch_service_tasks(run, scheduler_context(key, self._ecs.ids.uuid()), plan)
        waits = [w for w in (plan.requeue_after, retry, baking) if w is not None]
        return Requeue(after=min(waits)) if waits else DONE

    async def _sync_targets(
        self, key: Key, service: dict[str, Any], observed: Observed
    ) -> tuple[TargetSync, Observed]:
        """Register RUNNING tasks, deregister stopping ones, finish draining (one commit), then
        read their target health for this pass."""
        targets = TargetSync(self._ecs, key, service)
        await targets.observe_health()
        try:
            writes = await targets.step(observed.tasks)
        except AwsError as exc:
            raise TemporaryError(f"Elastic Load Balancing refused a target change: {exc}", delay=5.0) from exc
        if writes:
            try:
                await self._ecs.store.commit(writes)
            except Conflict as exc:
                raise TemporaryError("a task changed while its targets were updated", delay=0.0) from exc
            observed = await read_observed(self._ecs, key, service)
            await targets.observe_health()
        return targets, observed

    def _remember_groups(self, key: Key, groups: list[str]) -> None:
        _index(self._on_groups, key, groups)

    async def _purge(self, key: Key, revision: int, inactive_at: float) -> Requeue:
        remaining = inactive_at + self._ecs.settings.inactive_service_retention - self._ecs.clock.now()
        if remaining > 0:
            return Requeue(after=remaining)
        try:
            await self._ecs.store.delete(key, expected_revision=revision)
        except Conflict:
            return Requeue(after=0)
        return DONE
