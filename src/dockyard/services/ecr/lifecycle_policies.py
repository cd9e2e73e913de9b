"""Lifecycle policies: Put/Get/DeleteLifecyclePolicy, Start/GetLifecyclePolicyPreview.

The policy is validated and evaluated by `dockyard.registry.lifecycle` (pure), kept on the
repository's document (so it goes with the repository), and enforced by the lifecycle
controller on a schedule. A preview is computed by the preview controller from the catalog as it
is when the preview runs: IN_PROGRESS at first, then COMPLETE with the images the policy would
expire now, the same evaluation enforcement uses.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.registry.lifecycle import PolicyError, parse_policy
from dockyard.registry.lifecycle.previews import belongs_to, preview_key, started
from dockyard.registry.lifecycle.runs import POLICY, stored_policy
from dockyard.registry.model import Repository, Scope
from dockyard.services.ecr.api import api
from dockyard.services.ecr.deps import Ecr
from dockyard.services.ecr.errors import (
    InvalidParameterException,
    LifecyclePolicyNotFoundException,
    LifecyclePolicyPreviewInProgressException,
    LifecyclePolicyPreviewNotFoundException,
    translated,
)
from dockyard.services.ecr.resources import repository, scope_of
from dockyard.store import Conflict, Put

__all__ = [
    "delete_lifecycle_policy",
    "get_lifecycle_policy",
    "get_lifecycle_policy_preview",
    "put_lifecycle_policy",
    "start_lifecycle_policy_preview",
]


def _validated(text: str) -> str:
    try:
        parse_policy(text)
    except PolicyError as exc:
        raise InvalidParameterException(str(exc)) from None
    return text


def _where(scope: Scope, name: str) -> str:
    return f"the repository with name '{name}' in the registry with id '{scope.account_id}'"


def _policy_not_found(scope: Scope, name: str) -> AwsError:
    return LifecyclePolicyNotFoundException(f"Lifecycle policy does not exist for {_where(scope, name)}")


def _policy_response(scope: Scope, repo: Repository) -> dict[str, Any]:
    policy = stored_policy(repo)
    if policy is None:
        raise _policy_not_found(scope, repo.name)
    out: dict[str, Any] = {
        "registryId": scope.account_id,
        "repositoryName": repo.name,
        "lifecyclePolicyText": policy.text,
    }
    if policy.last_evaluated_at is not None:
        out["lastEvaluatedAt"] = policy.last_evaluated_at
    return out


@api.operation("PutLifecyclePolicy")
async def put_lifecycle_policy(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    await repository(ecr, scope, name)
    text = _validated(str(request["lifecyclePolicyText"]))
    now = ecr.clock.now()

    def change(doc: dict[str, Any]) -> None:
        doc.setdefault("dockyard", {})[POLICY] = {"text": text, "setAt": now, "lastEvaluatedAt": None}

    with translated(name, scope.account_id):
        await ecr.catalog.update_repository(scope, name, change)
    return {"registryId": scope.account_id, "repositoryName": name, "lifecyclePolicyText": text}


@api.operation("GetLifecyclePolicy")
async def get_lifecycle_policy(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    return _policy_response(scope, await repository(ecr, scope, str(request["repositoryName"])))


@api.operation("DeleteLifecyclePolicy")
async def delete_lifecycle_policy(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    deleted: dict[str, Any] = {}

    def change(doc: dict[str, Any]) -> None:
        deleted.clear()
        deleted.update(_policy_response(scope, Repository(scope, doc, 0)))
        doc.get("dockyard", {}).pop(POLICY, None)

    await repository(ecr, scope, name)
    with translated(name, scope.account_id):
        await ecr.catalog.update_repository(scope, name, change)
    return deleted


@api.operation("StartLifecyclePolicyPreview")
async def start_lifecycle_policy_preview(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    given = request.get("lifecyclePolicyText")
    if given is not None:
        text = _validated(str(given))
    else:
        saved = stored_policy(repo)
        if saved is None:
            raise _policy_not_found(scope, repo.name)
        text = saved.text
    key = preview_key(scope, repo.name)
    while True:
        previous = await ecr.store.get(key)
        if previous is not None and belongs_to(previous, repo) and previous.value["status"] == "IN_PROGRESS":
            raise LifecyclePolicyPreviewInProgressException(
                f"Lifecycle policy preview is already in progress for {_where(scope, repo.name)}"
            )
        doc = started(repo, text, now=ecr.clock.now())
        expected = previous.revision if previous is not None else 0
        try:
            await ecr.store.commit([Put(key, doc, expected_revision=expected)])
        except Conflict:
            continue
        return {
            "registryId": scope.account_id,
            "repositoryName": repo.name,
            "lifecyclePolicyText": text,
            "status": "IN_PROGRESS",
        }


def _wanted(result: dict[str, Any], image_ids: list[dict[str, Any]] | None, tag_status: str) -> bool:
    tags = result["imageTags"]
    if tag_status == "TAGGED" and not tags or tag_status == "UNTAGGED" and tags:
        return False
    if not image_ids:
        return True
    return any(
        (i.get("imageDigest") in (None, result["imageDigest"])) and (i.get("imageTag") in (None, *tags))
        for i in image_ids
    )


def _shown(result: dict[str, Any]) -> dict[str, Any]:
    out = {
        "imageDigest": result["imageDigest"],
        "imagePushedAt": result["imagePushedAt"],
        "action": {"type": "EXPIRE"},
        "appliedRulePriority": result["appliedRulePriority"],
        "storageClass": "STANDARD",
    }
    if result["imageTags"]:
        out["imageTags"] = list(result["imageTags"])
    return out


@api.operation("GetLifecyclePolicyPreview")
async def get_lifecycle_policy_preview(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    found = await ecr.store.get(preview_key(scope, repo.name))
    if found is None or not belongs_to(found, repo):
        raise LifecyclePolicyPreviewNotFoundException(
            f"There is no lifecycle policy preview for {_where(scope, repo.name)}"
        )
    preview = found.value
    image_ids = request.get("imageIds")
    tag_status = str((request.get("filter") or {}).get("tagStatus") or "ANY")
    results = [r for r in preview["results"] if _wanted(r, image_ids, tag_status)]
    response: dict[str, Any] = {
        "registryId": scope.account_id,
        "repositoryName": repo.name,
        "lifecyclePolicyText": preview["lifecyclePolicyText"],
        "status": preview["status"],
    }
    if preview["status"] != "COMPLETE":
        response["previewResults"] = []
        return response
    try:
        page, token = paginate(
            results,
            key=lambda r: [-float(r["imagePushedAt"]), r["imageDigest"]],
            max_results=None if image_ids else request.get("maxResults"),
            next_token=request.get("nextToken"),
            default=len(results) if image_ids else 100,
        )
    except InvalidToken:
        raise InvalidParameterException("Invalid parameter at 'nextToken': the token is not valid") from None
    response["previewResults"] = [_shown(r) for r in page]
    response["summary"] = {"expiringImageTotalCount": len(preview["results"])}
    if token:
        response["nextToken"] = token
    return response
