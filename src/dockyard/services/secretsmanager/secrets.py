"""Secrets: CreateSecret, UpdateSecret, DescribeSecret, DeleteSecret, RestoreSecret.

```
CreateSecret ──> live ──DeleteSecret (7-30 days, default 30)──> scheduled for deletion
                  ^                                                  │ RestoreSecret: live again
                  └──────────────────────────────────────────────────┘ DeletedDate passed: gone
DeleteSecret ForceDeleteWithoutRecovery: gone at once (from either state)
```
A scheduled secret still answers DescribeSecret (with `DeletedDate`) and keeps its name taken;
reading or changing it is `InvalidRequestException`.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.services.secretsmanager.api import api
from dockyard.services.secretsmanager.deps import SecretsManager
from dockyard.services.secretsmanager.documents import (
    DAY,
    Document,
    Value,
    add_version,
    describe,
    same_value,
    versions,
)
from dockyard.services.secretsmanager.errors import (
    InvalidParameterException,
    InvalidRequestException,
    ResourceExistsException,
)
from dockyard.services.secretsmanager.inputs import check_secret_tags, require_token, value_of
from dockyard.services.secretsmanager.resources import (
    AWSCURRENT,
    check_name,
    find_secret,
    get_live_secret,
    get_secret,
    key,
    new_arn,
    replace,
)
from dockyard.store import Conflict, Delete, Put

__all__ = ["create_secret", "delete_secret", "describe_secret", "restore_secret", "update_secret"]

_SCHEDULED = "You can't create this secret because a secret with this name is already scheduled for deletion."
_ALREADY_DELETED = "You tried to perform the operation on a secret that's currently marked deleted."
_WINDOW = "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
_WINDOW_AND_FORCE = "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
_NO_REPLICATION = "Dockyard does not replicate secrets to other Regions; create the secret in each Region."


def token_in_use(token: str, doc: Document) -> AwsError:
    return ResourceExistsException(
        f"You can't use ClientRequestToken {token} because that value is already in use for a "
        f"version of secret {doc['ARN']}."
    )


def reuse_version(sm: SecretsManager, doc: Document, token: str, value: Value) -> bool:
    """True when `token` already names a version holding `value` (an idempotent retry);
    ResourceExistsException when it names one holding something else."""
    if token not in versions(doc):
        return False
    if not same_value(sm.sealer, doc, token, value):
        raise token_in_use(token, doc)
    return True


@api.operation("CreateSecret")
async def create_secret(sm: SecretsManager, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name = str(request["Name"])
    check_name(name)
    value = value_of(request)
    token = require_token(request) if value is not None else request.get("ClientRequestToken")
    tags = check_secret_tags(request.get("Tags") or [])
    if request.get("AddReplicaRegions"):
        raise InvalidRequestException(_NO_REPLICATION)
    while True:
        current = await find_secret(sm, ctx, name)
        if current is not None:
            if current.value.get("DeletedDate") is not None:
                raise InvalidRequestException(_SCHEDULED)
            if token and value is not None and reuse_version(sm, current.value, token, value):
                return {"ARN": current.value["ARN"], "Name": name, "VersionId": token}
            raise ResourceExistsException(f"The operation failed because the secret {name} already exists.")
        now = sm.clock.now()
        doc: Document = {
            "ARN": new_arn(sm, ctx, name),
            "Name": name,
            "CreatedDate": now,
            "LastChangedDate": now,
        }
        for member in ("Description", "KmsKeyId"):
            if request.get(member) is not None:
                doc[member] = request[member]
        if tags:
            doc["Tags"] = tags
        versions(doc)
        if value is not None and token:
            add_version(sm.sealer, doc, token, value, [AWSCURRENT], now=now)
        try:
            await sm.store.commit([Put(key(ctx, name), doc, expected_revision=0)])
        except Conflict:
            continue
        response = {"ARN": doc["ARN"], "Name": name}
        if value is not None:
            response["VersionId"] = token
        return response


@api.operation("UpdateSecret")
async def update_secret(sm: SecretsManager, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    value = value_of(request)
    token = require_token(request) if value is not None else None
    while True:
        found = await get_live_secret(sm, ctx, str(request["SecretId"]))
        doc = found.value
        response = {"ARN": doc["ARN"], "Name": doc["Name"]}
        now = sm.clock.now()
        if value is not None and token is not None:
            response["VersionId"] = token
            if not reuse_version(sm, doc, token, value):
                stages = [AWSCURRENT]
                add_version(sm.sealer, doc, token, value, stages, now=now)
        for member in ("Description", "KmsKeyId"):
            if request.get(member) is not None:
                doc[member] = request[member]
        doc["LastChangedDate"] = now
        if await replace(sm, found, doc):
            return response


@api.operation("DescribeSecret")
async def describe_secret(sm: SecretsManager, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found = await get_secret(sm, ctx, str(request["SecretId"]))
    return describe(found.value)


@api.operation("DeleteSecret")
async def delete_secret(sm: SecretsManager, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    window = request.get("RecoveryWindowInDays")
    force = bool(request.get("ForceDeleteWithoutRecovery"))
    if window is not None and force:
        raise InvalidParameterException(_WINDOW_AND_FORCE)
    if window is not None and not 7 <= window <= 30:
        raise InvalidParameterException(_WINDOW)
    while True:
        found = await get_secret(sm, ctx, str(request["SecretId"]))
        doc = found.value
        now = sm.clock.now()
        if force:
            try:
                await sm.store.commit([Delete(found.key, expected_revision=found.revision)])
            except Conflict:
                continue
            return {"ARN": doc["ARN"], "Name": doc["Name"], "DeletionDate": now}
        if doc.get("DeletedDate") is not None:
            raise InvalidRequestException(_ALREADY_DELETED)
        doc["DeletedDate"] = now + (30 if window is None else window) * DAY
        if await replace(sm, found, doc):
            return {"ARN": doc["ARN"], "Name": doc["Name"], "DeletionDate": doc["DeletedDate"]}


@api.operation("RestoreSecret")
async def restore_secret(sm: SecretsManager, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    while True:
        found = await get_secret(sm, ctx, str(request["SecretId"]))
        doc = found.value
        if doc.pop("DeletedDate", None) is None or await replace(sm, found, doc):
            return {"ARN": doc["ARN"], "Name": doc["Name"]}
