"""The lifecycle controllers: enforce each repository's policy on a schedule, and run previews.

```
LifecycleEnforcer   key: a repository (woken by its changes and the runner's resync)
  no policy -> done;  now < (lastEvaluatedAt or setAt) + interval -> look again later
  due -> runs.enforce (catalog delete path) -> lastEvaluatedAt = now (if the policy is unchanged)
PreviewRunner       key: a preview document
  IN_PROGRESS -> evaluate the preview's policy text -> COMPLETE with the results (CAS)
  its repository deleted or created again -> the preview is deleted
```
ECR applies a policy "within 24 hours" of its last run; the interval is a server setting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from dockyard.controllers.reconciler import DONE, Requeue
from dockyard.core.clock import Clock
from dockyard.registry.catalog import Catalog
from dockyard.registry.lifecycle.previews import PREVIEW, belongs_to, completed
from dockyard.registry.lifecycle.runs import POLICY, enforce, expiring, stored_policy
from dockyard.registry.model import REPOSITORY, Scope
from dockyard.store import Change, Conflict, Delete, Key, Put

__all__ = ["LifecycleEnforcer", "PreviewRunner"]

log = logging.getLogger(__name__)

_SOON = 30.0  # the runner resyncs every repository about this often; later checks ride on it


class LifecycleEnforcer:
    name = "ecr-lifecycle"
    kind = REPOSITORY

    def __init__(self, catalog: Catalog, clock: Clock, *, interval: float) -> None:
        self._catalog = catalog
        self._clock = clock
        self._interval = interval

    def triggers(self, change: Change) -> Iterable[Key]:
        return [change.key] if change.key.kind == REPOSITORY and not change.deleted else []

    async def reconcile(self, key: Key) -> Requeue:
        scope = Scope(key.account_id, key.region)
        repository = await self._catalog.get_repository(scope, key.name)
        policy = stored_policy(repository) if repository is not None else None
        if repository is None or policy is None:
            return DONE
        due = (policy.last_evaluated_at or policy.set_at) + self._interval
        now = self._clock.now()
        if now < due:
            return Requeue(after=due - now) if due - now <= _SOON else DONE
        await enforce(self._catalog, scope, key.name, policy.text, now=now)

        def evaluated(doc: dict[str, object]) -> None:
            internal = doc.get("dockyard")
            current = internal.get(POLICY) if isinstance(internal, dict) else None
            if isinstance(current, dict) and current.get("text") == policy.text:
                current["lastEvaluatedAt"] = now

        await self._catalog.update_repository(scope, key.name, evaluated)
        return Requeue(after=self._interval) if self._interval <= _SOON else DONE


class PreviewRunner:
    name = "ecr-lifecycle-previews"
    kind = PREVIEW

    def __init__(self, catalog: Catalog, clock: Clock) -> None:
        self._catalog = catalog
        self._clock = clock

    def triggers(self, change: Change) -> Iterable[Key]:
        return [change.key] if change.key.kind == PREVIEW and not change.deleted else []

    async def reconcile(self, key: Key) -> Requeue:
        store = self._catalog.store
        found = await store.get(key)
        if found is None:
            return DONE
        scope = Scope(key.account_id, key.region)
        repository = await self._catalog.get_repository(scope, key.name)
        if not belongs_to(found, repository):
            try:
                await store.commit([Delete(key, expected_revision=found.revision)])
            except Conflict:
                return Requeue(after=0)
            return DONE
        if found.value["status"] != "IN_PROGRESS":
            return DONE
        now = self._clock.now()
        results = await expiring(
            self._catalog, scope, key.name, str(found.value["lifecyclePolicyText"]), now=now
        )
        try:
            await store.commit(
                [Put(key, completed(found.value, results, now=now), expected_revision=found.revision)]
            )
        except Conflict:
            return Requeue(after=0)
        return DONE
