"""The group controller: keep every Auto Scaling group at its desired capacity.

```
key (a group) <- the group changed | one of its members changed | one of its EC2 instances changed
reconcile:
  instances = EC2 DescribeInstances(tag aws:autoscaling:groupName = group)   (EC2's operation)
  adopt tagged instances without a membership (a launch interrupted before it was recorded)
  follow each member: Pending -> InService when running; gone -> removed (activity done);
     stopped or terminated by someone else -> Unhealthy -> terminated and replaced
  capacity = members Pending or InService
  desired > capacity -> launch the difference (batch), balanced over zones   -- RunInstances
  desired < capacity -> choose victims (AZ balance, termination policies, never protected ones),
                        Terminating, TerminateInstances (Terminating:Wait first when a lifecycle
                        hook holds the transition: terminated once it proceeds or times out)
  deleting (ForceDelete) and empty -> the group is deleted
```
A refused launch leaves a Failed activity and is retried with backoff (10 s doubling to 5 min).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.controllers.reconciler import DONE, Reconciler, Requeue
from dockyard.services.autoscaling.deps import AutoScaling
from dockyard.services.autoscaling.lifecycle_hooks import HOOK, next_deadline
from dockyard.services.autoscaling.resources import (
    GROUP,
    GROUP_TAG,
    LAUNCH_CONFIGURATION,
    MEMBER,
    key,
    members,
)
from dockyard.services.autoscaling.steps import (
    LaunchFailed,
    begin_termination,
    follow,
    launch,
    new_member,
    scale_in_cause,
    terminate,
)
from dockyard.services.autoscaling.termination import Candidate, choose_victims
from dockyard.services.ec2.resources import INSTANCE as EC2_INSTANCE
from dockyard.store import Change, Conflict, Delete, Key, Put, Versioned

__all__ = ["GroupController", "autoscaling_controllers"]

log = logging.getLogger(__name__)

_IN_FLIGHT_RECHECK = 5.0


class GroupController:
    name = "autoscaling-groups"
    kind = GROUP

    def __init__(self, scaling: AutoScaling) -> None:
        self._scaling = scaling
        self._group_of: dict[tuple[str, str, str], str] = {}  # (account, region, instance id) -> group

    def triggers(self, change: Change) -> Iterable[Key]:
        k = change.key
        if k.kind == GROUP:
            return [k]
        if k.kind == MEMBER:
            return [Key(k.account_id, k.region, GROUP, g) for g in change.label_values("group")]
        if k.kind == EC2_INSTANCE:
            group = self._group_of.get((k.account_id, k.region, k.name))
            return [Key(k.account_id, k.region, GROUP, group)] if group else []
        return []

    async def reconcile(self, group_key: Key) -> Requeue:
        scaling = self._scaling
        ctx = RequestContext(
            group_key.account_id,
            group_key.region,
            "",
            "autoscaling.amazonaws.com",
            "autoscaling",
            "Reconcile",
        )
        group = await scaling.store.get(group_key)
        if group is None:
            return DONE
        doc = group.value
        name = doc["AutoScalingGroupName"]
        instances = await self._instances(ctx, name)
        current = {m.key.name: m for m in await members(scaling, ctx, name)}
        for instance_id, instance in instances.items():
            if instance_id not in current and instance["State"]["Name"] not in (
                "shutting-down",
                "terminated",
            ):
                adopted = new_member(doc, instance, now=instance["LaunchTime"], activity=None)
                put = Put(key(ctx, MEMBER, instance_id), adopted, expected_revision=0, labels={"group": name})
                try:
                    await scaling.store.commit([put])
                except Conflict:
                    return Requeue(after=0)
                log.info("group %s: adopted %s", name, instance_id)
                return Requeue(after=0)
        to_terminate: list[str] = []
        for instance_id, member in current.items():
            self._group_of[(ctx.account_id, ctx.region, instance_id)] = name
            state = instances[instance_id]["State"]["Name"] if instance_id in instances else None
            victim = await follow(scaling, ctx, doc, member, state)
            if victim:
                to_terminate.append(victim)
            if state in (None, "terminated"):
                self._group_of.pop((ctx.account_id, ctx.region, instance_id), None)
        await terminate(scaling, ctx, to_terminate)
        if to_terminate:
            return Requeue(after=0)
        live = [m.value for m in await members(scaling, ctx, name)]
        capacity = [
            m for m in live if m["LifecycleState"].startswith("Pending") or m["LifecycleState"] == "InService"
        ]
        in_flight = any(m["LifecycleState"].startswith(("Pending", "Terminating")) for m in live)
        desired = int(doc["DesiredCapacity"])
        if doc["dockyard"].get("deleting") and not live:
            hooks = await scaling.store.list(
                HOOK, account_id=ctx.account_id, region=ctx.region, prefix=f"{name}/"
            )
            try:
                await scaling.store.commit(
                    [Delete(group.key, expected_revision=group.revision), *(Delete(h.key) for h in hooks)]
                )
            except Conflict:
                return Requeue(after=0)
            return DONE
        if desired > len(capacity):
            return await self._scale_out(ctx, group, capacity, desired - len(capacity))
        if desired < len(capacity):
            return await self._scale_in(ctx, group, capacity, len(capacity) - desired)
        deadlines = [d for d in (next_deadline(m) for m in live) if d is not None]
        if deadlines:  # an instance waits for a lifecycle hook: look again when one times out
            return Requeue(after=max(0.0, min(deadlines) - scaling.clock.now()))
        if not in_flight and doc["dockyard"].get("cause"):
            updated = copy.deepcopy(doc)
            updated["dockyard"]["cause"] = None
            try:
                await scaling.store.commit([Put(group.key, updated, expected_revision=group.revision)])
            except Conflict:
                return Requeue(after=0)
        return Requeue(after=_IN_FLIGHT_RECHECK) if in_flight else DONE

    async def _instances(self, ctx: RequestContext, name: str) -> dict[str, dict[str, Any]]:
        response = await self._scaling.ec2.call(
            "DescribeInstances",
            {"Filters": [{"Name": f"tag:{GROUP_TAG}", "Values": [name]}]},
            account_id=ctx.account_id,
            region=ctx.region,
        )
        return {i["InstanceId"]: i for r in response["Reservations"] for i in r["Instances"]}

    async def _scale_out(
        self, ctx: RequestContext, group: Versioned, capacity: list[dict[str, Any]], missing: int
    ) -> Requeue:
        scaling = self._scaling
        internal = group.value["dockyard"]
        wait = float(internal.get("nextLaunchAt", 0)) - scaling.clock.now()
        if wait > 0:
            return Requeue(after=wait)
        per_zone: dict[str, int] = {}
        for member in capacity:
            per_zone[member["AvailabilityZone"]] = per_zone.get(member["AvailabilityZone"], 0) + 1
        count = min(missing, scaling.settings.batch)
        try:
            launched = await launch(
                scaling, ctx, group, count=count, capacity=len(capacity), per_zone=per_zone
            )
        except LaunchFailed as exc:
            failures = int(internal.get("failures", 0)) + 1
            delay = min(
                scaling.settings.launch_retry * 2 ** (failures - 1), scaling.settings.launch_retry_max
            )
            log.warning("group %s: launch failed (%s); retrying in %.0fs", group.key.name, exc, delay)
            await self._record_backoff(group.key, failures, scaling.clock.now() + delay)
            return Requeue(after=delay)
        for instance_id in launched:
            self._group_of[(ctx.account_id, ctx.region, instance_id)] = group.key.name
        if internal.get("failures"):
            await self._record_backoff(group.key, 0, 0.0)
        return Requeue(after=0 if missing > count else _IN_FLIGHT_RECHECK)

    async def _record_backoff(self, group_key: Key, failures: int, next_launch: float) -> None:
        for _ in range(4):
            found = await self._scaling.store.get(group_key)
            if found is None:
                return
            doc = copy.deepcopy(found.value)
            doc["dockyard"].update({"failures": failures, "nextLaunchAt": next_launch})
            try:
                await self._scaling.store.commit([Put(group_key, doc, expected_revision=found.revision)])
                return
            except Conflict:
                continue

    async def _scale_in(
        self, ctx: RequestContext, group: Versioned, capacity: list[dict[str, Any]], surplus: int
    ) -> Requeue:
        scaling = self._scaling
        doc = group.value
        candidates = [await self._candidate(ctx, doc, m) for m in capacity]
        victims = choose_victims(
            candidates,
            min(surplus, scaling.settings.batch),
            zones=doc["AvailabilityZones"],
            policies=doc.get("TerminationPolicies", ["Default"]),
            now=scaling.clock.now(),
            ignore_protection=bool(doc["dockyard"].get("deleting")),
        )
        if not victims:
            return DONE  # every surplus instance is protected from scale-in: nothing to do until that changes
        started = []
        size = len(capacity)
        for instance_id in victims:
            member = await scaling.store.get(key(ctx, MEMBER, instance_id))
            if member is None:
                continue
            cause = scale_in_cause(doc, scaling.clock.now(), size, instance_id)
            begun = await begin_termination(scaling, ctx, doc, member, cause=cause)
            if begun is not None:
                size -= 1
            if begun == "terminate":
                started.append(instance_id)
        await terminate(scaling, ctx, started)
        return Requeue(after=0 if surplus > len(victims) else _IN_FLIGHT_RECHECK)

    async def _candidate(
        self, ctx: RequestContext, group: dict[str, Any], member: dict[str, Any]
    ) -> Candidate:
        if member.get("LaunchTemplate"):
            template = member["LaunchTemplate"]
            group_template = group.get("LaunchTemplate") or {}
            current = template["LaunchTemplateId"] == group_template.get("LaunchTemplateId") and (
                group_template.get("Version") in ("$Latest", "$Default", template.get("Version"))
            )
            age = float(template.get("Version") or 0) if str(template.get("Version", "")).isdigit() else 0.0
        else:
            name = member.get("LaunchConfigurationName", "")
            current = name == group.get("LaunchConfigurationName")
            config = await self._scaling.store.get(key(ctx, LAUNCH_CONFIGURATION, name)) if name else None
            age = float(config.value.get("CreatedTime", 0)) if config is not None else 0.0
        return Candidate(
            instance_id=member["InstanceId"],
            zone=member["AvailabilityZone"],
            launched_at=float(member.get("dockyard", {}).get("launchedAt", 0)),
            source_age=age,
            current_source=current,
            protected=bool(member.get("ProtectedFromScaleIn")),
        )


def autoscaling_controllers(scaling: AutoScaling) -> list[Reconciler]:
    return [GroupController(scaling)]
