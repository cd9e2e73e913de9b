"""Reads of the log event database: stream listings and pages of events.

Pages walk an index in (timestamp, id) order and stop at whichever comes first: the event count,
the response size (1 MB counting each message's UTF-8 bytes plus 26, as AWS counts them) or,
for a filter that must be evaluated in Python, a budget of examined events, after which the
caller gets a token to go on from the last event examined (AWS also answers partial pages).

```
get_page     one stream: forward from a position (or the head), or backward (the newest page)
filter_page  a group, or some of its streams (k-way merge of per-stream index walks)
list_streams DescribeLogStreams: by name (prefix) or by last event time, either direction
```
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EVENT_OVERHEAD",
    "PAGE_BYTES",
    "EventRow",
    "FilterCondition",
    "Position",
    "StreamRow",
    "filter_page",
    "get_page",
    "list_streams",
    "stream_ids",
]

#: Bytes AWS adds to each event when it sizes a batch or a page.
EVENT_OVERHEAD = 26
#: The most a page of events carries.
PAGE_BYTES = 1_048_576
#: Streams walked side by side (merged in Python); more are read through the group's index.
_MERGE_LIMIT = 100

Position = tuple[int, int]  # (timestamp, event id)
_LAST = "\U0010ffff"  # sorts after every other character (UTF-8 binary collation)


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    ts: int
    ingest: int
    message: str
    sid: int

    @property
    def position(self) -> Position:
        return (self.ts, self.id)


@dataclass(frozen=True, slots=True)
class StreamRow:
    sid: int
    name: str
    created: int
    first_ts: int | None
    last_ts: int | None
    last_ingest: int | None
    uploads: int


@dataclass(frozen=True, slots=True)
class FilterCondition:
    """A filter pattern compiled for the database: `sql` (on column `message`) and, when SQL
    cannot decide alone, a `predicate` run on each candidate message."""

    sql: str = "1"
    params: tuple[Any, ...] = ()
    predicate: Callable[[str], bool] | None = None


def _size(message: str) -> int:
    return len(message.encode()) + EVENT_OVERHEAD


_EVENT_COLUMNS = "id, ts, ingest, message, sid"


def get_page(
    db: sqlite3.Connection,
    sid: int,
    *,
    start: int | None,
    end: int | None,
    after: Position | None,
    before: Position | None,
    limit: int,
) -> list[EventRow]:
    """Events of one stream with start <= ts < end: the first `limit` after `after` (forward),
    or, when `after` is None, the last `limit` before `before` (None: the newest), ascending."""
    sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE sid=?"
    args: list[Any] = [sid]
    if start is not None:
        sql += " AND ts >= ?"
        args.append(start)
    if end is not None:
        sql += " AND ts < ?"
        args.append(end)
    forward = after is not None
    if after is not None:
        sql += " AND (ts, id) > (?, ?)"
        args += list(after)
    elif before is not None:
        sql += " AND (ts, id) < (?, ?)"
        args += list(before)
    sql += " ORDER BY ts, id" if forward else " ORDER BY ts DESC, id DESC"
    sql += " LIMIT ?"
    args.append(limit)
    page: list[EventRow] = []
    budget = PAGE_BYTES
    for row in db.execute(sql, args):
        event = EventRow(*row)
        budget -= _size(event.message)
        if budget < 0 and page:
            break
        page.append(event)
    if not forward:
        page.reverse()
    return page


def stream_ids(
    db: sqlite3.Connection, gid: int, *, names: Sequence[str] | None, prefix: str | None
) -> list[int]:
    """The streams of a group with one of `names`, or whose name starts with `prefix`."""
    if names is not None:
        marks = ",".join("?" * len(names))
        rows = db.execute(f"SELECT sid FROM streams WHERE gid=? AND name IN ({marks})", [gid, *names])
    else:
        rows = db.execute(
            "SELECT sid FROM streams WHERE gid=? AND name >= ? AND name < ?",
            (gid, prefix or "", (prefix or "") + _LAST),
        )
    return [int(sid) for (sid,) in rows]


def _walk(
    db: sqlite3.Connection,
    column: str,
    ident: int,
    *,
    start: int | None,
    end: int | None,
    after: Position | None,
    condition: FilterCondition,
) -> Iterator[EventRow]:
    sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE {column}=?"
    args: list[Any] = [ident]
    if start is not None:
        sql += " AND ts >= ?"
        args.append(start)
    if end is not None:
        sql += " AND ts <= ?"
        args.append(end)
    if after is not None:
        sql += " AND (ts, id) > (?, ?)"
        args += list(after)
    if column == "gid":  # events of a deleted stream wait for their purge: skip them
        sql += " AND NOT EXISTS (SELECT 1 FROM dropped d WHERE d.kind = 'stream' AND d.id = sid)"
    sql += f" AND ({condition.sql}) ORDER BY ts, id"
    args += list(condition.params)
    return (EventRow(*row) for row in db.execute(sql, args))


def filter_page(
    db: sqlite3.Connection,
    gid: int,
    sids: Sequence[int] | None,
    *,
    start: int | None,
    end: int | None,
    after: Position | None,
    condition: FilterCondition,
    limit: int,
    scan_budget: int,
) -> tuple[list[EventRow], Position | None]:
    """Matching events of a group (of streams `sids` when given) with start <= ts <= end, after
    `after`; and the position to go on from (None when nothing is left)."""

    def walk(column: str, ident: int) -> Iterator[EventRow]:
        return _walk(db, column, ident, start=start, end=end, after=after, condition=condition)

    rows: Iterator[EventRow]
    if sids is None:
        rows = walk("gid", gid)
    elif len(sids) <= _MERGE_LIMIT:
        rows = heapq.merge(*(walk("sid", sid) for sid in sids), key=lambda event: event.position)
    else:
        wanted = set(sids)
        rows = (event for event in walk("gid", gid) if event.sid in wanted)
    page: list[EventRow] = []
    budget = PAGE_BYTES
    examined = 0
    for event in rows:
        examined += 1
        if condition.predicate is None or condition.predicate(event.message):
            size = _size(event.message)
            if len(page) >= limit or (page and budget < size):
                return page, page[-1].position  # one more matches: there is a next page
            budget -= size
            page.append(event)
        if examined >= scan_budget:
            return page, event.position
    return page, None


def list_streams(
    db: sqlite3.Connection,
    gid: int,
    *,
    prefix: str | None,
    by_last_event: bool,
    descending: bool,
    after: tuple[int, str] | str | None,
    limit: int,
) -> tuple[list[StreamRow], tuple[int, str] | str | None]:
    """One page of a group's streams and the cursor of the next page (None at the end)."""
    columns = "sid, name, created, first_ts, last_ts, last_ingest, uploads"
    sql = f"SELECT {columns} FROM streams WHERE gid=?"
    args: list[Any] = [gid]
    direction = "<" if descending else ">"
    order = " DESC" if descending else ""
    if by_last_event:
        if after is not None:
            sql += f" AND (IFNULL(last_ts, -1), name) {direction} (?, ?)"
            args += list(after)
        sql += f" ORDER BY IFNULL(last_ts, -1){order}, name{order}"
    else:
        if prefix:
            sql += " AND name >= ? AND name < ?"
            args += [prefix, prefix + _LAST]
        if after is not None:
            sql += f" AND name {direction} ?"
            args.append(after)
        sql += f" ORDER BY name{order}"
    sql += " LIMIT ?"
    args.append(limit + 1)
    rows = [StreamRow(*row) for row in db.execute(sql, args)]
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    cursor: tuple[int, str] | str = (
        (last.last_ts if last.last_ts is not None else -1, last.name) if by_last_event else last.name
    )
    return rows, cursor
