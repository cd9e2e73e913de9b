"""PutLogEvents: validate the batch (`ingest`), then store the accepted events in one transaction.

Sequence tokens are accepted and ignored, as AWS does since 2023 (never InvalidSequenceToken or
DataAlreadyAccepted); concurrent puts to one stream are fine.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.logs.api import api
from dockyard.services.logs.deps import Logs
from dockyard.services.logs.errors import (
    STREAM_NOT_FOUND,
    InvalidParameterException,
    ResourceNotFoundException,
)
from dockyard.services.logs.event_db import StreamMissing
from dockyard.services.logs.ingest import BatchRefused, check_batch
from dockyard.services.logs.resources import get_group, group_ref

__all__ = ["put_log_events"]


@api.operation("PutLogEvents")
async def put_log_events(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    now = logs.now_ms()
    found = await get_group(logs, ctx, str(request["logGroupName"]))
    retention = found.value.get("retentionInDays")
    try:
        batch = check_batch(request["logEvents"], now=now, retention_days=retention)
    except BatchRefused as exc:
        raise InvalidParameterException(str(exc)) from None
    try:
        last = await logs.events.append(
            group_ref(found).uid, str(request["logStreamName"]), batch.accepted, now
        )
    except StreamMissing:
        raise ResourceNotFoundException(STREAM_NOT_FOUND) from None
    result: dict[str, Any] = {"nextSequenceToken": f"{last:056d}"}
    if batch.rejected:
        result["rejectedLogEventsInfo"] = batch.rejected
    return result
