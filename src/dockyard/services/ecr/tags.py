"""Repository tags: TagResource, UntagResource, ListTagsForResource (by repository ARN).

A repository holds at most 50 tags; keys may not start with `aws:`.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import is_arn, parse_arn
from dockyard.core.tags import MAX_TAGS
from dockyard.registry.model import Repository, Scope
from dockyard.services.ecr.api import api
from dockyard.services.ecr.deps import Ecr
from dockyard.services.ecr.errors import InvalidParameterException, TooManyTagsException, translated
from dockyard.services.ecr.repositories import check_tag_list
from dockyard.services.ecr.resources import repository

__all__ = ["list_tags_for_resource", "tag_resource", "untag_resource"]


def _target(ctx: RequestContext, arn: str) -> tuple[Scope, str]:
    """(registry, repository name) of a repository ARN; InvalidParameterException otherwise."""
    parsed = parse_arn(arn) if is_arn(arn) else None
    if parsed is None or parsed.service != "ecr" or parsed.resource_type != "repository":
        raise InvalidParameterException(
            "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'"
        )
    return Scope(parsed.account_id, parsed.region or ctx.region), parsed.resource_path


async def _change_tags(ecr: Ecr, scope: Scope, name: str, apply: Any) -> Repository:
    def change(doc: dict[str, Any]) -> None:
        internal = doc.setdefault("dockyard", {})
        internal["tags"] = apply(list(internal.get("tags") or []))

    with translated(name, scope.account_id):
        return await ecr.catalog.update_repository(scope, name, change)


@api.operation("TagResource")
async def tag_resource(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope, name = _target(ctx, str(request["resourceArn"]))
    new = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in request["tags"]]
    check_tag_list(new)

    def merge(current: list[dict[str, str]]) -> list[dict[str, str]]:
        merged = {t["Key"]: t["Value"] for t in current}
        merged.update({t["Key"]: t["Value"] for t in new})
        if len(merged) > MAX_TAGS:
            raise TooManyTagsException(f"The number of tags exceeds the limit of {MAX_TAGS}.")
        return [{"Key": k, "Value": v} for k, v in merged.items()]

    await _change_tags(ecr, scope, name, merge)
    return {}


@api.operation("UntagResource")
async def untag_resource(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope, name = _target(ctx, str(request["resourceArn"]))
    keys = {str(k) for k in request["tagKeys"]}
    await _change_tags(ecr, scope, name, lambda current: [t for t in current if t["Key"] not in keys])
    return {}


@api.operation("ListTagsForResource")
async def list_tags_for_resource(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope, name = _target(ctx, str(request["resourceArn"]))
    repo = await repository(ecr, scope, name)
    return {"tags": repo.tags}
