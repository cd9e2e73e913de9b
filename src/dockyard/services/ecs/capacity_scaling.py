"""One managed-scaling step of a provider: the CapacityProviderReservation datapoint and the
desired capacity it leads to (reference §7.3; the arithmetic is scheduler/capacity_reservation.py).

```
observation -> rooms: each instance of the group that counts (N): an ACTIVE container instance
               with what it has left, a DRAINING one with nothing, one not registered yet empty
               at the size of the group's instance type; busy = runs a non-daemon task
            -> needs: the provider's tasks waiting in PROVISIONING
M = instances_needed(rooms, needs), CPR = M / N * 100   -> a CloudWatch datapoint (AWS/ECS/ManagedScaling)
decide(M, N, desired, min/max size, targetCapacity, step sizes, warm-up, datapoints below)
   -> SetDesiredCapacity (Auto Scaling's operation) when it changes
```
The step's memory — when the last scale-out happened (warm-up) and how many datapoints in a row
were below the target (scale-in needs `scale_in_datapoints` of them) — lives in the provider
document (`dockyard.scaling`). The datapoint goes to CloudWatch through the server's in-process
metrics seam (`Peers.metrics`), where GetMetricStatistics and alarms read it.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.scheduler.capacity_reservation import (
    Need,
    Room,
    ScalingInput,
    decide,
    instances_needed,
    reservation,
)
from dockyard.services.ecs.capacity_groups import group_instance_type, set_desired_capacity
from dockyard.services.ecs.capacity_observe import Observation
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.instance_resources import remaining
from dockyard.store import Put, Versioned

__all__ = ["ScalingStep", "scaling_step"]

log = logging.getLogger(__name__)

NAMESPACE = "AWS/ECS/ManagedScaling"
METRIC_NAME = "CapacityProviderReservation"


@dataclass(frozen=True, slots=True)
class ScalingStep:
    needed: int
    running: int
    value: float
    desired: int | None  # the desired capacity set, if it changed


async def scaling_step(
    ecs: Ecs, ctx: RequestContext, provider: Versioned, seen: Observation
) -> ScalingStep | None:
    """Publish one datapoint and scale the group toward the target; None when there is no group
    or cluster to measure."""
    if seen.group is None or seen.cluster is None:
        return None
    kind = await group_instance_type(ecs, ctx, seen.group)
    if kind is None:
        return None
    rooms = []
    for member in seen.running:
        instance = seen.instances.get(member["InstanceId"])
        if instance is None:
            rooms.append(Room(kind.cpu_units, kind.registered_memory_mib))
            continue
        busy = instance.value["containerInstanceArn"] in seen.busy
        if instance.value.get("status") != "ACTIVE":
            rooms.append(Room(0, 0, busy))
            continue
        left = remaining(instance.value)
        rooms.append(Room(left.cpu, left.memory, busy))
    needs = [
        Need(int(t["dockyard"]["waiting"]["cpu"]), int(t["dockyard"]["waiting"]["memory"]))
        for t in seen.waiting
    ]
    needed = instances_needed(
        rooms, needs, instance_cpu=kind.cpu_units, instance_memory=kind.registered_memory_mib
    )
    running = len(seen.running)
    value = reservation(needed, running)
    settings = ecs.settings.capacity
    now = ecs.clock.now()
    doc = copy.deepcopy(provider.value)
    scaling = doc["autoScalingGroupProvider"]["managedScaling"]
    state = doc["dockyard"].setdefault("scaling", {})
    target = int(scaling["targetCapacity"])
    state["below"] = int(state.get("below", 0)) + 1 if value < target else 0
    group = seen.group
    new = decide(
        ScalingInput(
            needed=needed,
            running=running,
            desired=int(group["DesiredCapacity"]),
            min_size=int(group["MinSize"]),
            max_size=int(group["MaxSize"]),
            target_capacity=target,
            minimum_step=int(scaling["minimumScalingStepSize"]),
            maximum_step=int(scaling["maximumScalingStepSize"]),
            warming=now
            < float(state.get("scaledOutAt", float("-inf"))) + float(scaling["instanceWarmupPeriod"]),
            below=int(state["below"]),
            scale_in_datapoints=settings.scale_in_datapoints,
        )
    )
    if new is not None:
        try:
            await set_desired_capacity(ecs, ctx, group["AutoScalingGroupName"], new)
        except AwsError as exc:
            log.warning("capacity provider %s: SetDesiredCapacity %d: %s", seen.provider, new, exc.message)
            new = None
        else:
            log.info(
                "capacity provider %s: CapacityProviderReservation %.1f (M=%d, N=%d): "
                "desired capacity %d -> %d",
                seen.provider,
                value,
                needed,
                running,
                int(group["DesiredCapacity"]),
                new,
            )
            if new > int(group["DesiredCapacity"]):
                state["scaledOutAt"] = now
            state["below"] = 0
    await ecs.store.commit([Put(provider.key, doc, expected_revision=provider.revision)])
    if ecs.peers.metrics is not None:
        await ecs.peers.metrics.put(
            ctx.account_id, ctx.region, NAMESPACE, METRIC_NAME,
            {"ClusterName": seen.cluster, "CapacityProviderName": seen.provider},
            value=value, unit="Percent", timestamp=now,
        )  # fmt: skip
    return ScalingStep(needed, running, value, new)
