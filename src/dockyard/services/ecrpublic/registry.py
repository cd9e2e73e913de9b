"""The public registry: GetAuthorizationToken, DescribeRegistries, Get/PutRegistryCatalogData.

GetAuthorizationToken's token is ECR's (`base64("AWS:" + password)`, 12 hours; see
`dockyard.registry.auth`), so `aws ecr-public get-login-password | docker login --username AWS
--password-stdin <public host>` logs docker in for pushes. Pulls from public repositories need
no login. Each account has one public registry whose alias is `a<account id>`; its display
name is the only catalog data (empty until PutRegistryCatalogData).
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.registry.auth import authorization_token
from dockyard.registry.model import REGISTRY, Scope
from dockyard.registry.public import default_alias, public_scope, registry_arn
from dockyard.services.ecrpublic.api import api
from dockyard.services.ecrpublic.deps import EcrPublic
from dockyard.services.ecrpublic.errors import InvalidParameterException
from dockyard.store import Key, Put

__all__ = [
    "describe_registries",
    "get_authorization_token",
    "get_registry_catalog_data",
    "put_registry_catalog_data",
]

_CATALOG = "public-catalog"  # the REGISTRY document of a public registry holding its catalog data


def _catalog_key(account_id: str) -> Key:
    scope = public_scope(account_id)
    return Key(scope.account_id, scope.region, REGISTRY, _CATALOG)


@api.operation("GetAuthorizationToken")
async def get_authorization_token(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    password, expires_at = ecr.registry.signer.mint(Scope(ctx.account_id, ctx.region), ctx.principal)
    return {
        "authorizationData": {"authorizationToken": authorization_token(password), "expiresAt": expires_at}
    }


@api.operation("DescribeRegistries")
async def describe_registries(ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    alias = default_alias(ctx.account_id)
    registry = {
        "registryId": ctx.account_id,
        "registryArn": registry_arn(ctx.account_id),
        "registryUri": f"{ecr.host}/{alias}",
        "verified": False,
        "aliases": [
            {"name": alias, "status": "ACTIVE", "primaryRegistryAlias": True, "defaultRegistryAlias": True}
        ],
    }
    try:
        page, token = paginate(
            [registry],
            key=lambda r: str(r["registryId"]),
            max_results=request.get("maxResults"),
            next_token=request.get("nextToken"),
        )
    except InvalidToken:
        raise InvalidParameterException("Invalid parameter at 'nextToken': the token is not valid") from None
    response: dict[str, Any] = {"registries": page}
    if token:
        response["nextToken"] = token
    return response


@api.operation("GetRegistryCatalogData")
async def get_registry_catalog_data(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    found = await ecr.store.get(_catalog_key(ctx.account_id))
    return {"registryCatalogData": {"displayName": str(found.value["displayName"]) if found else ""}}


@api.operation("PutRegistryCatalogData")
async def put_registry_catalog_data(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    key = _catalog_key(ctx.account_id)
    found = await ecr.store.get(key)
    name = request.get("displayName")
    display = str(name) if name is not None else (str(found.value["displayName"]) if found else "")
    await ecr.store.commit([Put(key, {"displayName": display})])
    return {"registryCatalogData": {"displayName": display}}
