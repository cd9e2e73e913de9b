"""FilterLogEvents: events of a group, across its streams, matching a filter pattern.

Events come sorted by (timestamp, event id), from every stream of the group or from
`logStreamNames` / `logStreamNamePrefix` (not both); `startTime` and `endTime` are inclusive.
A page holds up to `limit` (default 10,000) events and 1 MB. `nextToken` is present while more
may match and absent at the end (what `aws logs tail --follow` relies on); a pattern evaluated
in Python examines at most `SCAN_BUDGET` events per call, so a page may be partial or empty and
still carry a token, as AWS's may. `searchedLogStreams` is always empty, as AWS has returned it
since 2020. `interleaved` is accepted and ignored (results are always interleaved).
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.logs.api import api
from dockyard.services.logs.deps import Logs
from dockyard.services.logs.errors import BAD_TOKEN, InvalidParameterException
from dockyard.services.logs.filter_pattern import InvalidFilterPattern, parse_filter_pattern
from dockyard.services.logs.groups import group_for
from dockyard.services.logs.resources import group_ref
from dockyard.services.logs.tokens import InvalidToken, decode_filter, encode_filter, event_id

__all__ = ["SCAN_BUDGET", "filter_log_events"]

#: Events a Python-evaluated pattern examines in one call before the page is returned.
SCAN_BUDGET = 50_000


@api.operation("FilterLogEvents")
async def filter_log_events(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    names = request.get("logStreamNames")
    prefix = request.get("logStreamNamePrefix")
    if names is not None and prefix is not None:
        raise InvalidParameterException("Cannot specify both logStreamNames and logStreamNamePrefix.")
    try:
        pattern = parse_filter_pattern(request.get("filterPattern"))
    except InvalidFilterPattern as exc:
        raise InvalidParameterException(str(exc)) from None
    after = None
    if request.get("nextToken") is not None:
        try:
            after = decode_filter(str(request["nextToken"]))
        except InvalidToken:
            raise InvalidParameterException(BAD_TOKEN) from None
    found = await group_for(logs, ctx, request)
    page, position, stream_names = await logs.events.filter_page(
        group_ref(found).uid,
        names=list(names) if names is not None else None,
        prefix=prefix,
        start=request.get("startTime"),
        end=request.get("endTime"),
        after=after,
        condition=pattern.condition,
        limit=int(request.get("limit") or 10_000),
        scan_budget=SCAN_BUDGET,
    )
    events = [
        {
            "logStreamName": stream_names[event.sid],
            "timestamp": event.ts,
            "message": event.message,
            "ingestionTime": event.ingest,
            "eventId": event_id(event.position),
        }
        for event in page
        if event.sid in stream_names
    ]
    result: dict[str, Any] = {"events": events, "searchedLogStreams": []}
    if position is not None:
        result["nextToken"] = encode_filter(position)
    return result
