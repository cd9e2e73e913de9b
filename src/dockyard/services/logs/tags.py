"""Log group tags: TagLogGroup / UntagLogGroup / ListTagsLogGroup (by name, the older calls) and
TagResource / UntagResource / ListTagsForResource (by log group ARN, with or without `:*`).

Tags live in the group document (`dockyard.tags`, a map); at most 50 per group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.services.logs.api import api
from dockyard.services.logs.deps import Logs
from dockyard.services.logs.errors import (
    InvalidParameterException,
    ResourceNotFoundException,
    TooManyTagsException,
)
from dockyard.services.logs.names import group_name_from_arn
from dockyard.services.logs.resources import get_group, replace
from dockyard.store import Versioned

__all__ = [
    "MAX_TAGS",
    "check_tags",
    "list_tags_for_resource",
    "list_tags_log_group",
    "tag_log_group",
    "tag_resource",
    "untag_log_group",
    "untag_resource",
]

MAX_TAGS = 50
_TOO_MANY = f"A resource can have no more than {MAX_TAGS} tags."


def check_tags(
    tags: Mapping[str, str], *, error: type[AwsError] = InvalidParameterException
) -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise error(_TOO_MANY)
    return {str(k): str(v) for k, v in tags.items()}


async def _tag(
    logs: Logs, ctx: RequestContext, name: str, new: Mapping[str, str], error: type[AwsError]
) -> None:
    while True:
        found = await get_group(logs, ctx, name)
        doc = dict(found.value)
        merged = {**doc["dockyard"].get("tags", {}), **new}
        doc["dockyard"] = {**doc["dockyard"], "tags": check_tags(merged, error=error)}
        if await replace(logs, found, doc):
            return


async def _untag(logs: Logs, ctx: RequestContext, name: str, keys: Iterable[str]) -> None:
    remove = set(keys)
    while True:
        found = await get_group(logs, ctx, name)
        doc = dict(found.value)
        tags = {k: v for k, v in doc["dockyard"].get("tags", {}).items() if k not in remove}
        doc["dockyard"] = {**doc["dockyard"], "tags": tags}
        if await replace(logs, found, doc):
            return


def _tags_of(found: Versioned) -> dict[str, Any]:
    return {"tags": dict(found.value["dockyard"].get("tags") or {})}


def _group_of_arn(ctx: RequestContext, resource_arn: str) -> str:
    name = group_name_from_arn(resource_arn, region=ctx.region, account=ctx.account_id)
    if name is None:
        raise ResourceNotFoundException("The specified resource does not exist.")
    return name


@api.operation("TagLogGroup")
async def tag_log_group(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    await _tag(logs, ctx, str(request["logGroupName"]), dict(request["tags"]), InvalidParameterException)
    return {}


@api.operation("UntagLogGroup")
async def untag_log_group(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    await _untag(logs, ctx, str(request["logGroupName"]), request["tags"])
    return {}


@api.operation("ListTagsLogGroup")
async def list_tags_log_group(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    return _tags_of(await get_group(logs, ctx, str(request["logGroupName"])))


@api.operation("TagResource")
async def tag_resource(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name = _group_of_arn(ctx, str(request["resourceArn"]))
    await _tag(logs, ctx, name, dict(request["tags"]), TooManyTagsException)
    return {}


@api.operation("UntagResource")
async def untag_resource(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    await _untag(logs, ctx, _group_of_arn(ctx, str(request["resourceArn"])), request["tagKeys"])
    return {}


@api.operation("ListTagsForResource")
async def list_tags_for_resource(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    return _tags_of(await get_group(logs, ctx, _group_of_arn(ctx, str(request["resourceArn"]))))
