"""Repository policies of public repositories: SetRepositoryPolicy, GetRepositoryPolicy,
DeleteRepositoryPolicy. Each is ECR's own handler (`dockyard.services.ecr.policies`) run in the
public registry: the text is checked as ECR checks it and stored with the repository; as for
private repositories it is not evaluated yet (anyone may pull a public repository anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ecr import policies as ecr_policies
from dockyard.services.ecrpublic.api import api
from dockyard.services.ecrpublic.deps import EcrPublic, public_context

__all__ = ["delete_repository_policy", "get_repository_policy", "set_repository_policy"]


@api.operation("SetRepositoryPolicy")
async def set_repository_policy(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> Mapping[str, Any]:
    return await ecr_policies.set_repository_policy(ecr.ecr, *public_context(ctx, request))


@api.operation("GetRepositoryPolicy")
async def get_repository_policy(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> Mapping[str, Any]:
    return await ecr_policies.get_repository_policy(ecr.ecr, *public_context(ctx, request))


@api.operation("DeleteRepositoryPolicy")
async def delete_repository_policy(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> Mapping[str, Any]:
    return await ecr_policies.delete_repository_policy(ecr.ecr, *public_context(ctx, request))
