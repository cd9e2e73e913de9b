"""Repository tags: TagResource, UntagResource, ListTagsForResource (by repository ARN).

A repository holds at most 50 tags; keys may not start with `aws:`. `tag`, `untag` and `tags_of`
work on a repository of any registry: ECR Public's operations use them for public ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import is_arn, parse_arn
from dockyard.core.tags import MAX_TAGS
from dockyard.registry.model import Scope
from dockyard.services.ecr.api import api
from dockyard.services.ecr.deps import Ecr
from dockyard.services.ecr.errors import InvalidParameterException, TooManyTagsException, translated
from dockyard.services.ecr.repositories import check_tag_list
from dockyard.services.ecr.resources import repository

__all__ = ["list_tags_for_resource", "tag", "tag_resource", "tags_of", "untag", "untag_resource"]

Tags = list[dict[str, str]]


def _target(ctx: RequestContext, arn: str) -> tuple[Scope, str]:
    """(registry, repository name) of a repository ARN; InvalidParameterException otherwise."""
    parsed = parse_arn(arn) if is_arn(arn) else None
    if parsed is None or parsed.service != "ecr" or parsed.resource_type != "repository":
        raise InvalidParameterException(
            "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'"
        )
    return Scope(parsed.account_id, parsed.region or ctx.region), parsed.resource_path


async def _change_tags(ecr: Ecr, scope: Scope, name: str, apply: Callable[[Tags], Tags]) -> None:
    def change(doc: dict[str, Any]) -> None:
        internal = doc.setdefault("dockyard", {})
        internal["tags"] = apply(list(internal.get("tags") or []))

    with translated(name, scope.account_id):
        await ecr.catalog.update_repository(scope, name, change)


async def tag(ecr: Ecr, scope: Scope, name: str, given: list[dict[str, Any]]) -> None:
    """Add or overwrite tags (at most 50 in all)."""
    new = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in given]
    check_tag_list(new)

    def merge(current: Tags) -> Tags:
        merged = {t["Key"]: t["Value"] for t in current}
        merged.update({t["Key"]: t["Value"] for t in new})
        if len(merged) > MAX_TAGS:
            raise TooManyTagsException(f"The number of tags exceeds the limit of {MAX_TAGS}.")
        return [{"Key": k, "Value": v} for k, v in merged.items()]

    await _change_tags(ecr, scope, name, merge)


async def untag(ecr: Ecr, scope: Scope, name: str, keys: list[Any]) -> None:
    removed = {str(k) for k in keys}
    await _change_tags(ecr, scope, name, lambda current: [t for t in current if t["Key"] not in removed])


async def tags_of(ecr: Ecr, scope: Scope, name: str) -> Tags:
    return (await repository(ecr, scope, name)).tags


@api.operation("TagResource")
async def tag_resource(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    await tag(ecr, *_target(ctx, str(request["resourceArn"])), request["tags"])
    return {}


@api.operation("UntagResource")
async def untag_resource(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    await untag(ecr, *_target(ctx, str(request["resourceArn"])), request["tagKeys"])
    return {}


@api.operation("ListTagsForResource")
async def list_tags_for_resource(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    return {"tags": await tags_of(ecr, *_target(ctx, str(request["resourceArn"])))}
