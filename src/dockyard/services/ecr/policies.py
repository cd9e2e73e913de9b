"""Repository policies: SetRepositoryPolicy, GetRepositoryPolicy, DeleteRepositoryPolicy.

The policy text is checked (an IAM-style JSON document of at most 10,240 characters whose
statements have an Effect, an Action and a Principal) and stored with the repository. It is not
evaluated yet: Dockyard evaluates policies only with strict auth, which is still to come; until
then every caller may use every repository, as `force` is accepted and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.services.ecr.api import api
from dockyard.services.ecr.deps import Ecr
from dockyard.services.ecr.errors import (
    InvalidParameterException,
    RepositoryPolicyNotFoundException,
    translated,
)
from dockyard.services.ecr.resources import repository, scope_of

__all__ = ["check_policy", "delete_repository_policy", "get_repository_policy", "set_repository_policy"]

_INVALID = (
    "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'"
)


def check_policy(text: str) -> None:
    """InvalidParameterException unless `text` is a well-formed repository policy."""
    try:
        document = json.loads(text)
    except ValueError:
        raise InvalidParameterException(_INVALID) from None
    if not isinstance(document, dict):
        raise InvalidParameterException(_INVALID)
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise InvalidParameterException(_INVALID)
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            raise InvalidParameterException(_INVALID)
        if not ({"Action", "NotAction"} & statement.keys()):
            raise InvalidParameterException(_INVALID)
        if not ({"Principal", "NotPrincipal"} & statement.keys()):
            raise InvalidParameterException(_INVALID)


def _policy_not_found(name: str, registry_id: str) -> AwsError:
    return RepositoryPolicyNotFoundException(
        f"Repository policy does not exist for the repository with name '{name}' in the registry with "
        f"id '{registry_id}'"
    )


@api.operation("SetRepositoryPolicy")
async def set_repository_policy(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
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
async def get_repository_policy(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    if repo.policy is None:
        raise _policy_not_found(repo.name, scope.account_id)
    return {"registryId": scope.account_id, "repositoryName": repo.name, "policyText": repo.policy}


@api.operation("DeleteRepositoryPolicy")
async def delete_repository_policy(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    removed: list[str] = []

    def change(doc: dict[str, Any]) -> None:
        text = doc.setdefault("dockyard", {}).pop("policy", None)
        if text is None:
            raise _policy_not_found(name, scope.account_id)
        removed.append(str(text))

    with translated(name, scope.account_id):
        await ecr.catalog.update_repository(scope, name, change)
    return {"registryId": scope.account_id, "repositoryName": name, "policyText": removed[-1]}
