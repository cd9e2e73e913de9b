"""Repository policies of public repositories: SetRepositoryPolicy, GetRepositoryPolicy,
DeleteRepositoryPolicy. The text is checked as ECR checks it and stored with the repository; as
for private repositories it is not evaluated yet (anyone may pull a public repository anyway).
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.services.ecr.policies import check_policy
from dockyard.services.ecrpublic.api import api
from dockyard.services.ecrpublic.deps import EcrPublic, scope_of
from dockyard.services.ecrpublic.errors import RepositoryPolicyNotFoundException, translated

__all__ = ["delete_repository_policy", "get_repository_policy", "set_repository_policy"]


def _not_found(name: str, registry_id: str) -> AwsError:
    return RepositoryPolicyNotFoundException(
        f"Repository policy does not exist for the repository with name '{name}' in the registry with "
        f"id '{registry_id}'"
    )


@api.operation("SetRepositoryPolicy")
async def set_repository_policy(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    text = str(request["policyText"])
    check_policy(text)

    def change(doc: dict[str, Any]) -> None:
        doc.setdefault("dockyard", {})["policy"] = text

    with translated(name, scope.account_id):
        await ecr.catalog.update_repository(scope, name, change)
    return {"registryId": scope.account_id, "repositoryName": name, "policyText": text}


@api.operation("GetRepositoryPolicy")
async def get_repository_policy(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    with translated(name, scope.account_id):
        repo = await ecr.catalog.require_repository(scope, name)
    if repo.policy is None:
        raise _not_found(name, scope.account_id)
    return {"registryId": scope.account_id, "repositoryName": name, "policyText": repo.policy}


@api.operation("DeleteRepositoryPolicy")
async def delete_repository_policy(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    removed: list[str] = []

    def change(doc: dict[str, Any]) -> None:
        text = doc.setdefault("dockyard", {}).pop("policy", None)
        if text is None:
            raise _not_found(name, scope.account_id)
        removed.append(str(text))

    with translated(name, scope.account_id):
        await ecr.catalog.update_repository(scope, name, change)
    return {"registryId": scope.account_id, "repositoryName": name, "policyText": removed[-1]}
