"""Log streams: CreateLogStream, DeleteLogStream, DescribeLogStreams.

Streams are rows of the event database under their group's uid. DescribeLogStreams lists them by
name (optionally by prefix) or by last event time, in either direction, 50 a page by default.
`storedBytes` of a stream is always 0, as AWS has reported it since 2019 (the group's is real);
`uploadSequenceToken` is shown once the stream has had an upload, and is never checked.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, decode_token, encode_token
from dockyard.services.logs.api import api
from dockyard.services.logs.deps import Logs
from dockyard.services.logs.errors import (
    BAD_TOKEN,
    STREAM_NOT_FOUND,
    InvalidParameterException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)
from dockyard.services.logs.event_db import StreamExists, StreamMissing
from dockyard.services.logs.event_reads import StreamRow
from dockyard.services.logs.groups import PROTECTED, group_for
from dockyard.services.logs.names import stream_arn
from dockyard.services.logs.resources import get_group, group_ref

__all__ = ["create_log_stream", "delete_log_stream", "describe_log_streams", "sequence_token"]


def sequence_token(sid: int, uploads: int) -> str:
    """A sequence token in AWS's shape (56 digits); kept for old clients, never checked."""
    return f"{sid:020d}{uploads:036d}"


@api.operation("CreateLogStream")
async def create_log_stream(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found = await get_group(logs, ctx, str(request["logGroupName"]))
    try:
        await logs.events.create_stream(group_ref(found), str(request["logStreamName"]), logs.now_ms())
    except StreamExists:
        raise ResourceAlreadyExistsException("The specified log stream already exists") from None
    return {}


@api.operation("DeleteLogStream")
async def delete_log_stream(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found = await get_group(logs, ctx, str(request["logGroupName"]))
    if found.value.get("deletionProtectionEnabled"):
        raise ValidationException(PROTECTED)
    try:
        await logs.events.delete_stream(group_ref(found).uid, str(request["logStreamName"]))
    except StreamMissing:
        raise ResourceNotFoundException(STREAM_NOT_FOUND) from None
    return {}


def _item(ctx: RequestContext, group: str, row: StreamRow) -> dict[str, Any]:
    item: dict[str, Any] = {
        "logStreamName": row.name,
        "creationTime": row.created,
        "arn": stream_arn(ctx.region, ctx.account_id, group, row.name),
        "storedBytes": 0,
    }
    if row.first_ts is not None:
        item["firstEventTimestamp"] = row.first_ts
    if row.last_ts is not None:
        item["lastEventTimestamp"] = row.last_ts
    if row.last_ingest is not None:
        item["lastIngestionTime"] = row.last_ingest
    if row.uploads:
        item["uploadSequenceToken"] = sequence_token(row.sid, row.uploads)
    return item


def _cursor(token: str | None) -> tuple[int, str] | str | None:
    if token is None:
        return None
    try:
        value = decode_token(token)
    except InvalidToken:
        raise InvalidParameterException(BAD_TOKEN) from None
    if isinstance(value, str):
        return value
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], int)
        and isinstance(value[1], str)
    ):
        return (value[0], value[1])
    raise InvalidParameterException(BAD_TOKEN)


@api.operation("DescribeLogStreams")
async def describe_log_streams(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    by_last_event = request.get("orderBy", "LogStreamName") == "LastEventTime"
    prefix = request.get("logStreamNamePrefix")
    if by_last_event and prefix:
        raise InvalidParameterException("Cannot order by LastEventTime with a logStreamNamePrefix.")
    found = await group_for(logs, ctx, request)
    after = _cursor(request.get("nextToken"))
    if isinstance(after, tuple) != by_last_event and after is not None:
        raise InvalidParameterException(BAD_TOKEN)
    rows, cursor = await logs.events.list_streams(
        group_ref(found).uid,
        prefix=prefix,
        by_last_event=by_last_event,
        descending=bool(request.get("descending", False)),
        after=after,
        limit=int(request.get("limit") or 50),
    )
    result: dict[str, Any] = {"logStreams": [_item(ctx, found.key.name, row) for row in rows]}
    if cursor is not None:
        result["nextToken"] = encode_token(list(cursor) if isinstance(cursor, tuple) else cursor)
    return result
