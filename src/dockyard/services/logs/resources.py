"""Store keys and lookups shared by the CloudWatch Logs handlers.

| kind       | name            | document                                                        |
|------------|-----------------|-----------------------------------------------------------------|
| logs:group | log group name  | logGroupName, creationTime, retentionInDays?, kmsKeyId?,        |
|            |                 | logGroupClass, deletionProtectionEnabled + `dockyard.uid/tags`  |

Streams and events live in the event database (`event_db`), keyed by the group's `uid`.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.logs.deps import Logs
from dockyard.services.logs.errors import (
    GROUP_NOT_FOUND,
    InvalidParameterException,
    ResourceNotFoundException,
)
from dockyard.services.logs.event_db import GroupRef
from dockyard.services.logs.names import group_name_from_arn
from dockyard.store import Conflict, Key, Put, Versioned

__all__ = ["GROUP", "get_group", "group_key", "group_ref", "replace", "requested_group"]

GROUP = "logs:group"


def group_key(ctx: RequestContext, name: str) -> Key:
    return Key(ctx.account_id, ctx.region, GROUP, name)


def requested_group(ctx: RequestContext, request: dict[str, Any]) -> str:
    """The group a request names with `logGroupName` or `logGroupIdentifier` (name or ARN)."""
    name = request.get("logGroupName")
    identifier = request.get("logGroupIdentifier")
    if name is not None and identifier is not None:
        raise InvalidParameterException("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if name is not None:
        return str(name)
    if identifier is None:
        raise InvalidParameterException("Either logGroupName or logGroupIdentifier must be specified.")
    identifier = str(identifier)
    if not identifier.startswith("arn:"):
        return identifier
    found = group_name_from_arn(identifier, region=ctx.region, account=ctx.account_id)
    if found is None:
        raise ResourceNotFoundException(GROUP_NOT_FOUND)
    return found


async def get_group(logs: Logs, ctx: RequestContext, name: str) -> Versioned:
    found = await logs.store.get(group_key(ctx, name))
    if found is None:
        raise ResourceNotFoundException(GROUP_NOT_FOUND)
    return found


def group_ref(found: Versioned) -> GroupRef:
    key = found.key
    return GroupRef(str(found.value["dockyard"]["uid"]), key.account_id, key.region, key.name)


async def replace(logs: Logs, found: Versioned, doc: dict[str, Any]) -> bool:
    """Write `doc` over `found`; False when someone else wrote first (re-read and retry)."""
    try:
        await logs.store.commit([Put(found.key, doc, expected_revision=found.revision)])
    except Conflict:
        return False
    return True
