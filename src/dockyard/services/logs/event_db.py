"""The log event database: log streams and their events, in one SQLite file beside the store.

Log groups are store documents (few, tagged, watched by the retention controller); streams and
events live here, because there are millions of events and a stream's statistics change with
every PutLogEvents. Each group document carries a `uid`; rows here hang off that uid, so a group
deleted and created again under the same name never sees the old one's events.

```
groups  (gid, uid, account, region, name)        one row per group that ever had a stream
streams (sid, gid, name, created, first_ts, last_ts, last_ingest, bytes, uploads)
events  (id AUTOINCREMENT, sid, gid, ts, ingest, message)   indexed (sid, ts) and (gid, ts)
dropped (kind 'group'|'stream', id)              deleted groups/streams whose events remain
```
An event's position is (ts, id): the order of GetLogEvents and FilterLogEvents, and what their
tokens carry. Ids are never reused (AUTOINCREMENT), so positions and event ids stay stable.
Deleting a stream or a group removes its row at once (one transaction) and its events in bounded
batches afterwards (`purge`), so a group of millions of events is deleted without a long pause.

Every method is synchronous and runs on the one worker thread of `LogEvents`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["EventDatabase", "GroupRef", "StreamExists", "StreamMissing", "PURGE_NOW"]

#: Events of a deleted stream removed in its DeleteLogStream call; the rest go in later batches.
PURGE_NOW = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS groups (
    gid INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS groups_by_name ON groups (account, region, name);
CREATE TABLE IF NOT EXISTS streams (
    sid INTEGER PRIMARY KEY, gid INTEGER NOT NULL, name TEXT NOT NULL, created INTEGER NOT NULL,
    first_ts INTEGER, last_ts INTEGER, last_ingest INTEGER,
    bytes INTEGER NOT NULL DEFAULT 0, uploads INTEGER NOT NULL DEFAULT 0,
    UNIQUE (gid, name)
);
CREATE INDEX IF NOT EXISTS streams_by_last_event ON streams (gid, last_ts);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, sid INTEGER NOT NULL, gid INTEGER NOT NULL,
    ts INTEGER NOT NULL, ingest INTEGER NOT NULL, message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_stream ON events (sid, ts);
CREATE INDEX IF NOT EXISTS events_by_group ON events (gid, ts);
CREATE TABLE IF NOT EXISTS dropped (kind TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (kind, id));
"""


class StreamExists(Exception):
    pass


class StreamMissing(Exception):
    pass


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A log group as the event database knows it: its document's uid and its name."""

    uid: str
    account: str
    region: str
    name: str


class EventDatabase:
    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def reset(self) -> None:
        """Remove every stream and event (the server's state reset)."""
        with self._transaction():
            for table in ("events", "streams", "groups", "dropped"):
                self.db.execute(f"DELETE FROM {table}")

    # -- groups ---------------------------------------------------------------------------------

    def gid(self, uid: str) -> int | None:
        row = self.db.execute("SELECT gid FROM groups WHERE uid=?", (uid,)).fetchone()
        return None if row is None else int(row[0])

    def _ensure_gid(self, group: GroupRef) -> int:
        found = self.gid(group.uid)
        if found is not None:
            return found
        cursor = self.db.execute(
            "INSERT INTO groups (uid, account, region, name) VALUES (?, ?, ?, ?)",
            (group.uid, group.account, group.region, group.name),
        )
        return int(cursor.lastrowid or 0)

    def groups(self) -> list[GroupRef]:
        return [
            GroupRef(uid, account, region, name)
            for uid, account, region, name in self.db.execute(
                "SELECT uid, account, region, name FROM groups ORDER BY gid"
            )
        ]

    def drop_groups_named(self, account: str, region: str, name: str, *, keep: str | None) -> int:
        """Drop every group row of that name but the one whose uid is `keep`; how many went."""
        rows = self.db.execute(
            "SELECT uid FROM groups WHERE account=? AND region=? AND name=?", (account, region, name)
        ).fetchall()
        dropped = 0
        for (uid,) in rows:
            if uid != keep:
                self.drop_group(uid)
                dropped += 1
        return dropped

    def drop_group(self, uid: str) -> None:
        gid = self.gid(uid)
        if gid is None:
            return
        with self._transaction():
            self.db.execute("DELETE FROM streams WHERE gid=?", (gid,))
            self.db.execute("DELETE FROM groups WHERE gid=?", (gid,))
            self.db.execute("INSERT OR IGNORE INTO dropped VALUES ('group', ?)", (gid,))

    def group_bytes(self, uids: Sequence[str]) -> dict[str, int]:
        if not uids:
            return {}
        marks = ",".join("?" * len(uids))
        rows = self.db.execute(
            f"SELECT g.uid, COALESCE(SUM(s.bytes), 0) FROM groups g LEFT JOIN streams s ON s.gid = g.gid "
            f"WHERE g.uid IN ({marks}) GROUP BY g.uid",
            list(uids),
        )
        return {str(uid): int(total) for uid, total in rows}

    def oldest(self, uid: str) -> int | None:
        """The timestamp of the group's oldest event."""
        gid = self.gid(uid)
        if gid is None:
            return None
        row = self.db.execute("SELECT MIN(ts) FROM events WHERE gid=?", (gid,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    # -- streams --------------------------------------------------------------------------------

    def create_stream(self, group: GroupRef, name: str, now: int) -> None:
        with self._transaction():
            gid = self._ensure_gid(group)
            try:
                self.db.execute("INSERT INTO streams (gid, name, created) VALUES (?, ?, ?)", (gid, name, now))
            except sqlite3.IntegrityError as exc:
                raise StreamExists(name) from exc

    def sid(self, uid: str, name: str) -> int | None:
        row = self.db.execute(
            "SELECT s.sid FROM streams s JOIN groups g ON g.gid = s.gid WHERE g.uid=? AND s.name=?",
            (uid, name),
        ).fetchone()
        return None if row is None else int(row[0])

    def delete_stream(self, uid: str, name: str) -> None:
        """Remove a stream (StreamMissing when there is none) and up to PURGE_NOW of its events."""
        with self._transaction():
            sid = self.sid(uid, name)
            if sid is None:
                raise StreamMissing(name)
            self.db.execute("DELETE FROM streams WHERE sid=?", (sid,))
            self.db.execute("INSERT INTO dropped VALUES ('stream', ?)", (sid,))
            self._purge_one("stream", sid, PURGE_NOW)

    # -- events ---------------------------------------------------------------------------------

    def append(self, uid: str, stream: str, events: Sequence[tuple[int, str]], ingest: int) -> int:
        """Store `events` ((timestamp, message), in order) in one transaction; the last event id
        (0 when `events` is empty). StreamMissing when the stream does not exist."""
        with self._transaction():
            row = self.db.execute(
                "SELECT s.sid, s.gid FROM streams s JOIN groups g ON g.gid = s.gid "
                "WHERE g.uid=? AND s.name=?",
                (uid, stream),
            ).fetchone()
            if row is None:
                raise StreamMissing(stream)
            sid, gid = int(row[0]), int(row[1])
            if not events:
                self.db.execute("UPDATE streams SET uploads = uploads + 1 WHERE sid=?", (sid,))
                return 0
            self.db.executemany(
                "INSERT INTO events (sid, gid, ts, ingest, message) VALUES (?, ?, ?, ?, ?)",
                [(sid, gid, ts, ingest, message) for ts, message in events],
            )
            last = int(self.db.execute("SELECT last_insert_rowid()").fetchone()[0])
            size = sum(len(message.encode()) for _, message in events)
            first_ts = min(ts for ts, _ in events)
            last_ts = max(ts for ts, _ in events)
            self.db.execute(
                "UPDATE streams SET first_ts = MIN(COALESCE(first_ts, ?), ?), "
                "last_ts = MAX(COALESCE(last_ts, ?), ?), last_ingest = ?, bytes = bytes + ?, "
                "uploads = uploads + 1 WHERE sid=?",
                (first_ts, first_ts, last_ts, last_ts, ingest, size, sid),
            )
            return last

    def expire(self, uid: str, before: int, limit: int) -> tuple[int, bool]:
        """Delete up to `limit` of the group's events older than `before` (retention);
        (how many went, whether more remain)."""
        gid = self.gid(uid)
        if gid is None:
            return 0, False
        with self._transaction():
            rows = self.db.execute(
                "SELECT id, sid, length(CAST(message AS BLOB)) FROM events "
                "WHERE gid=? AND ts < ? ORDER BY ts LIMIT ?",
                (gid, before, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            freed: dict[int, int] = {}
            for _, sid, size in rows:
                freed[sid] = freed.get(sid, 0) + int(size)
            self.db.executemany("DELETE FROM events WHERE id=?", [(r[0],) for r in rows])
            for sid, size in freed.items():
                self.db.execute(
                    "UPDATE streams SET bytes = MAX(bytes - ?, 0), "
                    "first_ts = COALESCE((SELECT MIN(ts) FROM events WHERE sid=?), first_ts) WHERE sid=?",
                    (size, sid, sid),
                )
        return len(rows), more

    def purge(self, limit: int) -> bool:
        """Delete up to `limit` events of dropped groups and streams; True when more remain."""
        budget = limit
        for kind, ident in self.db.execute("SELECT kind, id FROM dropped").fetchall():
            with self._transaction():
                budget -= self._purge_one(kind, ident, budget)
            if budget <= 0:
                return self.db.execute("SELECT 1 FROM dropped LIMIT 1").fetchone() is not None
        return False

    def _purge_one(self, kind: str, ident: int, limit: int) -> int:
        column = "gid" if kind == "group" else "sid"
        deleted = self.db.execute(
            f"DELETE FROM events WHERE id IN (SELECT id FROM events WHERE {column}=? LIMIT ?)",
            (ident, limit),
        ).rowcount
        if deleted < limit:
            self.db.execute("DELETE FROM dropped WHERE kind=? AND id=?", (kind, ident))
        return int(deleted)

    # -- plumbing -------------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when the block raises; nests as a no-op."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._outer = False

    def __enter__(self) -> None:
        if not self._db.in_transaction:
            self._db.execute("BEGIN IMMEDIATE")
            self._outer = True

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if not self._outer:
            return
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")
