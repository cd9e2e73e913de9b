"""Parameters: PutParameter, GetParameter, GetParameters, DeleteParameter, DeleteParameters.

PutParameter creates version 1, or with `Overwrite` the next version (at most 100 are kept; the
oldest goes unless it carries a label). An overwrite keeps the type, key, description, allowed
pattern and tier it does not restate. Tiers: Standard (values up to 4 KB, the default), Advanced
(8 KB), Intelligent-Tiering (Standard when the value fits, else Advanced); an Advanced parameter
cannot go back to Standard. SecureString values are sealed at rest.
"""

from __future__ import annotations

import re
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import ValidationException
from dockyard.core.tags import TagError, check_tags
from dockyard.services.ssm.api import api
from dockyard.services.ssm.deps import Ssm
from dockyard.services.ssm.documents import Document, Entry, current, history, parameter, seal_value, tags
from dockyard.services.ssm.errors import (
    InvalidAllowedPatternException,
    InvalidPolicyTypeException,
    ParameterAlreadyExists,
    ParameterMaxVersionLimitExceeded,
    ParameterNotFound,
    ParameterPatternMismatchException,
    ParameterVersionNotFound,
)
from dockyard.services.ssm.names import check_name, parameter_arn
from dockyard.services.ssm.resources import key, lookup, pick
from dockyard.store import Conflict, Delete, Put

__all__ = ["delete_parameter", "delete_parameters", "get_parameter", "get_parameters", "put_parameter"]

MAX_VERSIONS = 100
_STANDARD_BYTES = 4096
_ADVANCED_BYTES = 8192
_DATA_TYPES = ("text", "aws:ec2:image", "aws:ssm:integration")
_EXISTS = (
    "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."
)
_TAGS_AND_OVERWRITE = (
    "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please "
    "remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or "
    "RemoveTagsFromResource."
)
_TYPE_REQUIRED = "A parameter type is required when you create a parameter."
_VALUE_CONSTRAINT = "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must "
_EMPTY = _VALUE_CONSTRAINT + "have length greater than or equal to 1"
_TOO_LONG = _VALUE_CONSTRAINT + "have length less than or equal to 8192"
_STANDARD_LIMIT = (
    "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger "
    "parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see "
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
)
_DOWNGRADE = (
    "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the "
    "advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced "
    "parameter and recreate it as a standard parameter."
)
_NO_POLICIES = (
    "Dockyard does not apply parameter policies (Expiration, ExpirationNotification, NoChangeNotification)."
)


def _tier(requested: str | None, previous: str | None, size: int) -> str:
    if requested == "Intelligent-Tiering":
        tier = "Advanced" if size > _STANDARD_BYTES or previous == "Advanced" else "Standard"
    else:
        tier = requested or previous or "Standard"
    if tier == "Standard" and previous == "Advanced":
        raise ValidationException(_DOWNGRADE)
    if tier == "Standard" and size > _STANDARD_BYTES:
        raise ValidationException(_STANDARD_LIMIT)
    return tier


def _check_value(value: str, pattern: str | None) -> None:
    if not value:
        raise ValidationException(_EMPTY)
    if len(value.encode()) > _ADVANCED_BYTES:
        raise ValidationException(_TOO_LONG)
    if not pattern:
        return
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise InvalidAllowedPatternException(
            f"The allowed pattern {pattern} is not a valid regular expression."
        ) from exc
    if compiled.search(value) is None:
        raise ParameterPatternMismatchException(
            f"Parameter value, cannot be validated against allowedPattern: {pattern}"
        )


def _entry(request: dict[str, Any], previous: Entry | None, ctx: RequestContext, now: float) -> Entry:
    kind = request.get("Type") or (previous["Type"] if previous else None)
    if kind is None:
        raise ValidationException(_TYPE_REQUIRED)
    data_type = request.get("DataType") or (previous["DataType"] if previous else "text")
    if data_type not in _DATA_TYPES:
        raise ValidationException(
            f"The following data type is not supported: {data_type} (Data type names are all lowercase.)"
        )
    value = str(request["Value"])
    keep = previous or {}
    pattern = request.get("AllowedPattern", keep.get("AllowedPattern"))
    _check_value(value, pattern)
    entry: Entry = {
        "Version": int(keep.get("Version", 0)) + 1,
        "Type": kind,
        "Tier": _tier(request.get("Tier"), keep.get("Tier"), len(value.encode())),
        "DataType": data_type,
        "LastModifiedDate": now,
        "LastModifiedUser": f"arn:aws:iam::{ctx.account_id}:root",
        "Labels": [],
    }
    if kind == "SecureString":
        same_type = keep.get("Type") == "SecureString"
        entry["KeyId"] = request.get("KeyId") or (keep.get("KeyId") if same_type else None) or "alias/aws/ssm"
    description = request.get("Description", keep.get("Description"))
    if description is not None:
        entry["Description"] = description
    if pattern:
        entry["AllowedPattern"] = pattern
    return entry


@api.operation("PutParameter")
async def put_parameter(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name = str(request["Name"])
    check_name(name)
    overwrite = bool(request.get("Overwrite"))
    new_tags = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in request.get("Tags") or []]
    if overwrite and new_tags:
        raise ValidationException(_TAGS_AND_OVERWRITE)
    try:
        check_tags([{"key": t["Key"], "value": t["Value"]} for t in new_tags])
    except TagError as exc:
        raise ValidationException(str(exc)) from exc
    if request.get("Policies"):
        raise InvalidPolicyTypeException(_NO_POLICIES)
    while True:
        found = await ssm.store.get(key(ctx, name))
        if found is not None and not overwrite:
            raise ParameterAlreadyExists(_EXISTS)
        doc: Document = (
            found.value if found else {"Name": name, "ARN": parameter_arn(ctx.region, ctx.account_id, name)}
        )
        entry = _entry(request, current(doc) if found else None, ctx, ssm.clock.now())
        seal_value(ssm.sealer, doc, entry, str(request["Value"]))
        versions = history(doc)
        versions.append(entry)
        if len(versions) > MAX_VERSIONS:
            oldest = versions[0]
            if oldest.get("Labels"):
                raise ParameterMaxVersionLimitExceeded(
                    f"You attempted to create a new version of {name} by calling the PutParameter API "
                    f"with the overwrite flag. Version {oldest['Version']}, the oldest version, can't be "
                    "deleted because it has a label associated with it. Move the label to another version "
                    "of the parameter, and try again."
                )
            versions.pop(0)
        if new_tags:
            tags(doc)[:] = new_tags
        try:
            await ssm.store.commit(
                [Put(key(ctx, name), doc, expected_revision=found.revision if found else 0)]
            )
        except Conflict:
            continue
        return {"Version": entry["Version"], "Tier": entry["Tier"]}


@api.operation("GetParameter")
async def get_parameter(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found, reference = await lookup(ssm, ctx, str(request["Name"]))
    entry = pick(found, reference)
    decrypt = bool(request.get("WithDecryption"))
    return {
        "Parameter": parameter(ssm.sealer, found.value, entry, decrypt=decrypt, selector=reference.selector)
    }


@api.operation("GetParameters")
async def get_parameters(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    decrypt = bool(request.get("WithDecryption"))
    parameters: list[Document] = []
    invalid: list[str] = []
    for name in dict.fromkeys(str(n) for n in request["Names"]):
        try:
            found, reference = await lookup(ssm, ctx, name)
            entry = pick(found, reference)
        except (ParameterNotFound, ParameterVersionNotFound):
            invalid.append(name)
            continue
        parameters.append(
            parameter(ssm.sealer, found.value, entry, decrypt=decrypt, selector=reference.selector)
        )
    return {"Parameters": parameters, "InvalidParameters": invalid}


@api.operation("DeleteParameter")
async def delete_parameter(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    while True:
        found, _ = await lookup(ssm, ctx, str(request["Name"]))
        try:
            await ssm.store.commit([Delete(found.key, expected_revision=found.revision)])
        except Conflict:
            continue
        return {}


@api.operation("DeleteParameters")
async def delete_parameters(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    deleted: list[str] = []
    invalid: list[str] = []
    for name in dict.fromkeys(str(n) for n in request["Names"]):
        try:
            await delete_parameter(ssm, ctx, {"Name": name})
        except (ParameterNotFound, ValidationException):
            invalid.append(name)
            continue
        deleted.append(name)
    return {"DeletedParameters": deleted, "InvalidParameters": invalid}
