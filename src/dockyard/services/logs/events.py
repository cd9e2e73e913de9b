"""`LogEvents`: the log event database behind an async interface.

Every call runs on one worker thread that owns the SQLite connection, so a 10,000-event
PutLogEvents or a FilterLogEvents scan never blocks the server's event loop, and calls are
serialized (one writer, as SQLite wants).

The database is `<data dir>/logs.db` (in memory when the server has no data dir, as in tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from dockyard.services.logs import event_reads
from dockyard.services.logs.event_db import EventDatabase, GroupRef
from dockyard.services.logs.event_reads import EventRow, FilterCondition, Position, StreamRow

__all__ = ["LogEvents"]

T = TypeVar("T")


class LogEvents:
    def __init__(self, path: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dockyard-logs")
        self._db = self._executor.submit(EventDatabase, path).result()

    @classmethod
    def open(cls, data_dir: Path | None) -> LogEvents:
        return cls(":memory:" if data_dir is None else str(data_dir / "logs.db"))

    def close(self) -> None:
        self._executor.submit(self._db.close).result()
        self._executor.shutdown()

    def reset(self) -> None:
        """Remove every stream and event now (blocking; the `/_dockyard/reset` endpoint)."""
        self._executor.submit(self._db.reset).result()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # -- groups ---------------------------------------------------------------------------------

    async def groups(self) -> list[GroupRef]:
        return await self._run(self._db.groups)

    async def drop_group(self, uid: str) -> None:
        await self._run(self._db.drop_group, uid)

    async def drop_groups_named(self, account: str, region: str, name: str, *, keep: str | None) -> int:
        return await self._run(lambda: self._db.drop_groups_named(account, region, name, keep=keep))

    async def group_bytes(self, uids: Sequence[str]) -> dict[str, int]:
        return await self._run(self._db.group_bytes, list(uids))

    async def oldest(self, uid: str) -> int | None:
        return await self._run(self._db.oldest, uid)

    async def expire(self, uid: str, before: int, limit: int) -> tuple[int, bool]:
        return await self._run(self._db.expire, uid, before, limit)

    async def purge(self, limit: int) -> bool:
        return await self._run(self._db.purge, limit)

    async def event_count(self) -> int:
        """Events stored, those of deleted streams and groups not yet purged included."""
        return await self._run(lambda: int(self._db.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]))

    # -- streams --------------------------------------------------------------------------------

    async def create_stream(self, group: GroupRef, name: str, now: int) -> None:
        await self._run(self._db.create_stream, group, name, now)

    async def delete_stream(self, uid: str, name: str) -> None:
        await self._run(self._db.delete_stream, uid, name)

    async def stream_id(self, uid: str, name: str) -> int | None:
        return await self._run(self._db.sid, uid, name)

    async def list_streams(
        self,
        uid: str,
        *,
        prefix: str | None,
        by_last_event: bool,
        descending: bool,
        after: tuple[int, str] | str | None,
        limit: int,
    ) -> tuple[list[StreamRow], tuple[int, str] | str | None]:
        def run() -> tuple[list[StreamRow], tuple[int, str] | str | None]:
            gid = self._db.gid(uid)
            if gid is None:
                return [], None
            return event_reads.list_streams(
                self._db.db,
                gid,
                prefix=prefix,
                by_last_event=by_last_event,
                descending=descending,
                after=after,
                limit=limit,
            )

        return await self._run(run)

    # -- events ---------------------------------------------------------------------------------

    async def append(self, uid: str, stream: str, events: Sequence[tuple[int, str]], ingest: int) -> int:
        return await self._run(self._db.append, uid, stream, events, ingest)

    async def get_page(
        self,
        sid: int,
        *,
        start: int | None,
        end: int | None,
        after: Position | None,
        before: Position | None,
        limit: int,
    ) -> list[EventRow]:
        return await self._run(
            lambda: event_reads.get_page(
                self._db.db, sid, start=start, end=end, after=after, before=before, limit=limit
            )
        )

    async def filter_page(
        self,
        uid: str,
        *,
        names: Sequence[str] | None,
        prefix: str | None,
        start: int | None,
        end: int | None,
        after: Position | None,
        condition: FilterCondition,
        limit: int,
        scan_budget: int,
    ) -> tuple[list[EventRow], Position | None, dict[int, str]]:
        """A page of FilterLogEvents, the position to go on from, and the names of the streams
        of the page's events (sid -> name)."""

        def run() -> tuple[list[EventRow], Position | None, dict[int, str]]:
            db = self._db.db
            gid = self._db.gid(uid)
            if gid is None:
                return [], None, {}
            sids = None
            if names is not None or prefix is not None:
                sids = event_reads.stream_ids(db, gid, names=names, prefix=prefix)
            page, position = event_reads.filter_page(
                db,
                gid,
                sids,
                start=start,
                end=end,
                after=after,
                condition=condition,
                limit=limit,
                scan_budget=scan_budget,
            )
            wanted = sorted({event.sid for event in page})
            marks = ",".join("?" * len(wanted))
            stream_names = {
                int(sid): str(name)
                for sid, name in db.execute(f"SELECT sid, name FROM streams WHERE sid IN ({marks})", wanted)
            }
            return page, position, stream_names

        return await self._run(run)
