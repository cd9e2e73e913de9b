"""Repositories: CreateRepository, DescribeRepositories, DeleteRepository, PutImageTagMutability.

A repository's URI is `<registry host>/<name>` (docs/registry.md explains the host); the
registry it belongs to is the account and Region of the request (or `registryId`).
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.core.tags import TagError, check_tags
from dockyard.services.ecr.api import api
from dockyard.services.ecr.deps import Ecr
from dockyard.services.ecr.errors import (
    InvalidParameterException,
    InvalidTagParameterException,
    TooManyTagsException,
    translated,
)
from dockyard.services.ecr.resources import repository, scope_of

__all__ = [
    "check_mutability",
    "check_tag_list",
    "create_repository",
    "delete_repository",
    "describe_repositories",
    "put_image_tag_mutability",
]

_WITH_EXCLUSION = ("IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
_KMS_TYPES = ("KMS", "KMS_DSSE")


def check_mutability(mutability: str, filters: list[dict[str, str]]) -> None:
    """InvalidParameterException unless exclusion filters come exactly with *_WITH_EXCLUSION."""
    if mutability in _WITH_EXCLUSION and not filters:
        raise InvalidParameterException(
            f"Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: "
            f"'At least one exclusion filter is required with {mutability}'"
        )
    if filters and mutability not in _WITH_EXCLUSION:
        raise InvalidParameterException(
            "Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: "
            f"'Exclusion filters can only be used with {' or '.join(_WITH_EXCLUSION)}'"
        )
    if len(filters) > 5:
        raise InvalidParameterException(
            "Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: "
            "'Member must have length less than or equal to 5'"
        )
    if len({f["filter"] for f in filters}) != len(filters):
        raise InvalidParameterException(
            "Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: "
            "'Exclusion filters must be unique'"
        )


def check_tag_list(tags: list[dict[str, str]], *, existing: int = 0) -> None:
    """ECR's tag rules: InvalidTagParameterException, TooManyTagsException."""
    try:
        check_tags([{"key": t["Key"], "value": t["Value"]} for t in tags], existing=existing)
    except TagError as exc:
        if "number of tags" in str(exc):
            raise TooManyTagsException(str(exc)) from exc
        raise InvalidTagParameterException(str(exc)) from exc


def _encryption(ctx: RequestContext, request: dict[str, Any]) -> dict[str, str]:
    given = request.get("encryptionConfiguration") or {"encryptionType": "AES256"}
    kind = str(given["encryptionType"])
    key = given.get("kmsKey")
    if key and kind not in _KMS_TYPES:
        raise InvalidParameterException(
            "Invalid parameter at 'encryptionConfiguration' failed to satisfy constraint: "
            "'kmsKey can only be specified when encryptionType is KMS or KMS_DSSE'"
        )
    if kind in _KMS_TYPES and not key:
        key = f"arn:aws:kms:{ctx.region}:{ctx.account_id}:alias/aws/ecr"
    return {"encryptionType": kind, **({"kmsKey": str(key)} if key else {})}


@api.operation("CreateRepository")
async def create_repository(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    mutability = str(request.get("imageTagMutability") or "MUTABLE")
    filters = [dict(f) for f in request.get("imageTagMutabilityExclusionFilters") or []]
    check_mutability(mutability, filters)
    tags = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in request.get("tags") or []]
    check_tag_list(tags)
    scanning = request.get("imageScanningConfiguration") or {}
    with translated(name, scope.account_id):
        created = await ecr.catalog.create_repository(
            scope,
            name,
            tag_mutability=mutability,
            exclusion_filters=filters,
            scan_on_push=bool(scanning.get("scanOnPush", False)),
            encryption=_encryption(ctx, request),
            tags=tags,
        )
    return {"repository": created.describe(ecr.host)}


@api.operation("DescribeRepositories")
async def describe_repositories(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    names = request.get("repositoryNames")
    if names and (request.get("maxResults") is not None or request.get("nextToken")):
        raise InvalidParameterException(
            "Invalid parameter: maxResults and nextToken cannot be used with repositoryNames"
        )
    if names:
        found = [await repository(ecr, scope, str(n)) for n in dict.fromkeys(names)]
        return {"repositories": [r.describe(ecr.host) for r in found]}
    every = await ecr.catalog.list_repositories(scope)
    try:
        page, token = paginate(
            every,
            key=lambda r: r.name,
            max_results=request.get("maxResults"),
            next_token=request.get("nextToken"),
        )
    except InvalidToken:
        raise InvalidParameterException("Invalid parameter at 'nextToken': the token is not valid") from None
    response: dict[str, Any] = {"repositories": [r.describe(ecr.host) for r in page]}
    if token:
        response["nextToken"] = token
    return response


@api.operation("DeleteRepository")
async def delete_repository(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    with translated(name, scope.account_id):
        deleted = await ecr.catalog.delete_repository(scope, name, force=bool(request.get("force")))
    return {"repository": deleted.describe(ecr.host)}


@api.operation("PutImageTagMutability")
async def put_image_tag_mutability(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    mutability = str(request["imageTagMutability"])
    filters = [dict(f) for f in request.get("imageTagMutabilityExclusionFilters") or []]
    check_mutability(mutability, filters)

    def change(doc: dict[str, Any]) -> None:
        doc["imageTagMutability"] = mutability
        if filters:
            doc["imageTagMutabilityExclusionFilters"] = filters
        else:
            doc.pop("imageTagMutabilityExclusionFilters", None)

    with translated(name, scope.account_id):
        await ecr.catalog.update_repository(scope, name, change)
    response: dict[str, Any] = {
        "registryId": scope.account_id,
        "repositoryName": name,
        "imageTagMutability": mutability,
    }
    if filters:
        response["imageTagMutabilityExclusionFilters"] = filters
    return response
