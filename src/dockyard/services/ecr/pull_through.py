"""Pull-through cache rules: Create/Describe/Update/Delete/ValidatePullThroughCacheRule.

A rule maps a repository prefix of this registry to an upstream registry; pulling
`<prefix>/<repository>:<tag>` then fetches the image from upstream (`dockyard.registry.
pull_through`). Any reachable registry may be the upstream (a local registry, another Dockyard);
`upstreamRegistry` is named for the public registries ECR knows. Credentials are a Secrets
Manager secret named `ecr-pullthroughcache/...` holding {"username", "accessToken"}.

The server attaches its `PullThroughCache` (which reads those secrets in process) to the
registry with `attach`; without one, rules work for upstreams that need no credentials.
"""

from __future__ import annotations

import json
import re
import weakref
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.aws.local_client import LocalClient
from dockyard.core.errors import AwsError
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.registry.model import Scope
from dockyard.registry.pull_through import RULE, PullThroughCache, SecretMissing, SecretReader
from dockyard.registry.service import Registry
from dockyard.services.ecr.api import api
from dockyard.services.ecr.deps import Ecr
from dockyard.services.ecr.errors import (
    InvalidParameterException,
    LimitExceededException,
    PullThroughCacheRuleAlreadyExistsException,
    PullThroughCacheRuleNotFoundException,
    SecretNotFoundException,
    UnableToAccessSecretException,
)
from dockyard.services.ecr.resources import scope_of
from dockyard.store import Conflict, Delete, Key, Put, Versioned

__all__ = [
    "attach",
    "create_pull_through_cache_rule",
    "delete_pull_through_cache_rule",
    "describe_pull_through_cache_rules",
    "secrets_reader",
    "update_pull_through_cache_rule",
    "validate_pull_through_cache_rule",
]

MAX_RULES = 50
_KNOWN = [
    (re.compile(r"(^|\.)dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com"), "ecr"),
    (re.compile(r"^public\.ecr\.aws$"), "ecr-public"),
    (re.compile(r"^quay\.io$"), "quay"),
    (re.compile(r"^registry\.k8s\.io$"), "k8s"),
    (re.compile(r"^(registry-1\.)?docker\.io$"), "docker-hub"),
    (re.compile(r"^ghcr\.io$"), "github-container-registry"),
    (re.compile(r"\.azurecr\.io$"), "azure-container-registry"),
    (re.compile(r"^registry\.gitlab\.com$"), "gitlab-container-registry"),
    (re.compile(r"^cgr\.dev$"), "chainguard"),
]
_CACHES: weakref.WeakKeyDictionary[Registry, PullThroughCache] = weakref.WeakKeyDictionary()


def attach(registry: Registry, cache: PullThroughCache) -> None:
    """Let the handlers of `registry`'s ECR API use `cache` (its credentials reader)."""
    _CACHES[registry] = cache


def _cache(ecr: Ecr) -> PullThroughCache:
    return _CACHES.get(ecr.registry) or PullThroughCache(ecr.catalog, ecr.clock)


def secrets_reader(secretsmanager: LocalClient) -> SecretReader:
    """Read a rule's credentials with Secrets Manager's GetSecretValue, in process."""

    async def read(scope: Scope, arn: str) -> dict[str, str]:
        try:
            answer = await secretsmanager.call(
                "GetSecretValue", {"SecretId": arn}, account_id=scope.account_id, region=scope.region
            )
        except AwsError as exc:
            raise SecretMissing(f"The secret {arn} cannot be read: {exc.message}") from None
        try:
            value = json.loads(str(answer.get("SecretString") or ""))
        except ValueError:
            value = None
        if not isinstance(value, dict) or "username" not in value or "accessToken" not in value:
            raise SecretMissing(f"The secret {arn} does not hold a username and an accessToken.")
        return {"username": str(value["username"]), "accessToken": str(value["accessToken"])}

    return read


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].lower()


def _prefix(value: Any) -> str:
    prefix = str(value)
    return prefix if prefix == "ROOT" else prefix.rstrip("/")


def _key(scope: Scope, prefix: str) -> Key:
    return Key(scope.account_id, scope.region, RULE, prefix)


def _not_found(scope: Scope, prefix: str) -> AwsError:
    return PullThroughCacheRuleNotFoundException(
        f"The pull through cache rule with prefix '{prefix}' does not exist in the registry with id "
        f"'{scope.account_id}'"
    )


async def _rule(ecr: Ecr, scope: Scope, prefix: str) -> Versioned:
    found = await ecr.store.get(_key(scope, prefix))
    if found is None:
        raise _not_found(scope, prefix)
    return found


async def _check_secret(ecr: Ecr, scope: Scope, arn: str | None) -> None:
    if not arn:
        return
    cache = _cache(ecr)
    try:
        await cache.credentials(scope, {"credentialArn": arn})
    except SecretMissing as exc:
        raise SecretNotFoundException(str(exc)) from None
    except Exception as exc:
        raise UnableToAccessSecretException(f"The secret {arn} cannot be read: {exc}") from None


def _shown(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule.items() if v is not None}


@api.operation("CreatePullThroughCacheRule")
async def create_pull_through_cache_rule(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    prefix = _prefix(request["ecrRepositoryPrefix"])
    url = str(request["upstreamRegistryUrl"]).strip()
    if not url or " " in url:
        raise InvalidParameterException("Invalid parameter at 'upstreamRegistryUrl': not a registry URL")
    known = next((name for pattern, name in _KNOWN if pattern.search(_host(url))), None)
    upstream = request.get("upstreamRegistry") or known
    existing = await ecr.store.list(RULE, account_id=scope.account_id, region=scope.region)
    if any(r.key.name == prefix for r in existing):
        raise PullThroughCacheRuleAlreadyExistsException(
            f"A pull through cache rule with prefix '{prefix}' already exists in the registry with id "
            f"'{scope.account_id}'"
        )
    if len(existing) >= MAX_RULES:
        raise LimitExceededException(
            f"The maximum number of pull through cache rules ({MAX_RULES}) has been reached for this registry"
        )
    await _check_secret(ecr, scope, request.get("credentialArn"))
    rule = {
        "ecrRepositoryPrefix": prefix,
        "upstreamRegistryUrl": url,
        "createdAt": ecr.clock.now(),
        "registryId": scope.account_id,
        "upstreamRegistry": upstream,
        "credentialArn": request.get("credentialArn"),
        "customRoleArn": request.get("customRoleArn"),
        "upstreamRepositoryPrefix": _prefix(request["upstreamRepositoryPrefix"])
        if request.get("upstreamRepositoryPrefix")
        else None,
    }
    try:
        await ecr.store.commit([Put(_key(scope, prefix), rule, expected_revision=0)])
    except Conflict:
        raise PullThroughCacheRuleAlreadyExistsException(
            f"A pull through cache rule with prefix '{prefix}' already exists in the registry with id "
            f"'{scope.account_id}'"
        ) from None
    return _shown(rule)


@api.operation("DescribePullThroughCacheRules")
async def describe_pull_through_cache_rules(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    wanted = request.get("ecrRepositoryPrefixes")
    if wanted:
        rules = [await _rule(ecr, scope, _prefix(p)) for p in dict.fromkeys(wanted)]
    else:
        rules = await ecr.store.list(RULE, account_id=scope.account_id, region=scope.region)
    try:
        page, token = paginate(
            sorted(rules, key=lambda r: r.key.name),
            key=lambda r: r.key.name,
            max_results=request.get("maxResults"),
            next_token=request.get("nextToken"),
        )
    except InvalidToken:
        raise InvalidParameterException("Invalid parameter at 'nextToken': the token is not valid") from None
    response: dict[str, Any] = {"pullThroughCacheRules": [_shown(r.value) for r in page]}
    if token:
        response["nextToken"] = token
    return response


@api.operation("UpdatePullThroughCacheRule")
async def update_pull_through_cache_rule(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    prefix = _prefix(request["ecrRepositoryPrefix"])
    await _check_secret(ecr, scope, request.get("credentialArn"))
    while True:
        found = await _rule(ecr, scope, prefix)
        rule = dict(found.value)
        for member in ("credentialArn", "customRoleArn"):
            if member in request:
                rule[member] = request[member]
        rule["updatedAt"] = ecr.clock.now()
        try:
            await ecr.store.commit([Put(found.key, rule, expected_revision=found.revision)])
        except Conflict:
            continue
        members = ("ecrRepositoryPrefix", "registryId", "updatedAt", "credentialArn", "customRoleArn")
        return _shown({k: rule.get(k) for k in (*members, "upstreamRepositoryPrefix")})


@api.operation("DeletePullThroughCacheRule")
async def delete_pull_through_cache_rule(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    prefix = _prefix(request["ecrRepositoryPrefix"])
    while True:
        found = await _rule(ecr, scope, prefix)
        try:
            await ecr.store.commit([Delete(found.key, expected_revision=found.revision)])
        except Conflict:
            continue
        return _shown(found.value)


@api.operation("ValidatePullThroughCacheRule")
async def validate_pull_through_cache_rule(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    rule = (await _rule(ecr, scope, _prefix(request["ecrRepositoryPrefix"]))).value
    failure = await _cache(ecr).validate(scope, rule)
    members = ("ecrRepositoryPrefix", "registryId", "upstreamRegistryUrl", "credentialArn", "customRoleArn")
    response = _shown({k: rule.get(k) for k in (*members, "upstreamRepositoryPrefix")})
    response["isValid"] = failure is None
    if failure is not None:
        response["failure"] = failure
    return response
