"""Log groups: CreateLogGroup, DeleteLogGroup, DescribeLogGroups, PutLogGroupDeletionProtection.

A group is a store document; its streams and events are rows of the event database keyed by the
document's `uid`. DeleteLogGroup removes the document in one commit; the retention controller
then drops the group's rows and purges its events in batches (nothing of it is visible once the
document is gone: a group created again under the name gets a new uid).
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.services.logs.api import api
from dockyard.services.logs.deps import Logs
from dockyard.services.logs.errors import (
    BAD_TOKEN,
    InvalidParameterException,
    ResourceAlreadyExistsException,
    ValidationException,
)
from dockyard.services.logs.names import group_arn, group_name_from_arn, reserved_group_name
from dockyard.services.logs.resources import GROUP, get_group, group_key, replace, requested_group
from dockyard.services.logs.tags import check_tags
from dockyard.store import Conflict, Delete, Put, Versioned

__all__ = [
    "create_log_group",
    "delete_log_group",
    "describe_group",
    "describe_log_groups",
    "group_for",
    "put_log_group_deletion_protection",
    "PROTECTED",
]

PROTECTED = "Cannot delete log group with deletion protection enabled. Disable deletion protection first."


@api.operation("CreateLogGroup")
async def create_log_group(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name = str(request["logGroupName"])
    if reserved_group_name(name):
        raise InvalidParameterException("Log groups starting with AWS/ are reserved for AWS.")
    tags = check_tags(dict(request.get("tags") or {}))
    doc: dict[str, Any] = {
        "logGroupName": name,
        "creationTime": logs.now_ms(),
        "logGroupClass": request.get("logGroupClass") or "STANDARD",
        "deletionProtectionEnabled": bool(request.get("deletionProtectionEnabled", False)),
        "dockyard": {"uid": logs.ids.hex32(), "tags": tags},
    }
    if request.get("kmsKeyId"):
        doc["kmsKeyId"] = str(request["kmsKeyId"])
    try:
        await logs.store.commit([Put(group_key(ctx, name), doc, expected_revision=0)])
    except Conflict:
        raise ResourceAlreadyExistsException("The specified log group already exists") from None
    return {}


@api.operation("DeleteLogGroup")
async def delete_log_group(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    while True:
        found = await get_group(logs, ctx, str(request["logGroupName"]))
        if found.value.get("deletionProtectionEnabled"):
            raise ValidationException(PROTECTED)
        try:
            await logs.store.commit([Delete(found.key, expected_revision=found.revision)])
        except Conflict:
            continue
        return {}


@api.operation("PutLogGroupDeletionProtection")
async def put_log_group_deletion_protection(
    logs: Logs, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    name = requested_group(ctx, {"logGroupIdentifier": request["logGroupIdentifier"]})
    while True:
        found = await get_group(logs, ctx, name)
        doc = dict(found.value)
        doc["deletionProtectionEnabled"] = bool(request["deletionProtectionEnabled"])
        if await replace(logs, found, doc):
            return {}


def describe_group(found: Versioned, stored_bytes: int) -> dict[str, Any]:
    """A DescribeLogGroups item."""
    doc = found.value
    key = found.key
    item = {
        "logGroupName": key.name,
        "creationTime": doc["creationTime"],
        "metricFilterCount": 0,
        "arn": group_arn(key.region, key.account_id, key.name, wildcard=True),
        "logGroupArn": group_arn(key.region, key.account_id, key.name, wildcard=False),
        "storedBytes": stored_bytes,
        "logGroupClass": doc.get("logGroupClass", "STANDARD"),
        "deletionProtectionEnabled": bool(doc.get("deletionProtectionEnabled", False)),
    }
    for optional in ("retentionInDays", "kmsKeyId"):
        if doc.get(optional) is not None:
            item[optional] = doc[optional]
    return item


def _identified(ctx: RequestContext, identifiers: list[str]) -> set[str]:
    """The names of `logGroupIdentifiers` (names or ARNs; ARNs of other accounts or Regions name
    nothing here)."""
    names = set()
    for value in identifiers:
        if not value.startswith("arn:"):
            names.add(value)
        elif (name := group_name_from_arn(value, region=ctx.region, account=ctx.account_id)) is not None:
            names.add(name)
    return names


@api.operation("DescribeLogGroups")
async def describe_log_groups(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    prefix = request.get("logGroupNamePrefix")
    pattern = request.get("logGroupNamePattern")
    identifiers = request.get("logGroupIdentifiers")
    if prefix is not None and pattern is not None:
        raise InvalidParameterException(
            "LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters."
        )
    if identifiers is not None and (prefix is not None or pattern is not None):
        raise InvalidParameterException(
            "logGroupIdentifiers cannot be used with logGroupNamePrefix or logGroupNamePattern."
        )
    found = await logs.store.list(GROUP, account_id=ctx.account_id, region=ctx.region, prefix=prefix or "")
    if pattern:
        found = [g for g in found if pattern in g.key.name]
    if identifiers is not None:
        wanted = _identified(ctx, list(identifiers))
        found = [g for g in found if g.key.name in wanted]
    if request.get("logGroupClass"):
        found = [g for g in found if g.value.get("logGroupClass", "STANDARD") == request["logGroupClass"]]
    try:
        page, token = paginate(
            found,
            key=lambda g: g.key.name,
            max_results=request.get("limit"),
            next_token=request.get("nextToken"),
            default=50,
        )
    except InvalidToken:
        raise InvalidParameterException(BAD_TOKEN) from None
    sizes = await logs.events.group_bytes([g.value["dockyard"]["uid"] for g in page])
    result: dict[str, Any] = {
        "logGroups": [describe_group(g, sizes.get(g.value["dockyard"]["uid"], 0)) for g in page]
    }
    if token:
        result["nextToken"] = token
    return result


async def group_for(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> Versioned:
    """The group a request names (logGroupName or logGroupIdentifier), or ResourceNotFound."""
    return await get_group(logs, ctx, requested_group(ctx, request))
