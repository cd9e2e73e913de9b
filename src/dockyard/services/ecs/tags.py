"""ECS tagging: TagResource, UntagResource and ListTagsForResource for every taggable ECS resource.

Tags live in each document's top-level `tags` member (`[{key, value}]`). Which document an ARN
names is table-driven: `TAG_TARGETS` maps an ARN's resource type to a `TagTarget` that turns the
ARN's resource path into a store key, says what a missing resource is, and gives the document's
index labels (so a tag write keeps them). New resource types slot in by adding an entry.

```
arn:aws:ecs:<region>:<account>:<type>/<path> -> TAG_TARGETS[type] -> Key -> document["tags"]
```
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import parse_arn
from dockyard.core.errors import AwsError
from dockyard.core.tags import TagError, check_tags, merge_tags
from dockyard.services.ecs.api import api
from dockyard.services.ecs.cluster_documents import SERVICE
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.errors import (
    ClusterNotFoundException,
    InvalidParameterException,
    ResourceNotFoundException,
)
from dockyard.services.ecs.resources import (
    CAPACITY_PROVIDER,
    CLUSTER,
    CONTAINER_INSTANCE,
    TASK,
    TASK_DEFINITION,
    key,
    task_definition_key_name,
)
from dockyard.services.ecs.task_launch import task_labels
from dockyard.store import Conflict, Key, Put, Versioned

__all__ = [
    "TagTarget",
    "TAG_TARGETS",
    "tag_target_key",
    "tag_resource",
    "untag_resource",
    "list_tags_for_resource",
]

Document = dict[str, Any]


def _not_found() -> AwsError:
    return ResourceNotFoundException("The specified resource wasn't found.")


def _no_labels(doc: Document) -> Mapping[str, str]:
    return {}


@dataclass(frozen=True, slots=True)
class TagTarget:
    kind: str
    # The store name for an ARN's resource path, or None when the path is malformed.
    name: Callable[[str], str | None]
    missing: Callable[[], AwsError] = _not_found
    # Raise when the document exists but cannot be tagged in its current state.
    check: Callable[[Document], None] | None = None
    labels: Callable[[Document], Mapping[str, str]] = field(default=_no_labels)


def _two_part(path: str) -> str | None:
    """`<cluster>/<id or name>`; the old one-part ARN format cannot be used for tagging."""
    parts = path.split("/")
    if len(parts) == 1 and parts[0]:
        raise InvalidParameterException("Long arn format must be used for tagging operations")
    return path if len(parts) == 2 and all(parts) else None


def _one_part(path: str) -> str | None:
    return path if path and "/" not in path else None


def _task_definition(path: str) -> str | None:
    family, _, revision = path.rpartition(":")
    if not family or not revision.isdigit():
        return None
    return task_definition_key_name(family, int(revision))


def _active_cluster(doc: Document) -> None:
    if doc.get("status") != "ACTIVE":
        raise InvalidParameterException(
            "The specified cluster is inactive. Specify an active cluster and try again."
        )


TAG_TARGETS: dict[str, TagTarget] = {
    "cluster": TagTarget(
        CLUSTER,
        _one_part,
        missing=lambda: ClusterNotFoundException("Cluster not found."),
        check=_active_cluster,
    ),
    "task": TagTarget(TASK, _two_part, labels=task_labels),
    "container-instance": TagTarget(CONTAINER_INSTANCE, _two_part),
    "task-definition": TagTarget(TASK_DEFINITION, _task_definition),
    "service": TagTarget(SERVICE, _two_part),
    "capacity-provider": TagTarget(CAPACITY_PROVIDER, _one_part),
}


def tag_target_key(ctx: RequestContext, resource_arn: str) -> tuple[TagTarget, Key]:
    """The table entry and store key an ECS ARN names, or InvalidParameterException."""
    parsed = parse_arn(resource_arn)
    if parsed is None or parsed.service != "ecs":
        raise InvalidParameterException("The ARN provided is not a valid Amazon ECS resource ARN.")
    if parsed.account_id != ctx.account_id:
        raise InvalidParameterException(
            f"Invalid identifier: Identifier is for {parsed.account_id}. Your accountId is {ctx.account_id}"
        )
    target = TAG_TARGETS.get(parsed.resource_type)
    if target is None or "/" not in parsed.resource:
        raise InvalidParameterException("The specified resource type is not supported for tagging.")
    name = target.name(parsed.resource_path)
    if name is None:
        raise InvalidParameterException("The ARN provided is not a valid Amazon ECS resource ARN.")
    if parsed.region != ctx.region:
        raise target.missing()
    return target, key(ctx, target.kind, name)


async def _load(ecs: Ecs, ctx: RequestContext, resource_arn: str) -> tuple[TagTarget, Versioned]:
    target, at = tag_target_key(ctx, resource_arn)
    found = await ecs.store.get(at)
    if found is None:
        raise target.missing()
    if target.check is not None:
        target.check(found.value)
    return target, found


async def _write_tags(
    ecs: Ecs,
    ctx: RequestContext,
    resource_arn: str,
    change: Callable[[list[dict[str, str]]], list[dict[str, str]]],
) -> None:
    while True:
        target, found = await _load(ecs, ctx, resource_arn)
        doc = dict(found.value)
        doc["tags"] = change(list(doc.get("tags", [])))
        try:
            await ecs.store.commit(
                [Put(found.key, doc, expected_revision=found.revision, labels=dict(target.labels(doc)))]
            )
        except Conflict:
            continue
        return


@api.operation("TagResource")
async def tag_resource(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    tags: list[dict[str, str]] = request["tags"]
    try:
        check_tags(tags)
    except TagError as exc:
        raise InvalidParameterException(str(exc)) from exc

    def add(current: list[dict[str, str]]) -> list[dict[str, str]]:
        merged = merge_tags(current, tags)
        try:
            check_tags(merged)
        except TagError as exc:
            raise InvalidParameterException(str(exc)) from exc
        return merged

    await _write_tags(ecs, ctx, request["resourceArn"], add)
    return {}


@api.operation("UntagResource")
async def untag_resource(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    keys = set(request["tagKeys"])
    await _write_tags(
        ecs, ctx, request["resourceArn"], lambda current: [t for t in current if t["key"] not in keys]
    )
    return {}


@api.operation("ListTagsForResource")
async def list_tags_for_resource(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    _, found = await _load(ecs, ctx, request["resourceArn"])
    return {"tags": list(found.value.get("tags", []))}
