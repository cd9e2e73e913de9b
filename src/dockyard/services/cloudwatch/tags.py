"""TagResource, UntagResource and ListTagsForResource on alarms (by ARN).

Tags live in the alarm document; an ARN that names no alarm of the caller's account and region
is `ResourceNotFoundException`. At most 50 tags per alarm; keys starting with `aws:` are AWS's.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.cloudwatch.alarm_documents import alarm_key
from dockyard.services.cloudwatch.api import api
from dockyard.services.cloudwatch.deps import CloudWatch
from dockyard.services.cloudwatch.errors import InvalidParameterValueException, ResourceNotFoundException
from dockyard.store import Conflict, Key, Put, Versioned

__all__ = ["tag_resource", "untag_resource", "list_tags_for_resource"]

_MAX_TAGS = 50
_ATTEMPTS = 5


def _key(ctx: RequestContext, arn: str) -> Key:
    prefix = f"arn:aws:cloudwatch:{ctx.region}:{ctx.account_id}:alarm:"
    if not arn.startswith(prefix) or len(arn) == len(prefix):
        raise ResourceNotFoundException(f"The specified resource {arn} does not exist.")
    return alarm_key(ctx.account_id, ctx.region, arn[len(prefix) :])


async def _alarm(cw: CloudWatch, ctx: RequestContext, arn: str) -> Versioned:
    found = await cw.store.get(_key(ctx, arn))
    if found is None:
        raise ResourceNotFoundException(f"The specified resource {arn} does not exist.")
    return found


def _tags(doc: dict[str, Any]) -> list[dict[str, str]]:
    return list((doc.get("dockyard") or {}).get("tags") or [])


async def _update(cw: CloudWatch, ctx: RequestContext, arn: str, change: Any) -> None:
    for _ in range(_ATTEMPTS):
        found = await _alarm(cw, ctx, arn)
        doc = dict(found.value)
        internal = dict(doc.get("dockyard") or {})
        internal["tags"] = change(_tags(doc))
        doc["dockyard"] = internal
        try:
            await cw.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        except Conflict:
            continue
        return
    raise Conflict(found.key, None, None)


@api.operation("TagResource")
async def tag_resource(cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    for tag in request["Tags"]:
        if tag["Key"].lower().startswith("aws:"):
            raise InvalidParameterValueException("Tag keys starting with 'aws:' are reserved for AWS.")

    def merge(current: list[dict[str, str]]) -> list[dict[str, str]]:
        merged = {t["Key"]: t["Value"] for t in current}
        merged.update({t["Key"]: t["Value"] for t in request["Tags"]})
        if len(merged) > _MAX_TAGS:
            raise InvalidParameterValueException(f"The resource can have at most {_MAX_TAGS} tags.")
        return [{"Key": k, "Value": v} for k, v in merged.items()]

    await _update(cw, ctx, request["ResourceARN"], merge)
    return {}


@api.operation("UntagResource")
async def untag_resource(cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    remove = set(request["TagKeys"])
    await _update(cw, ctx, request["ResourceARN"], lambda tags: [t for t in tags if t["Key"] not in remove])
    return {}


@api.operation("ListTagsForResource")
async def list_tags_for_resource(
    cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    found = await _alarm(cw, ctx, request["ResourceARN"])
    return {"Tags": _tags(found.value)}
