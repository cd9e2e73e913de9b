"""What one pass of the capacity controller sees of an Auto Scaling group provider.

```
Auto Scaling's DescribeAutoScalingGroups   -> the group: sizes, instances (lifecycle state,
                                              scale-in protection, instance type)
the ACTIVE cluster the provider belongs to -> its container instances by EC2 instance id
its tasks that are not STOPPED (labels)    -> instances running a non-daemon task ("busy"),
                                              instances running anything
its waiting tasks of this provider         -> what managed scaling must make room for
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ecs.capacity_associations import associated_cluster
from dockyard.services.ecs.capacity_groups import describe_group
from dockyard.services.ecs.capacity_provider_documents import group_of
from dockyard.services.ecs.cluster_documents import SERVICE
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import CONTAINER_INSTANCE, TASK
from dockyard.store import Versioned

__all__ = ["Observation", "observe", "IN_GROUP"]

# Lifecycle states of instances that count as the group's (launching or in service).
IN_GROUP = ("Pending", "Pending:Wait", "Pending:Proceed", "InService")

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Observation:
    provider: str
    group: Document | None  # None: the Auto Scaling group no longer exists
    cluster: str | None  # None: not associated with an ACTIVE cluster
    instances: dict[str, Versioned] = field(default_factory=dict)  # EC2 instance id -> container instance
    busy: frozenset[str] = frozenset()  # container instance ARNs running a non-daemon task
    occupied: frozenset[str] = frozenset()  # container instance ARNs running any task
    waiting: tuple[Document, ...] = ()  # this provider's tasks waiting in PROVISIONING

    @property
    def members(self) -> list[Document]:
        return list((self.group or {}).get("Instances", []))

    @property
    def running(self) -> list[Document]:
        """The group's instances that count (N): launching or in service."""
        return [m for m in self.members if m.get("LifecycleState") in IN_GROUP]


async def observe(ecs: Ecs, ctx: RequestContext, doc: Document) -> Observation:
    name = str(doc["name"])
    group = await describe_group(ecs, ctx, group_of(doc))
    cluster = await associated_cluster(ecs, ctx, name)
    if cluster is None:
        return Observation(name, group, None)
    scope = {"account_id": ctx.account_id, "region": ctx.region}
    instances = {
        str(v.value.get("ec2InstanceId")): v
        for v in await ecs.store.list(CONTAINER_INSTANCE, prefix=f"{cluster}/", **scope)
        if v.value.get("status") in ("ACTIVE", "DRAINING")
    }
    daemons = {
        f"service:{s.value['serviceName']}"
        for s in await ecs.store.list(SERVICE, prefix=f"{cluster}/", **scope)
        if s.value.get("schedulingStrategy") == "DAEMON"
    }
    busy: set[str] = set()
    occupied: set[str] = set()
    for _, labels in await ecs.store.find_labels(TASK, "cluster", cluster, **scope):
        node = labels.get("node")
        if not node:
            continue
        occupied.add(node)
        if labels.get("group") not in daemons:
            busy.add(node)
    waiting = tuple(
        t.value
        for t in await ecs.store.find(TASK, "waiting", cluster, **scope)
        if t.value.get("dockyard", {}).get("waiting", {}).get("provider") == name
        and t.value.get("desiredStatus") == "RUNNING"
    )
    return Observation(name, group, cluster, instances, frozenset(busy), frozenset(occupied), waiting)
