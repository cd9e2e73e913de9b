"""Public repositories: CreateRepository, DescribeRepositories, DeleteRepository and their
catalog data (GetRepositoryCatalogData, PutRepositoryCatalogData).

A public repository is a catalog repository in the account's public registry; its URI is
`<public host>/<alias>/<name>` and its ARN `arn:aws:ecr-public::<account>:repository/<name>`.
Catalog data (description, about and usage text, architectures, operating systems, a logo) is
kept with the repository; the logo is checked and stored but served nowhere, so `logoUrl` is
never shown.
"""

from __future__ import annotations

import base64
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.registry.model import Repository
from dockyard.registry.public import repository_arn, repository_uri
from dockyard.services.ecr.repositories import check_tag_list
from dockyard.services.ecrpublic.api import api
from dockyard.services.ecrpublic.deps import EcrPublic, scope_of
from dockyard.services.ecrpublic.errors import InvalidParameterException, translated

__all__ = [
    "ARCHITECTURES",
    "OPERATING_SYSTEMS",
    "catalog_data",
    "check_catalog_data",
    "create_repository",
    "delete_repository",
    "describe",
    "describe_repositories",
    "get_repository_catalog_data",
    "put_repository_catalog_data",
]

ARCHITECTURES = ("ARM", "ARM 64", "x86", "x86-64")
OPERATING_SYSTEMS = ("Linux", "Windows")
_TEXT = ("description", "aboutText", "usageText")


def _enum_error(member: str, allowed: tuple[str, ...]) -> Exception:
    return InvalidParameterException(
        f"Invalid parameter at '{member}' failed to satisfy constraint: 'Member must satisfy enum value "
        f"set: [{', '.join(allowed)}]'"
    )


def check_catalog_data(given: dict[str, Any]) -> dict[str, Any]:
    """The stored form of a `RepositoryCatalogDataInput`; InvalidParameterException when an
    architecture or operating system is not one ECR Public knows."""
    data: dict[str, Any] = {k: str(given[k]) for k in _TEXT if given.get(k) is not None}
    for member, allowed in (("architectures", ARCHITECTURES), ("operatingSystems", OPERATING_SYSTEMS)):
        values = [str(v) for v in given.get(member) or []]
        if any(v not in allowed for v in values):
            raise _enum_error(member, allowed)
        if member in given:
            data[member] = list(dict.fromkeys(values))
    logo = given.get("logoImageBlob")
    if logo:
        raw = logo if isinstance(logo, bytes) else base64.b64decode(str(logo))
        if not raw.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
            raise InvalidParameterException(
                "Invalid parameter at 'logoImageBlob' failed to satisfy constraint: 'The logo must be "
                "a PNG or JPEG image'"
            )
        data["logoImageBlob"] = base64.b64encode(raw).decode()
    return data


def catalog_data(repository: Repository) -> dict[str, Any]:
    """The `RepositoryCatalogData` shape of a repository."""
    stored: dict[str, Any] = repository.doc.get("dockyard", {}).get("catalogData") or {}
    shown = {k: v for k, v in stored.items() if k != "logoImageBlob"}
    shown["marketplaceCertified"] = False
    return shown


def describe(ecr: EcrPublic, repository: Repository) -> dict[str, Any]:
    """The ECR Public `Repository` shape."""
    return {
        "repositoryArn": repository.arn,
        "registryId": repository.scope.account_id,
        "repositoryName": repository.name,
        "repositoryUri": repository_uri(ecr.host, repository.scope.account_id, repository.name),
        "createdAt": repository.created_at,
    }


@api.operation("CreateRepository")
async def create_repository(ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    data = check_catalog_data(dict(request.get("catalogData") or {}))
    tags = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in request.get("tags") or []]
    check_tag_list(tags)
    with translated(name, scope.account_id):
        created = await ecr.catalog.create_repository(
            scope,
            name,
            tags=tags,
            repository_arn=repository_arn(scope.account_id, name),
            internal={"catalogData": data},
        )
    return {"repository": describe(ecr, created), "catalogData": catalog_data(created)}


@api.operation("DescribeRepositories")
async def describe_repositories(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    names = request.get("repositoryNames")
    if names and (request.get("maxResults") is not None or request.get("nextToken")):
        raise InvalidParameterException(
            "Invalid parameter: maxResults and nextToken cannot be used with repositoryNames"
        )
    if names:
        found = []
        for name in dict.fromkeys(str(n) for n in names):
            with translated(name, scope.account_id):
                found.append(await ecr.catalog.require_repository(scope, name))
        return {"repositories": [describe(ecr, r) for r in found]}
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
    response: dict[str, Any] = {"repositories": [describe(ecr, r) for r in page]}
    if token:
        response["nextToken"] = token
    return response


@api.operation("DeleteRepository")
async def delete_repository(ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    with translated(name, scope.account_id):
        deleted = await ecr.catalog.delete_repository(scope, name, force=bool(request.get("force")))
    return {"repository": describe(ecr, deleted)}


@api.operation("GetRepositoryCatalogData")
async def get_repository_catalog_data(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    with translated(name, scope.account_id):
        found = await ecr.catalog.require_repository(scope, name)
    return {"catalogData": catalog_data(found)}


@api.operation("PutRepositoryCatalogData")
async def put_repository_catalog_data(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    data = check_catalog_data(dict(request["catalogData"]))

    def change(doc: dict[str, Any]) -> None:
        doc.setdefault("dockyard", {})["catalogData"] = data

    with translated(name, scope.account_id):
        updated = await ecr.catalog.update_repository(scope, name, change)
    return {"catalogData": catalog_data(updated)}
