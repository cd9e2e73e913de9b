"""PutRetentionPolicy and DeleteRetentionPolicy: how long a group keeps its events.

The policy is a field of the group document; the retention controller deletes events older than
it (lazily, in batches, as AWS does). Only AWS's day values are accepted.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.logs.api import api
from dockyard.services.logs.deps import Logs
from dockyard.services.logs.errors import InvalidParameterException
from dockyard.services.logs.names import RETENTION_DAYS, retention_message
from dockyard.services.logs.resources import get_group, replace

__all__ = ["delete_retention_policy", "put_retention_policy"]


@api.operation("PutRetentionPolicy")
async def put_retention_policy(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    days = int(request["retentionInDays"])
    if days not in RETENTION_DAYS:
        raise InvalidParameterException(retention_message(days))
    while True:
        found = await get_group(logs, ctx, str(request["logGroupName"]))
        doc = dict(found.value)
        doc["retentionInDays"] = days
        if await replace(logs, found, doc):
            return {}


@api.operation("DeleteRetentionPolicy")
async def delete_retention_policy(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    while True:
        found = await get_group(logs, ctx, str(request["logGroupName"]))
        doc = dict(found.value)
        doc.pop("retentionInDays", None)
        if await replace(logs, found, doc):
            return {}
