"""Tags of public repositories: TagResource, UntagResource, ListTagsForResource, by the
repository's ARN (`arn:aws:ecr-public::<account>:repository/<name>`); at most 50 tags, changed
as ECR changes a private repository's (`dockyard.services.ecr.tags`)."""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import is_arn, parse_arn
from dockyard.registry.model import Scope
from dockyard.registry.public import public_scope
from dockyard.services.ecr import tags as ecr_tags
from dockyard.services.ecrpublic.api import api
from dockyard.services.ecrpublic.deps import EcrPublic
from dockyard.services.ecrpublic.errors import InvalidParameterException

__all__ = ["list_tags_for_resource", "tag_resource", "untag_resource"]


def _target(arn: str) -> tuple[Scope, str]:
    """(public registry, repository name) of a repository ARN; InvalidParameterException else."""
    parsed = parse_arn(arn) if is_arn(arn) else None
    if parsed is None or parsed.service != "ecr-public" or parsed.resource_type != "repository":
        raise InvalidParameterException(
            "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'"
        )
    return public_scope(parsed.account_id), parsed.resource_path


@api.operation("TagResource")
async def tag_resource(ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    await ecr_tags.tag(ecr.ecr, *_target(str(request["resourceArn"])), request["tags"])
    return {}


@api.operation("UntagResource")
async def untag_resource(ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    await ecr_tags.untag(ecr.ecr, *_target(str(request["resourceArn"])), request["tagKeys"])
    return {}


@api.operation("ListTagsForResource")
async def list_tags_for_resource(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    return {"tags": await ecr_tags.tags_of(ecr.ecr, *_target(str(request["resourceArn"])))}
