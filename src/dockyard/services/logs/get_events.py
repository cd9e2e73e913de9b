"""GetLogEvents: one stream's events, a page at a time, in both directions.

```
no token, startFromHead=false (default)  the newest page (ascending within the page)
no token, startFromHead=true             the oldest page
f/<position>                             the page after the position
b/<position>                             the page before it
```
`startTime` is inclusive and `endTime` exclusive; `limit` defaults to 10,000 events (and 1 MB).
Both tokens are always returned: the forward one after the page's last event, the backward one
before its first. At either end the token the caller sent comes back unchanged, which is how
clients know to stop.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.logs.api import api
from dockyard.services.logs.deps import Logs
from dockyard.services.logs.errors import (
    BAD_TOKEN,
    STREAM_NOT_FOUND,
    InvalidParameterException,
    ResourceNotFoundException,
)
from dockyard.services.logs.event_reads import Position
from dockyard.services.logs.groups import group_for
from dockyard.services.logs.resources import group_ref
from dockyard.services.logs.tokens import InvalidToken, parse_stream_token, stream_token

__all__ = ["get_log_events"]

_BEFORE_ALL: Position = (-1, 0)


@api.operation("GetLogEvents")
async def get_log_events(logs: Logs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    token = request.get("nextToken")
    direction, position = "", _BEFORE_ALL
    if token is not None:
        try:
            direction, position = parse_stream_token(str(token))
        except InvalidToken:
            raise InvalidParameterException(BAD_TOKEN) from None
    found = await group_for(logs, ctx, request)
    sid = await logs.events.stream_id(group_ref(found).uid, str(request["logStreamName"]))
    if sid is None:
        raise ResourceNotFoundException(STREAM_NOT_FOUND)
    forward = direction == "f" or (not direction and bool(request.get("startFromHead", False)))
    page = await logs.events.get_page(
        sid,
        start=request.get("startTime"),
        end=request.get("endTime"),
        after=position if forward else None,
        before=position if direction == "b" else None,
        limit=int(request.get("limit") or 10_000),
    )
    events = [{"timestamp": e.ts, "message": e.message, "ingestionTime": e.ingest} for e in page]
    if page:
        next_forward = stream_token("f", page[-1].position)
        next_backward = stream_token("b", page[0].position)
    elif token is not None:
        next_forward = str(token) if direction == "f" else stream_token("f", position)
        next_backward = str(token) if direction == "b" else stream_token("b", position)
    else:
        next_forward, next_backward = stream_token("f", _BEFORE_ALL), stream_token("b", _BEFORE_ALL)
    return {"events": events, "nextForwardToken": next_forward, "nextBackwardToken": next_backward}
