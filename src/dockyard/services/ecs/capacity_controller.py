"""The capacity provider controller: what an Auto Scaling group provider does with its group.

```
key (a provider) <- the provider changed | a member of its group changed (Auto Scaling)
                    | an instance of its cluster changed | a cluster changed | every metric interval
reconcile(provider):
  DEPROVISIONING  its lifecycle hook removed, its group released -> INACTIVE, DELETE_COMPLETE
  ACTIVE          observe (capacity_observe.py)
                  managed draining: ECS's lifecycle hook on the group (or not); instances held
                     in Terminating:Wait drained, then let go          (capacity_instances.py)
                  the group's registered instances show capacityProviderName
                  managed termination protection: protection follows the non-daemon tasks
                  UPDATE_IN_PROGRESS -> UPDATE_COMPLETE
                  managed scaling, once per metric interval: a CapacityProviderReservation
                     datapoint and SetDesiredCapacity toward the target  (capacity_scaling.py)
  requeue when the next datapoint is due (sooner while instances drain)
```
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable

from dockyard.aws.dispatch import RequestContext
from dockyard.controllers.reconciler import DONE, Requeue
from dockyard.core.errors import AwsError, TemporaryError
from dockyard.services.ecs.capacity_groups import draining_hook, set_draining_hook
from dockyard.services.ecs.capacity_instances import drain_instances, name_instances, protect_instances
from dockyard.services.ecs.capacity_observe import Observation, observe
from dockyard.services.ecs.capacity_provider_documents import claim_key, group_of, scaling_enabled
from dockyard.services.ecs.capacity_scaling import scaling_step
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import CAPACITY_PROVIDER, CLUSTER, CONTAINER_INSTANCE
from dockyard.store import Change, Conflict, Delete, Key, Put, Versioned, Write

__all__ = ["CapacityProviderController"]

log = logging.getLogger(__name__)

_MEMBER = "autoscaling:instance"  # Auto Scaling's membership documents: only their change events
_DRAIN_RECHECK = 5.0

Scope = tuple[str, str]  # account, region


class CapacityProviderController:
    name = "ecs-capacity-providers"
    kind = CAPACITY_PROVIDER

    def __init__(self, ecs: Ecs) -> None:
        self._ecs = ecs
        self._by_group: dict[tuple[str, str, str], Key] = {}  # (account, region, group) -> provider
        self._by_cluster: dict[tuple[str, str, str], set[Key]] = {}  # (account, region, cluster) -> providers
        self._known: dict[Scope, set[Key]] = {}
        self._due: dict[Key, float] = {}  # when each provider's next datapoint is due

    def triggers(self, change: Change) -> Iterable[Key]:
        k = change.key
        if k.kind == CAPACITY_PROVIDER:
            return [] if change.deleted else [k]
        if k.kind == _MEMBER:
            return [
                self._by_group[(k.account_id, k.region, g)]
                for g in change.label_values("group")
                if (k.account_id, k.region, g) in self._by_group
            ]
        if k.kind == CONTAINER_INSTANCE:
            return list(self._by_cluster.get((k.account_id, k.region, k.name.split("/", 1)[0]), ()))
        if k.kind == CLUSTER:
            return list(self._known.get((k.account_id, k.region), ()))
        return []

    def _remember(self, key: Key, group: str, cluster: str | None) -> None:
        self._known.setdefault((key.account_id, key.region), set()).add(key)
        self._by_group[(key.account_id, key.region, group)] = key
        for keys in self._by_cluster.values():
            keys.discard(key)
        if cluster is not None:
            self._by_cluster.setdefault((key.account_id, key.region, cluster), set()).add(key)

    def _forget(self, key: Key) -> None:
        self._known.get((key.account_id, key.region), set()).discard(key)
        for keys in self._by_cluster.values():
            keys.discard(key)
        self._due.pop(key, None)

    async def reconcile(self, key: Key) -> Requeue:
        ecs = self._ecs
        found = await ecs.store.get(key)
        if found is None or found.value.get("status") == "INACTIVE":
            self._forget(key)
            return DONE
        ctx = RequestContext(
            key.account_id, key.region, ecs.ids.uuid(), "ecs.amazonaws.com", "ecs", "CapacityProvider"
        )
        try:
            if found.value.get("status") == "DEPROVISIONING":
                await self._retire(ctx, found)
                self._forget(key)
                return DONE
            seen = await observe(ecs, ctx, found.value)
            self._remember(key, group_of(found.value), seen.cluster)
            draining = await self._manage(ctx, found, seen)
        except AwsError as exc:
            raise TemporaryError(f"capacity provider {key.name}: {exc.message}", delay=1.0) from exc
        except Conflict as exc:
            raise TemporaryError(f"capacity provider {key.name} changed", delay=0.0) from exc
        waits = (
            [self._due.get(key, ecs.clock.now()) - ecs.clock.now()] if scaling_enabled(found.value) else []
        )
        if draining:
            waits.append(min(_DRAIN_RECHECK, ecs.settings.capacity.metric_interval))
        return Requeue(after=max(0.0, min(waits))) if waits else DONE

    async def _manage(self, ctx: RequestContext, found: Versioned, seen: Observation) -> list[str]:
        ecs = self._ecs
        provider = found.value["autoScalingGroupProvider"]
        draining: list[str] = []
        if seen.group is not None:
            group = seen.group["AutoScalingGroupName"]
            wanted = provider.get("managedDraining") == "ENABLED"
            if wanted != await draining_hook(ecs, ctx, group):
                await set_draining_hook(ecs, ctx, group, wanted)
            if wanted:
                draining = await drain_instances(ecs, ctx, seen)
            await name_instances(ecs, seen)
            if provider.get("managedTerminationProtection") == "ENABLED" and scaling_enabled(found.value):
                await protect_instances(ecs, ctx, seen)
        current = found
        if found.value.get("updateStatus") == "UPDATE_IN_PROGRESS":
            doc = copy.deepcopy(found.value)
            doc["updateStatus"] = "UPDATE_COMPLETE"
            revision = await ecs.store.commit([Put(found.key, doc, expected_revision=found.revision)])
            current = Versioned(found.key, doc, revision)
        now = ecs.clock.now()
        if scaling_enabled(current.value) and now >= self._due.get(found.key, now):
            self._due[found.key] = now + ecs.settings.capacity.metric_interval
            await scaling_step(ecs, ctx, current, seen)
        return draining

    async def _retire(self, ctx: RequestContext, found: Versioned) -> None:
        """Finish a deletion: ECS's lifecycle hook off the group, the group free for another provider."""
        ecs = self._ecs
        group = group_of(found.value)
        try:
            if await draining_hook(ecs, ctx, group):
                await set_draining_hook(ecs, ctx, group, False)
        except AwsError:
            pass  # the group is gone already
        doc = copy.deepcopy(found.value)
        doc.update(status="INACTIVE", updateStatus="DELETE_COMPLETE")
        claim = claim_key(ctx, group)
        writes: list[Write] = [Put(found.key, doc, expected_revision=found.revision)]
        if await ecs.store.get(claim) is not None:
            writes.append(Delete(claim))
        await ecs.store.commit(writes)
        log.info("capacity provider %s deleted", found.key.name)
