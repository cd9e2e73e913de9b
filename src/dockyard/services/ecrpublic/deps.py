"""What ECR Public handlers are given (the same registry as ECR's), and where a request works."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.registry.catalog import Catalog
from dockyard.registry.model import Scope
from dockyard.registry.public import PUBLIC_REGION, alias_account, public_scope
from dockyard.registry.service import Registry
from dockyard.services.ecr.deps import Ecr
from dockyard.store import Store

__all__ = ["EcrPublic", "public_context", "scope_of"]


@dataclass(frozen=True, slots=True)
class EcrPublic:
    store: Store
    clock: Clock
    ids: IdGenerator
    registry: Registry

    @property
    def catalog(self) -> Catalog:
        return self.registry.catalog

    @property
    def host(self) -> str:
        """The host of public repository URIs."""
        return self.registry.settings.public_registry_host

    @property
    def ecr(self) -> Ecr:
        """ECR's dependencies over the same registry, for the operations both APIs share."""
        return Ecr(self.store, self.clock, self.ids, self.registry)


def scope_of(ctx: RequestContext, request: dict[str, Any]) -> Scope:
    """The public registry a request names (`registryId`: an account or an alias), else the
    caller's own. ECR Public is global: the request's Region does not matter."""
    given = str(request.get("registryId") or ctx.account_id)
    return public_scope(alias_account(given) or given)


def public_context(ctx: RequestContext, request: dict[str, Any]) -> tuple[RequestContext, dict[str, Any]]:
    """The context and request with which an ECR handler works in the public registry."""
    scope = scope_of(ctx, request)
    return replace(ctx, region=PUBLIC_REGION), {**request, "registryId": scope.account_id}
