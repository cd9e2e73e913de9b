"""Tags of public repositories: TagResource, UntagResource, ListTagsForResource, by the
repository's ARN (`arn:aws:ecr-public::<account>:repository/<name>`); at most 50 tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import is_arn, parse_arn
from dockyard.core.tags import MAX_TAGS
from dockyard.registry.model import Repository, Scope
from dockyard.registry.public import public_scope
from dockyard.services.ecr.repositories import check_tag_list
from dockyard.services.ecrpublic.api import api
from dockyard.services.ecrpublic.deps import EcrPublic
from dockyard.services.ecrpublic.errors import InvalidParameterException, TooManyTagsException, translated

__all__ = ["list_tags_for_resource", "tag_resource", "untag_resource"]

Tags = list[dict[str, str]]


def _target(arn: str) -> tuple[Scope, str]:
    """(public registry, repository name) of a repository ARN; InvalidParameterException else."""
    parsed = parse_arn(arn) if is_arn(arn) else None
    if parsed is None or parsed.service != "ecr-public" or parsed.resource_type != "repository":
        raise InvalidParameterException(
            "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'"
        )
    return public_scope(parsed.account_id), parsed.resource_path


async def _change_tags(ecr: EcrPublic, arn: str, apply: Callable[[Tags], Tags]) -> Repository:
    scope, name = _target(arn)

    def change(doc: dict[str, Any]) -> None:
        internal = doc.setdefault("dockyard", {})
        internal["tags"] = apply(list(internal.get("tags") or []))

    with translated(name, scope.account_id):
        return await ecr.catalog.update_repository(scope, name, change)


@api.operation("TagResource")
async def tag_resource(ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    new = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in request["tags"]]
    check_tag_list(new)

    def merge(current: Tags) -> Tags:
        merged = {t["Key"]: t["Value"] for t in current}
        merged.update({t["Key"]: t["Value"] for t in new})
        if len(merged) > MAX_TAGS:
            raise TooManyTagsException(f"The number of tags exceeds the limit of {MAX_TAGS}.")
        return [{"Key": k, "Value": v} for k, v in merged.items()]

    await _change_tags(ecr, str(request["resourceArn"]), merge)
    return {}


@api.operation("UntagResource")
async def untag_resource(ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    keys = {str(k) for k in request["tagKeys"]}
    await _change_tags(
        ecr, str(request["resourceArn"]), lambda current: [t for t in current if t["Key"] not in keys]
    )
    return {}


@api.operation("ListTagsForResource")
async def list_tags_for_resource(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope, name = _target(str(request["resourceArn"]))
    with translated(name, scope.account_id):
        repo = await ecr.catalog.require_repository(scope, name)
    return {"tags": repo.tags}
