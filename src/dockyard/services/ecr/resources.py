"""Which registry a request works in, and finding repositories in it."""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.registry.model import Repository, Scope
from dockyard.services.ecr.deps import Ecr
from dockyard.services.ecr.errors import translated

__all__ = ["repository", "scope_of"]


def scope_of(ctx: RequestContext, request: dict[str, Any]) -> Scope:
    """The registry a request names (`registryId`, else the caller's own) in its Region."""
    return Scope(str(request.get("registryId") or ctx.account_id), ctx.region)


async def repository(ecr: Ecr, scope: Scope, name: str) -> Repository:
    """The repository `name`; RepositoryNotFoundException when missing."""
    with translated(name, scope.account_id):
        return await ecr.catalog.require_repository(scope, name)
