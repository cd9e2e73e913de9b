"""Secret versions: GetSecretValue, PutSecretValue, ListSecretVersionIds, UpdateSecretVersionStage.

GetSecretValue reads AWSCURRENT unless a VersionId or VersionStage says otherwise; reading records
LastAccessedDate (to the day) on the secret and the version. PutSecretValue adds a version with
AWSCURRENT unless VersionStages names others (the first version of a secret always gets
AWSCURRENT); retrying with the same ClientRequestToken and value changes nothing.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.services.secretsmanager.api import api
from dockyard.services.secretsmanager.deps import SecretsManager
from dockyard.services.secretsmanager.documents import (
    Document,
    add_version,
    day_of,
    move_stage,
    open_value,
    version_entries,
    versions,
)
from dockyard.services.secretsmanager.errors import (
    InvalidNextTokenException,
    InvalidParameterException,
    InvalidRequestException,
    ResourceNotFoundException,
)
from dockyard.services.secretsmanager.inputs import require_token, value_of
from dockyard.services.secretsmanager.resources import (
    AWSCURRENT,
    get_live_secret,
    get_secret,
    replace,
)
from dockyard.services.secretsmanager.secrets import reuse_version

__all__ = ["get_secret_value", "list_secret_version_ids", "put_secret_value", "update_secret_version_stage"]

_MISMATCH = "You provided a VersionStage that is not associated to the provided VersionId."
_NO_VALUE = "You must provide either SecretString or SecretBinary."
_BAD_TOKEN = "The NextToken value is invalid."


def _not_found(what: str, value: str) -> AwsError:
    return ResourceNotFoundException(
        f"Secrets Manager can't find the specified secret value for {what}: {value}"
    )


def _pick_version(doc: Document, version_id: str | None, stage: str | None) -> str:
    all_versions = versions(doc)
    if version_id is not None:
        if version_id not in all_versions:
            raise _not_found("VersionId", version_id)
        if stage is not None and stage not in all_versions[version_id]["stages"]:
            raise InvalidRequestException(_MISMATCH)
        return version_id
    stage = stage or AWSCURRENT
    for candidate, version in all_versions.items():
        if stage in version["stages"]:
            return candidate
    raise _not_found("staging label", stage)


@api.operation("GetSecretValue")
async def get_secret_value(
    sm: SecretsManager, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    found = await get_live_secret(sm, ctx, str(request["SecretId"]))
    doc = found.value
    version_id = _pick_version(doc, request.get("VersionId"), request.get("VersionStage"))
    kind, plain = open_value(sm.sealer, doc, version_id)
    version = versions(doc)[version_id]
    response: dict[str, Any] = {
        "ARN": doc["ARN"],
        "Name": doc["Name"],
        "VersionId": version_id,
        "VersionStages": list(version["stages"]),
        "CreatedDate": version["created"],
    }
    if kind == "string":
        response["SecretString"] = plain.decode()
    else:
        response["SecretBinary"] = plain
    today = day_of(sm.clock.now())
    if doc.get("LastAccessedDate") != today or version.get("lastAccessed") != today:
        doc["LastAccessedDate"] = version["lastAccessed"] = today
        await replace(sm, found, doc)  # best effort: a concurrent writer's change wins
    return response


@api.operation("PutSecretValue")
async def put_secret_value(
    sm: SecretsManager, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    value = value_of(request)
    if value is None:
        raise InvalidParameterException(_NO_VALUE)
    token = require_token(request)
    while True:
        found = await get_live_secret(sm, ctx, str(request["SecretId"]))
        doc = found.value
        response = {"ARN": doc["ARN"], "Name": doc["Name"], "VersionId": token}
        if reuse_version(sm, doc, token, value):
            response["VersionStages"] = list(versions(doc)[token]["stages"])
            return response
        stages = list(request.get("VersionStages") or [AWSCURRENT])
        if not any(AWSCURRENT in v["stages"] for v in versions(doc).values()):
            stages.append(AWSCURRENT)  # the secret's first value is its current one
        now = sm.clock.now()
        response["VersionStages"] = add_version(sm.sealer, doc, token, value, stages, now=now)
        doc["LastChangedDate"] = now
        if await replace(sm, found, doc):
            return response


@api.operation("ListSecretVersionIds")
async def list_secret_version_ids(
    sm: SecretsManager, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    found = await get_secret(sm, ctx, str(request["SecretId"]))
    doc = found.value
    entries = version_entries(doc, include_deprecated=bool(request.get("IncludeDeprecated")))
    order = {version_id: i for i, version_id in enumerate(versions(doc))}
    try:
        page, token = paginate(
            entries,
            key=lambda e: order[e["VersionId"]],
            max_results=request.get("MaxResults"),
            next_token=request.get("NextToken"),
        )
    except InvalidToken as exc:
        raise InvalidNextTokenException(_BAD_TOKEN) from exc
    response: dict[str, Any] = {"ARN": doc["ARN"], "Name": doc["Name"], "Versions": page}
    if token:
        response["NextToken"] = token
    return response


@api.operation("UpdateSecretVersionStage")
async def update_secret_version_stage(
    sm: SecretsManager, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    stage = str(request["VersionStage"])
    remove_from, move_to = request.get("RemoveFromVersionId"), request.get("MoveToVersionId")
    while True:
        found = await get_live_secret(sm, ctx, str(request["SecretId"]))
        doc = found.value
        all_versions = versions(doc)
        for version_id in (remove_from, move_to):
            if version_id is not None and version_id not in all_versions:
                raise InvalidParameterException(f"Not a valid version: {version_id}")
        holder = next((v for v, version in all_versions.items() if stage in version["stages"]), None)
        if holder is not None and holder != move_to and remove_from != holder:
            raise InvalidParameterException(
                f"The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently "
                f"attached to version {holder}, so you must explicitly reference that version in "
                "RemoveFromVersionId."
            )
        if remove_from is not None and stage not in all_versions[remove_from]["stages"]:
            raise InvalidParameterException(f"Version stage {stage} not found in version {remove_from}")
        move_stage(doc, stage, move_to)
        doc["LastChangedDate"] = sm.clock.now()
        if await replace(sm, found, doc):
            return {"ARN": doc["ARN"], "Name": doc["Name"]}
