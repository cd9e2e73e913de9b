"""Finding stored task definitions, and what a task of one reserves.

    async def resolve_task_definition(ecs, ctx, ref, *, message=...) -> Versioned
        `ref` is "family" (the latest ACTIVE revision), "family:revision" or a full ARN
        (`arn:aws:ecs:<region>:<account>:task-definition/family:revision`). Any status is returned,
        INACTIVE and DELETE_IN_PROGRESS included: callers decide (RunTask rejects INACTIVE with
        InvalidParameterException "TaskDefinition is inactive"). Not found -> ClientException
        "TaskDefinition not found." (what RunTask / CreateService / UpdateService answer;
        DescribeTaskDefinition passes message="Unable to describe task definition.").

    def task_resources(td) -> (cpu_units, memory_mib)
        What placement reserves for one task (reference §2.6): task-level cpu if set, else the sum
        of container cpu (absent = 0); task-level memory if set, else the sum over containers of
        memoryReservation, else memory. Task values may be "1024", 1024, "1 vCPU" or "2 GB".

Store layout: kind `TASK_DEFINITION`, name `family:0000000007`, so a family's revisions list in
revision order under the prefix "family:".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import parse_arn
from dockyard.core.errors import AwsError
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.errors import ClientException
from dockyard.services.ecs.resources import TASK_DEFINITION, key, task_definition_key_name
from dockyard.services.ecs.taskdef_fargate import to_units
from dockyard.services.ecs.taskdef_normalize import normalize_task_cpu, normalize_task_memory
from dockyard.store import Versioned

__all__ = [
    "TaskDefinitionRef",
    "parse_reference",
    "resolve_task_definition",
    "get_revision",
    "latest_active",
    "family_revisions",
    "task_resources",
    "NOT_FOUND",
]

NOT_FOUND = "TaskDefinition not found."


@dataclass(frozen=True, slots=True)
class TaskDefinitionRef:
    family: str
    revision: str | None  # as written: may be non-numeric; None when only the family was given


def parse_reference(ctx: RequestContext, value: str) -> TaskDefinitionRef | None:
    """Split "family", "family:rev" or an ARN; None for an ARN that is not a task definition here."""
    text = value
    if value.startswith("arn:"):
        arn = parse_arn(value)
        if (
            arn is None
            or arn.service != "ecs"
            or not arn.resource.startswith("task-definition/")
            or arn.region != ctx.region
            or arn.account_id != ctx.account_id
        ):
            return None
        text = arn.resource[len("task-definition/") :]
    family, sep, revision = text.partition(":")
    if not family:
        return None
    return TaskDefinitionRef(family, revision if sep else None)


async def get_revision(ecs: Ecs, ctx: RequestContext, family: str, revision: int) -> Versioned | None:
    if revision < 1:
        return None
    return await ecs.store.get(key(ctx, TASK_DEFINITION, task_definition_key_name(family, revision)))


async def family_revisions(ecs: Ecs, ctx: RequestContext, family: str) -> list[Versioned]:
    """Every stored revision of one family, oldest first."""
    return await ecs.store.list(
        TASK_DEFINITION, account_id=ctx.account_id, region=ctx.region, prefix=f"{family}:"
    )


async def latest_active(ecs: Ecs, ctx: RequestContext, family: str) -> Versioned | None:
    for found in reversed(await family_revisions(ecs, ctx, family)):
        if found.value.get("status") == "ACTIVE":
            return found
    return None


async def resolve_task_definition(
    ecs: Ecs, ctx: RequestContext, ref: str, *, message: str = NOT_FOUND
) -> Versioned:
    found = await _find(ecs, ctx, ref)
    if found is None:
        raise ClientException(message)
    return found


async def _find(ecs: Ecs, ctx: RequestContext, ref: str) -> Versioned | None:
    parsed = parse_reference(ctx, ref)
    if parsed is None:
        return None
    if parsed.revision is None:
        return await latest_active(ecs, ctx, parsed.family)
    if not parsed.revision.isdigit():
        return None
    return await get_revision(ecs, ctx, parsed.family, int(parsed.revision))


def _task_units(value: Any, parse: Any) -> int | None:
    units = to_units(value)
    if units is not None or value is None:
        return units
    try:
        return int(parse(str(value)))
    except AwsError:
        return None


def task_resources(td: Mapping[str, Any]) -> tuple[int, int]:
    containers = td.get("containerDefinitions") or []
    cpu = _task_units(td.get("cpu"), normalize_task_cpu)
    if cpu is None:
        cpu = sum(int(c.get("cpu") or 0) for c in containers)
    memory = _task_units(td.get("memory"), normalize_task_memory)
    if memory is None:
        memory = sum(int(c.get("memoryReservation") or c.get("memory") or 0) for c in containers)
    return cpu, memory
