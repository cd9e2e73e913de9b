"""Placing new tasks and writing them, atomically with what they take.

Placement (EC2, EXTERNAL) reads the cluster's instances and its tasks that are not STOPPED once
per attempt, builds the scheduler's `PlanContext` from them and places every copy through the
checker/ranker chain (`dockyard.scheduler`), each copy seeing the reservations of the previous
ones. StartTask checks each named instance instead (no placement constraints).

One commit writes the new task documents, the container instances' reduced
`remainingResources` (compare-and-swap on each instance's revision: every instance a task lands
on is rewritten, so concurrent placements on it serialize), the tasks' private IP leases, their
`ECS Task State Change` events and the client token record. If any of them changed underneath,
the whole placement is recomputed from fresh state (Nomad's plan-apply re-check, in one
transaction).

RunTask, StartTask and the service scheduler all launch through `launch_tasks`. The scheduler
adds its own writes to the same commit (`extra_writes`: the service document that records the
launch, compare-and-swap on its revision); if one of those changed, the launch is abandoned
(the scheduler re-reads and decides again) instead of retried.

```
Launch (task_request / a service deployment) --launch_tasks--> place (EC2/EXTERNAL) | subnet (Fargate)
   --> one commit: tasks + instances' remainingResources + IP leases + task events + extra writes
```
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.scheduler import NO_INSTANCES, Placement, PlanContext, candidates, check_node, place_many
from dockyard.services.ecs import errors
from dockyard.services.ecs.capacity_launch import (
    assign_providers,
    check_provisioning_limit,
    provider_groups,
    waiting_record,
)
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.ecs_events import task_event_put
from dockyard.services.ecs.instance_resources import (
    demand_record,
    node_view,
    placement_demand,
    task_demand,
    with_remaining,
)
from dockyard.services.ecs.networking import Subnet, candidate_addresses, eni_details, lease_key, lease_put
from dockyard.services.ecs.resources import CLIENT_TOKEN, CONTAINER_INSTANCE, TASK, key
from dockyard.services.ecs.task_documents import new_task, node_of
from dockyard.services.ecs.task_request import Launch
from dockyard.store import Conflict, Key, Put, Versioned, Write

__all__ = ["launch_tasks", "plan_context", "task_labels", "request_hash", "ExtraWrites"]

# Writes a caller adds to the commit that creates `tasks` (see `launch_tasks`).
ExtraWrites = Callable[[list[dict[str, Any]]], Sequence[Write]]

_ATTEMPTS = 8
_rng = random.SystemRandom()


def task_labels(task: dict[str, Any]) -> dict[str, str]:
    """Index labels of a task document: its node while it is not yet STOPPED, and the service
    (`<cluster>/<name>`) that started it, for as long as the document exists."""
    labels = {}
    node = node_of(task)
    if task.get("lastStatus") != "STOPPED":
        # What placement needs of a live task, readable without decoding it (store.find_labels).
        labels["cluster"] = str(task.get("clusterArn", "")).rsplit("/", 1)[-1]
        labels["lastStatus"] = str(task.get("lastStatus", ""))
        labels["desiredStatus"] = str(task.get("desiredStatus", ""))
        if task.get("group"):
            labels["group"] = str(task["group"])
        if node is not None:
            labels["node"] = node
        elif task.get("dockyard", {}).get("waiting"):
            labels["waiting"] = labels["cluster"]  # waiting for capacity (capacity_provisioning.py)
    service = task.get("dockyard", {}).get("service")
    if service:
        labels["service"] = str(service)
    return labels


def request_hash(request: dict[str, Any]) -> str:
    body = {k: v for k, v in request.items() if k != "clientToken"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


async def _client_token(ecs: Ecs, ctx: RequestContext, token: str, digest: str) -> list[str] | None:
    found = await ecs.store.get(key(ctx, CLIENT_TOKEN, token))
    if found is None:
        return None
    arns = list(found.value.get("taskArns", []))
    if found.value.get("hash") != digest:
        raise errors.ConflictException(
            "The specified client token has already been used in another request with different parameters.",
            resourceIds=arns,
        )
    return arns


def _is_external(instance: dict[str, Any]) -> bool:
    return any(a.get("name") == "ecs.capability.external" for a in instance.get("attributes", []))


async def launch_tasks(
    ecs: Ecs,
    ctx: RequestContext,
    launch: Launch,
    *,
    count: int,
    instance_refs: list[str] | None = None,
    client_token: str | None = None,
    request_digest: str = "",
    extra_writes: ExtraWrites | None = None,
    zone_counts: dict[str, int] | None = None,
    population: Mapping[str, int] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Place and write `count` tasks (or one per named instance); returns (tasks, failures).

    `extra_writes(tasks)` adds writes to the commit when tasks were placed; a conflict on one of
    them is raised at once. `zone_counts` (Fargate): tasks per availability zone so far, to put
    each new task in the least used zone of its subnets (counts are updated). `population`: the
    tasks each capacity provider holds already (a service's), for the strategy's split.
    """
    if client_token:
        existing = await _client_token(ecs, ctx, client_token, request_digest)
        if existing is not None:
            tasks = [await ecs.store.get(key(ctx, TASK, _task_name(arn))) for arn in existing]
            return [t.value for t in tasks if t is not None], []
    request = _Request(
        count, instance_refs, client_token, request_digest, extra_writes, zone_counts, population
    )
    for attempt in range(_ATTEMPTS):
        extra: set[Key] = set()
        try:
            return await _attempt(ecs, ctx, launch, request, extra)
        except Conflict as conflict:
            if attempt == _ATTEMPTS - 1 or conflict.key in extra:
                raise
    raise AssertionError("unreachable")


def _task_name(task_arn: str) -> str:
    return "/".join(task_arn.split("/")[-2:])


@dataclass(frozen=True, slots=True)
class _Request:
    count: int
    instance_refs: list[str] | None
    client_token: str | None
    request_digest: str
    extra_writes: ExtraWrites | None
    zone_counts: dict[str, int] | None
    population: Mapping[str, int] | None = None


async def _attempt(
    ecs: Ecs, ctx: RequestContext, launch: Launch, request: _Request, extra: set[Key]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    count, instance_refs = request.count, request.instance_refs
    client_token, request_digest = request.client_token, request.request_digest
    zone_counts = None if request.zone_counts is None else dict(request.zone_counts)
    cluster = launch.cluster["clusterName"]
    writes: list[Write] = []
    tasks: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    taken = task_demand(launch.task_definition, launch.cpu, launch.memory)
    leased: set[str] = set()  # addresses this call has taken so far

    plans: dict[str, PlanContext] = {}  # instance ARN -> the placement state it was chosen in
    instances: dict[str, Versioned] = {}
    # (instance, capacity provider); no instance: Fargate, or waiting for capacity (PROVISIONING)
    targets: list[tuple[Versioned | None, str | None]] = []
    waiting_reasons: list[str] = []
    providers = assign_providers(launch, count, request.population)
    if launch.launch_type == "FARGATE":
        targets = [(None, p) for p in providers]
    else:
        demand = placement_demand(
            launch.task_definition,
            taken,
            group=launch.group,
            launch_type=launch.launch_type,
            constraints=launch.constraints,
            zones=None if launch.subnets is None else {s.availability_zone for s in launch.subnets},
        )
        if instance_refs is None:
            for provider, copies in provider_groups(providers):
                found, plan = await plan_context(ecs, ctx, cluster, launch.launch_type, provider=provider)
                instances.update(found)
                waits = provider in launch.waiting_providers
                if provider is None and not candidates(plan, demand):
                    raise errors.InvalidParameterException(NO_INSTANCES)
                for result in place_many(plan, demand, launch.strategies, copies):
                    if isinstance(result, Placement):
                        targets.append((instances[result.arn], provider))
                        plans[result.arn] = plan
                    elif waits:
                        targets.append((None, provider))
                        waiting_reasons.append(result.reason)
                    else:
                        failures.append(result.failure())
            await check_provisioning_limit(ecs, ctx, cluster, len(waiting_reasons))
        else:
            instances, plan = await plan_context(ecs, ctx, cluster, launch.launch_type)
            for ref in instance_refs:
                target = _find_instance(instances, ref)
                if target is None:
                    failures.append({"arn": _instance_arn(ctx, cluster, ref), "reason": "MISSING"})
                    continue
                arn = target.value["containerInstanceArn"]
                failure = check_node(plan, arn, demand)
                if failure is not None:
                    failures.append({"arn": arn, "reason": failure.reason})
                    continue
                targets.append((target, None))
                plans[arn] = plan

    reasons = iter(waiting_reasons)
    for target, provider in targets:
        task_id = ecs.ids.hex32()
        network = None
        if launch.subnets is not None:
            subnet = _pick_subnet(launch, target, zone_counts)
            ip = await _free_address(ecs, subnet, leased)
            leased.add(ip)
            network = eni_details(ctx, subnet, ip, ecs.ids.uuid())
        reserved = demand_record(taken) if target is not None else None
        task = new_task(
            ecs,
            ctx,
            launch if provider == launch.capacity_provider else replace(launch, capacity_provider=provider),
            task_id=task_id,
            instance=target.value if target else None,
            network=network,
            reserved=reserved,
        )
        if target is None and launch.launch_type != "FARGATE":
            zone = network["availabilityZone"] if network is not None else None
            task["dockyard"]["waiting"] = waiting_record(
                launch, provider, zone=zone, reason=next(reasons), now=ecs.clock.now()
            )
        tasks.append(task)
        writes.append(
            Put(key(ctx, TASK, f"{cluster}/{task_id}"), task, expected_revision=0, labels=task_labels(task))
        )
        event = task_event_put(ecs.ids, task, task["createdAt"])
        if event is not None:
            writes.append(event)
        if network is not None:
            writes.append(lease_put(network["privateIpv4Address"], task["taskArn"]))

    touched = {t.value["containerInstanceArn"] for t, _ in targets if t is not None}
    for arn in sorted(touched):
        node = plans[arn].node(arn)
        assert node is not None
        current = instances[arn]
        updated = with_remaining(current.value, node.remaining())
        writes.append(Put(current.key, updated, expected_revision=current.revision))
    if client_token and tasks:
        writes.append(
            Put(
                key(ctx, CLIENT_TOKEN, client_token),
                {
                    "hash": request_digest,
                    "taskArns": [t["taskArn"] for t in tasks],
                    "createdAt": ecs.clock.now(),
                },
                expected_revision=0,
            )
        )
    if tasks and request.extra_writes is not None:
        added = list(request.extra_writes(tasks))
        extra.update(w.key for w in added)
        writes += added
    await ecs.store.commit(writes)
    if request.zone_counts is not None and zone_counts is not None:
        request.zone_counts.update(zone_counts)
    return tasks, failures


async def plan_context(
    ecs: Ecs, ctx: RequestContext, cluster: str, launch_type: str, *, provider: str | None = None
) -> tuple[dict[str, Versioned], PlanContext]:
    """The cluster's instances of this launch type (of one capacity provider when `provider` is
    given) and the placement state built from them.

    Read once per attempt: the instances, and the tasks that are not STOPPED (for task groups,
    distinctInstance, spread counts and `runningTasksCount`).
    """
    instances = {
        v.value["containerInstanceArn"]: v
        for v in await ecs.store.list(
            CONTAINER_INSTANCE, account_id=ctx.account_id, region=ctx.region, prefix=f"{cluster}/"
        )
        if _is_external(v.value) == (launch_type == "EXTERNAL")
        and (provider is None or v.value.get("capacityProviderName") == provider)
    }
    placed: dict[str, list[dict[str, Any]]] = {}
    for _, labels in await ecs.store.find_labels(
        TASK, "cluster", cluster, account_id=ctx.account_id, region=ctx.region
    ):
        node = labels.get("node", "")
        if node in instances:
            placed.setdefault(node, []).append(labels)  # lastStatus, desiredStatus, group
    views = [node_view(v.value, placed.get(arn, ())) for arn, v in instances.items()]
    return instances, PlanContext(views, rng=_rng)


def _find_instance(instances: dict[str, Versioned], ref: str) -> Versioned | None:
    if ref in instances:
        return instances[ref]
    for arn, doc in instances.items():
        if arn.rsplit("/", 1)[-1] == ref:
            return doc
    return None


def _instance_arn(ctx: RequestContext, cluster: str, ref: str) -> str:
    if ref.startswith("arn:"):
        return ref
    return f"arn:aws:ecs:{ctx.region}:{ctx.account_id}:container-instance/{cluster}/{ref}"


def _pick_subnet(launch: Launch, target: Versioned | None, zone_counts: dict[str, int] | None) -> Any:
    assert launch.subnets
    if target is None and zone_counts is not None:
        least = min(zone_counts.get(s.availability_zone, 0) for s in launch.subnets)
        subnet = _rng.choice([s for s in launch.subnets if zone_counts.get(s.availability_zone, 0) == least])
        zone_counts[subnet.availability_zone] = least + 1
        return subnet
    if target is not None:
        zone = next(
            (
                a.get("value")
                for a in target.value.get("attributes", [])
                if a.get("name") == "ecs.availability-zone"
            ),
            None,
        )
        for subnet in launch.subnets:
            if subnet.availability_zone == zone:
                return subnet
    return _rng.choice(launch.subnets)


async def _free_address(ecs: Ecs, subnet: Subnet, taken: set[str]) -> str:
    """An address of `subnet` with no lease (point reads: the cost does not grow with the number
    of tasks; the commit's "must not exist" lease write settles any race)."""
    for candidate in candidate_addresses(subnet, _rng):
        if candidate not in taken and await ecs.store.get(lease_key(candidate)) is None:
            return candidate
    raise errors.InvalidParameterException(f"The subnet {subnet.subnet_id} has no free private IP addresses.")
