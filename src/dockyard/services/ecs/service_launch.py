"""Launching a service's tasks: the same path as RunTask, plus what makes them the service's.

```
deployment spec --resolve_launch (RunTask's validation)--> Launch
   + group "service:<name>", startedBy = deployment id, the service's tags, its placement
     strategies (none: spread by zone, then instance), dockyard.service / dockyard.deployment,
     the primary deployment's tasks per capacity provider (its strategy splits the new ones)
   --launch_tasks(extra_writes = the service document with "has started N tasks")-->
   one commit: the tasks, the instances' resources, the task events, the service document
```

When placement fails, the service gets ECS's "unable to place a task" event (and an
`ECS Service Action` SERVICE_TASK_PLACEMENT_FAILURE); the next pass tries again.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError, TemporaryError
from dockyard.core.tags import merge_tags
from dockyard.scheduler import NO_INSTANCES
from dockyard.scheduler.service_model import ServicePlan
from dockyard.scheduler.service_plan import strategies_or_default
from dockyard.services.ecs import service_events as messages
from dockyard.services.ecs.capacity_launch import PROVISIONING_LIMIT
from dockyard.services.ecs.ecs_events import service_action_put
from dockyard.services.ecs.service_documents import primary
from dockyard.services.ecs.service_pass import ServicePass
from dockyard.services.ecs.service_validation import resolve_launch
from dockyard.services.ecs.task_launch import launch_tasks
from dockyard.services.ecs.task_request import Launch
from dockyard.store import Conflict, Put, Versioned, Write

__all__ = ["launch_service_tasks", "service_tags", "PLACEMENT_RETRY"]

PLACEMENT_RETRY = 15.0  # seconds before a task that could not be placed is tried again


def service_tags(service: Mapping[str, Any], td: Mapping[str, Any]) -> list[dict[str, str]]:
    """The tags a service's tasks get: propagated from the service or the task definition, plus
    ECS's managed tags when enabled."""
    tags: list[dict[str, str]] = []
    if service.get("propagateTags") == "SERVICE":
        tags = [dict(t) for t in service.get("tags", [])]
    elif service.get("propagateTags") == "TASK_DEFINITION":
        tags = [dict(t) for t in td.get("tags", [])]
    if service.get("enableECSManagedTags"):
        cluster = str(service["clusterArn"]).rsplit("/", 1)[-1]
        tags = merge_tags(
            tags,
            [
                {"key": "aws:ecs:clusterName", "value": cluster},
                {"key": "aws:ecs:serviceName", "value": str(service["serviceName"])},
            ],
        )
    return tags


def _zone_counts(tasks: Sequence[Versioned]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for task in tasks:
        zone = task.value.get("availabilityZone")
        if (
            zone
            and task.value.get("lastStatus") != "STOPPED"
            and task.value.get("desiredStatus") == "RUNNING"
        ):
            counts[zone] = counts.get(zone, 0) + 1
    return counts


def _population(tasks: Sequence[Versioned], *, head_id: str) -> dict[str, int]:
    """The primary deployment's tasks per capacity provider (for the strategy's split)."""
    counts: dict[str, int] = {}
    for task in tasks:
        doc = task.value
        provider = doc.get("capacityProviderName")
        if (
            provider
            and doc.get("dockyard", {}).get("deployment") == head_id
            and doc.get("lastStatus") != "STOPPED"
            and doc.get("desiredStatus") == "RUNNING"
        ):
            counts[provider] = counts.get(provider, 0) + 1
    return counts


async def _service_launch(run: ServicePass, ctx: RequestContext) -> Launch:
    doc = run.doc
    head = primary(doc)
    spec = run.record(head["id"]).get("spec", {})
    cluster = run.current.key.name.split("/", 1)[0]
    launch = await resolve_launch(run.ecs, ctx, cluster, spec, allow_inactive=True)
    return dataclasses.replace(
        launch,
        group=f"service:{doc['serviceName']}",
        started_by=head["id"],
        tags=service_tags(doc, launch.task_definition),
        enable_execute_command=bool(doc.get("enableExecuteCommand", False)),
        strategies=strategies_or_default(launch.strategies) if launch.launch_type != "FARGATE" else (),
        extra={"service": run.current.key.name, "deployment": head["id"]},
    )


async def launch_service_tasks(run: ServicePass, ctx: RequestContext, plan: ServicePlan) -> float | None:
    """Start the plan's new tasks; returns when to look again if some could not be placed."""
    ecs = run.ecs
    try:
        launch = await _service_launch(run, ctx)
    except AwsError as exc:
        run.post(f"(service {run.name}) failed to launch a task with (error {exc.message}).")
        await run.flush()
        return PLACEMENT_RETRY
    revision = run.current.revision
    document = run.doc

    def record_start(tasks: list[dict[str, Any]]) -> list[Write]:
        updated = copy.deepcopy(document)
        ids = [str(t["taskArn"]).rsplit("/", 1)[-1] for t in tasks]
        messages.post(updated, messages.started(run.name, ids), ids=ecs.ids, now=run.now)
        return [Put(run.current.key, updated, expected_revision=revision)]

    failures: list[dict[str, Any]]
    try:
        if plan.start_on:
            _, failures = await launch_tasks(
                ecs,
                ctx,
                launch,
                count=len(plan.start_on),
                instance_refs=list(plan.start_on),
                extra_writes=record_start,
            )
        else:
            _, failures = await launch_tasks(
                ecs,
                ctx,
                launch,
                count=plan.start,
                extra_writes=record_start,
                zone_counts=_zone_counts(run.tasks) if launch.subnets is not None else None,
                population=_population(run.tasks, head_id=primary(document)["id"]),
            )
    except Conflict as exc:
        raise TemporaryError("the service changed while its tasks were launched", delay=0.0) from exc
    except AwsError as exc:
        if exc.message not in (NO_INSTANCES, PROVISIONING_LIMIT):
            raise
        failures = [{"reason": exc.message}]
    if not failures:
        return None
    await _placement_failed(run, failures[0])
    return PLACEMENT_RETRY


async def _placement_failed(run: ServicePass, failure: Mapping[str, Any]) -> None:
    """Post the "unable to place" event on the service as it is now (after the launch's commit)."""
    current = await run.ecs.store.get(run.current.key)
    if current is None:
        return
    doc = copy.deepcopy(current.value)
    reason = str(failure.get("reason", ""))
    message = messages.unable_to_place(run.name, reason, failure.get("arn"))
    if not messages.post(doc, message, ids=run.ecs.ids, now=run.now):
        return
    writes: list[Write] = [
        Put(current.key, doc, expected_revision=current.revision),
        service_action_put(
            run.ecs.ids,
            doc,
            event_type="ERROR",
            event_name="SERVICE_TASK_PLACEMENT_FAILURE",
            now=run.now,
            extra={"reason": reason} if reason != NO_INSTANCES else {},
        ),
    ]
    try:
        await run.ecs.store.commit(writes)
    except Conflict as exc:
        raise TemporaryError("the service changed while its event was recorded", delay=0.0) from exc
