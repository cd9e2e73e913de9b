"""What a provider does to its group's instances: name them, protect them, drain them.

```
name     an instance of the group registered in the provider's cluster shows
         `capacityProviderName` (placement of the provider's tasks looks for it)
protect  managed termination protection: scale-in protection on the instances that run a
         non-daemon task, none on the empty ones (Auto Scaling's SetInstanceProtection);
         instances not registered yet keep what the group gave them
drain    managed draining: an instance Auto Scaling holds in Terminating:Wait (ECS's lifecycle
         hook) is set DRAINING, so the services move their tasks; once only daemon tasks are
         left, CompleteLifecycleAction lets the termination go on
```
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.services.ecs.capacity_groups import complete_termination, set_protection
from dockyard.services.ecs.capacity_observe import Observation
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.instance_documents import modify

__all__ = ["name_instances", "protect_instances", "drain_instances"]

log = logging.getLogger(__name__)

Document = dict[str, Any]


async def name_instances(ecs: Ecs, seen: Observation) -> None:
    for member in seen.members:
        instance = seen.instances.get(member["InstanceId"])
        if instance is not None and instance.value.get("capacityProviderName") != seen.provider:
            await modify(ecs, instance.key, functools.partial(_named, provider=seen.provider))


def _named(doc: Document, *, provider: str) -> Document | None:
    if doc.get("capacityProviderName") == provider:
        return None
    doc["capacityProviderName"] = provider
    return doc


async def protect_instances(ecs: Ecs, ctx: RequestContext, seen: Observation) -> None:
    if seen.group is None:
        return
    protect, release = [], []
    for member in seen.members:
        if member.get("LifecycleState") != "InService":
            continue
        instance = seen.instances.get(member["InstanceId"])
        if instance is None:
            continue  # not registered yet: it keeps the protection it was launched with
        busy = instance.value["containerInstanceArn"] in seen.busy
        if busy and not member.get("ProtectedFromScaleIn"):
            protect.append(member["InstanceId"])
        elif not busy and member.get("ProtectedFromScaleIn"):
            release.append(member["InstanceId"])
    group = seen.group["AutoScalingGroupName"]
    if protect:
        await set_protection(ecs, ctx, group, protect, True)
    if release:
        await set_protection(ecs, ctx, group, release, False)


async def drain_instances(ecs: Ecs, ctx: RequestContext, seen: Observation) -> list[str]:
    """Drain the instances waiting to terminate; returns the ARNs still draining."""
    if seen.group is None:
        return []
    group = seen.group["AutoScalingGroupName"]
    draining = []
    for member in seen.members:
        if member.get("LifecycleState") != "Terminating:Wait":
            continue
        instance = seen.instances.get(member["InstanceId"])
        if instance is not None:
            arn = instance.value["containerInstanceArn"]
            if instance.value.get("status") == "ACTIVE":
                await modify(ecs, instance.key, _draining)
            if arn in seen.busy:
                draining.append(arn)
                continue
        try:
            await complete_termination(ecs, ctx, group, member["InstanceId"])
            log.info(
                "capacity provider %s: %s drained; its termination goes on",
                seen.provider,
                member["InstanceId"],
            )
        except AwsError as exc:  # not our hook's action (another hook holds it), or already done
            log.debug("capacity provider %s: %s: %s", seen.provider, member["InstanceId"], exc.message)
    return draining


def _draining(doc: Document) -> Document | None:
    if doc.get("status") != "ACTIVE":
        return None
    doc["status"] = "DRAINING"
    doc["version"] = int(doc.get("version", 0)) + 1
    return doc
