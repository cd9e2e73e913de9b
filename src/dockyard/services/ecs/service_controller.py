"""The ECS service scheduler: a level-triggered controller over service documents.

```
change of a service ----------------------------> its key
change of a task (label service=<cluster>/<name>) -> that service's key
change of a container instance -------------------> the keys of the cluster's services that
                                                    place on instances (DRAINING, DAEMON)
reconcile(key):
   read    the service, its tasks (STOPPED ones too), the cluster's instances if it uses them
   plan    scheduler.service_plan.plan(state)                  pure: starts, stops, observations
   record  ServicePass: failures, circuit breaker, completion, events, stops -> one commit
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

from dockyard.aws.dispatch import RequestContext
from dockyard.controllers.reconciler import DONE, Requeue
from dockyard.core.errors import TemporaryError
from dockyard.scheduler.service_plan import plan as compute_plan
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import CONTAINER_INSTANCE, TASK
from dockyard.services.ecs.service_documents import SERVICE, internal
from dockyard.services.ecs.service_launch import launch_service_tasks
from dockyard.services.ecs.service_pass import ServicePass
from dockyard.services.ecs.service_state import build_state, read_observed, uses_instances
from dockyard.store import Change, Conflict, Key

__all__ = ["ServiceController", "scheduler_context"]

Scope = tuple[str, str, str]  # account, region, cluster


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


class ServiceController:
    name = "ecs-services"
    kind = SERVICE

    def __init__(self, ecs: Ecs) -> None:
        self._ecs = ecs
        # Services that place on container instances, by cluster: an instance change wakes them.
        self._on_instances: dict[Scope, set[Key]] = {}

    def triggers(self, change: Change) -> Iterable[Key]:
        key = change.key
        if key.kind == SERVICE:
            return [] if change.deleted else [key]
        if key.kind == TASK:
            return [Key(key.account_id, key.region, SERVICE, name) for name in change.label_values("service")]
        if key.kind == CONTAINER_INSTANCE:
            scope = (key.account_id, key.region, key.name.split("/", 1)[0])
            return list(self._on_instances.get(scope, ()))
        return []

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
            return DONE
        service = current.value
        now = self._ecs.clock.now()
        if service.get("status") == "INACTIVE":
            self._remember(key, False)
            return await self._purge(key, current.revision, float(internal(service).get("inactiveAt", now)))
        self._remember(key, uses_instances(service))
        observed = await read_observed(self._ecs, key, service)
        run = ServicePass(self._ecs, current, observed.tasks)
        try:
            await run.begin()
            await run.count_failures()
            if await run.trip():
                await run.flush()
                return Requeue(after=0)
            run.report_impaired()
            plan = compute_plan(build_state(self._ecs, run.doc, observed, now=now))
            await run.settle(plan)
            await run.stop(plan.stops)
            await run.flush()
        except Conflict as exc:
            raise TemporaryError("the service or its tasks changed during the pass", delay=0.0) from exc
        retry = None
        if run.doc.get("status") == "ACTIVE" and (plan.start or plan.start_on):
            retry = await launch_service_tasks(run, scheduler_context(key, self._ecs.ids.uuid()), plan)
        waits = [w for w in (plan.requeue_after, retry) if w is not None]
        return Requeue(after=min(waits)) if waits else DONE

    async def _purge(self, key: Key, revision: int, inactive_at: float) -> Requeue:
        remaining = inactive_at + self._ecs.settings.inactive_service_retention - self._ecs.clock.now()
        if remaining > 0:
            return Requeue(after=remaining)
        try:
            await self._ecs.store.delete(key, expected_revision=revision)
        except Conflict:
            return Requeue(after=0)
        return DONE
