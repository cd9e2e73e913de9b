"""The registry itself: GetAuthorizationToken and DescribeRegistry.

GetAuthorizationToken's token is `base64("AWS:" + password)`: `aws ecr get-login-password`
prints the password and `docker login --username AWS --password-stdin <proxyEndpoint host>`
takes it. The password is signed by the server (`dockyard.registry.auth`), names the registry
(account and Region) and expires after 12 hours.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.registry.auth import authorization_token
from dockyard.registry.model import REGISTRY, Scope
from dockyard.services.ecr.api import api
from dockyard.services.ecr.deps import Ecr
from dockyard.store import Key

__all__ = ["describe_registry", "get_authorization_token"]


@api.operation("GetAuthorizationToken")
async def get_authorization_token(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    registry_ids = [str(r) for r in request.get("registryIds") or []] or [ctx.account_id]
    data = []
    for registry_id in dict.fromkeys(registry_ids):
        password, expires_at = ecr.registry.signer.mint(Scope(registry_id, ctx.region), ctx.principal)
        data.append(
            {
                "authorizationToken": authorization_token(password),
                "expiresAt": expires_at,
                "proxyEndpoint": ecr.registry.settings.proxy_endpoint,
            }
        )
    return {"authorizationData": data}


@api.operation("DescribeRegistry")
async def describe_registry(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found = await ecr.store.get(Key(ctx.account_id, ctx.region, REGISTRY, "registry"))
    settings = found.value if found is not None else {}
    replication = settings.get("replicationConfiguration") or {"rules": []}
    return {"registryId": ctx.account_id, "replicationConfiguration": replication}
