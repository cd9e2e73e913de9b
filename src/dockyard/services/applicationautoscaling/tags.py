"""Tags on scalable targets: TagResource, UntagResource, ListTagsForResource (by target ARN).

A target holds at most 50 tags; keys starting with `aws:` are reserved for AWS.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.applicationautoscaling.api import api
from dockyard.services.applicationautoscaling.deps import AppScaling
from dockyard.services.applicationautoscaling.errors import (
    ConcurrentUpdateException,
    ResourceNotFoundException,
    TooManyTagsException,
    ValidationException,
)
from dockyard.services.applicationautoscaling.resources import TARGET
from dockyard.services.applicationautoscaling.scaling import target_put
from dockyard.store import Conflict, Versioned

__all__ = ["list_tags_for_resource", "tag_resource", "untag_resource"]

_MAX_TAGS = 50
_ATTEMPTS = 8


async def _target(app: AppScaling, ctx: RequestContext, arn: str) -> Versioned:
    found = await app.store.find(TARGET, "arn", arn, account_id=ctx.account_id, region=ctx.region)
    if not found:
        raise ResourceNotFoundException(f"No scalable target found for ARN {arn}", ResourceName=arn)
    return found[0]


@api.operation("ListTagsForResource")
async def list_tags_for_resource(
    app: AppScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    target = await _target(app, ctx, request["ResourceARN"])
    return {"Tags": dict(target.value["dockyard"].get("tags") or {})}


@api.operation("TagResource")
async def tag_resource(app: AppScaling, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    tags: dict[str, str] = request["Tags"]
    if any(k.lower().startswith("aws:") for k in tags):
        raise ValidationException("Tag keys starting with 'aws:' are reserved for use by AWS")
    for _ in range(_ATTEMPTS):
        target = await _target(app, ctx, request["ResourceARN"])
        doc = copy.deepcopy(target.value)
        merged = {**(doc["dockyard"].get("tags") or {}), **tags}
        if len(merged) > _MAX_TAGS:
            raise TooManyTagsException(
                f"A scalable target can have at most {_MAX_TAGS} tags.", ResourceName=request["ResourceARN"]
            )
        doc["dockyard"]["tags"] = merged
        try:
            await app.store.commit([target_put(target, doc)])
        except Conflict:
            continue
        return {}
    raise ConcurrentUpdateException("The scalable target is being changed by another request; try again.")


@api.operation("UntagResource")
async def untag_resource(app: AppScaling, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    for _ in range(_ATTEMPTS):
        target = await _target(app, ctx, request["ResourceARN"])
        doc = copy.deepcopy(target.value)
        doc["dockyard"]["tags"] = {
            k: v for k, v in (doc["dockyard"].get("tags") or {}).items() if k not in set(request["TagKeys"])
        }
        try:
            await app.store.commit([target_put(target, doc)])
        except Conflict:
            continue
        return {}
    raise ConcurrentUpdateException("The scalable target is being changed by another request; try again.")
