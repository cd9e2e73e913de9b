"""Parameter tags: AddTagsToResource, RemoveTagsFromResource, ListTagsForResource.

Only `ResourceType=Parameter` exists in Dockyard, so any other type names no resource
(`InvalidResourceId`). A parameter holds at most 50 tags.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import ValidationException
from dockyard.core.tags import MAX_TAGS, TagError, check_tags
from dockyard.services.ssm.api import api
from dockyard.services.ssm.deps import Ssm
from dockyard.services.ssm.documents import tags
from dockyard.services.ssm.errors import InvalidResourceId, ParameterNotFound, TooManyTagsError
from dockyard.services.ssm.resources import lookup, replace
from dockyard.store import Versioned

__all__ = ["add_tags_to_resource", "list_tags_for_resource", "remove_tags_from_resource"]


async def _parameter(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> Versioned:
    if request["ResourceType"] != "Parameter":
        raise InvalidResourceId("")
    try:
        found, _ = await lookup(ssm, ctx, str(request["ResourceId"]))
    except (ParameterNotFound, ValidationException) as exc:
        raise InvalidResourceId("") from exc
    return found


@api.operation("AddTagsToResource")
async def add_tags_to_resource(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    new = {str(t["Key"]): str(t["Value"]) for t in request["Tags"]}
    try:
        check_tags([{"key": k, "value": v} for k, v in new.items()])
    except TagError as exc:
        raise ValidationException(str(exc)) from exc
    while True:
        found = await _parameter(ssm, ctx, request)
        merged = {t["Key"]: t["Value"] for t in tags(found.value)}
        merged.update(new)
        if len(merged) > MAX_TAGS:
            raise TooManyTagsError("")
        tags(found.value)[:] = [{"Key": k, "Value": v} for k, v in merged.items()]
        if await replace(ssm, found, found.value):
            return {}


@api.operation("RemoveTagsFromResource")
async def remove_tags_from_resource(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    keys = {str(k) for k in request["TagKeys"]}
    while True:
        found = await _parameter(ssm, ctx, request)
        tags(found.value)[:] = [t for t in tags(found.value) if t["Key"] not in keys]
        if await replace(ssm, found, found.value):
            return {}


@api.operation("ListTagsForResource")
async def list_tags_for_resource(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found = await _parameter(ssm, ctx, request)
    return {"TagList": list(tags(found.value))}
