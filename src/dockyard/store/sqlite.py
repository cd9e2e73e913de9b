"""SQLite implementation of `Store` (WAL, one connection, compare-and-swap in a transaction).

Calls are short and synchronous under the async interface: a point read or a small commit takes
tens of microseconds, less than handing the call to a thread would cost.
"""

from __future__ import annotations

import builtins
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from dockyard.store.base import Change, Conflict, Delete, Document, Key, Listener, Put, Versioned, Write

__all__ = ["SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
    revision INTEGER NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (kind, account, region, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS labels (
    kind TEXT NOT NULL, label TEXT NOT NULL, value TEXT NOT NULL,
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (kind, label, value, account, region, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS labels_by_object ON labels (kind, account, region, name);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('revision', 0);
"""


def _scope(args: list[Any], account_id: str | None, region: str | None, table: str = "") -> str:
    """The `AND` conditions restricting a query to an account and Region (when given); their
    values are appended to `args`."""
    sql = ""
    for column, value in (("account", account_id), ("region", region)):
        if value is not None:
            sql += f" AND {table}{column}=?"
            args.append(value)
    return sql


class SqliteStore:
    def __init__(self, path: str, *, checkpoint_interval: float = 1.0) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._listeners: list[Listener] = []
        self._checkpointer: _Checkpointer | None = None
        if path != ":memory:":
            # Copying the WAL into the database (and its fsync) happens on a thread of its own,
            # not inside a request's commit.
            self._db.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = _Checkpointer(path, checkpoint_interval)

    # reads ---------------------------------------------------------------------------------

    async def get(self, key: Key) -> Versioned | None:
        row = self._db.execute(
            "SELECT revision, value FROM objects WHERE kind=? AND account=? AND region=? AND name=?",
            (key.kind, key.account_id, key.region, key.name),
        ).fetchone()
        return None if row is None else Versioned(key, orjson.loads(row[1]), row[0])

    async def list(
        self, kind: str, *, account_id: str | None = None, region: str | None = None, prefix: str = ""
    ) -> builtins.list[Versioned]:
        sql = "SELECT account, region, name, revision, value FROM objects WHERE kind=?"
        args: list[Any] = [kind]
        sql += _scope(args, account_id, region, "")
        if prefix:
            sql += " AND name >= ? AND name < ?"
            args += [prefix, prefix + "\U0010ffff"]
        sql += " ORDER BY account, region, name"
        return [
            Versioned(Key(a, r, kind, n), orjson.loads(v), rev)
            for a, r, n, rev, v in self._db.execute(sql, args)
        ]

    async def find(
        self, kind: str, label: str, value: str, *, account_id: str | None = None, region: str | None = None
    ) -> builtins.list[Versioned]:
        sql = (
            "SELECT o.account, o.region, o.name, o.revision, o.value FROM labels l CROSS JOIN objects o"
            " ON o.kind=l.kind AND o.account=l.account AND o.region=l.region AND o.name=l.name"
            " WHERE l.kind=? AND l.label=? AND l.value=?"
        )
        args: list[Any] = [kind, label, value]
        sql += _scope(args, account_id, region, "l.")
        sql += " ORDER BY o.account, o.region, o.name"
        return [
            Versioned(Key(a, r, kind, n), orjson.loads(v), rev)
            for a, r, n, rev, v in self._db.execute(sql, args)
        ]

    async def find_revisions(
        self, kind: str, label: str, value: str, *, account_id: str | None = None, region: str | None = None
    ) -> builtins.list[tuple[Key, int]]:
        """Keys and revisions of the documents where `label` = `value` (nothing is decoded)."""
        sql = (
            "SELECT o.account, o.region, o.name, o.revision FROM labels l CROSS JOIN objects o"
            " ON o.kind=l.kind AND o.account=l.account AND o.region=l.region AND o.name=l.name"
            " WHERE l.kind=? AND l.label=? AND l.value=?"
        )
        args: builtins.list[Any] = [kind, label, value]
        sql += _scope(args, account_id, region, "l.")
        sql += " ORDER BY o.account, o.region, o.name"
        return [(Key(a, r, kind, n), rev) for a, r, n, rev in self._db.execute(sql, args)]

    async def find_labels(
        self, kind: str, label: str, value: str, *, account_id: str | None = None, region: str | None = None
    ) -> builtins.list[tuple[Key, dict[str, str]]]:
        """The keys and labels (not the documents) of every document where `label` = `value`: a cheap
        projection for hot paths that need only what the labels say (no JSON is decoded)."""
        sql = (
            "SELECT l.account, l.region, l.name, a.label, a.value FROM labels l CROSS JOIN labels a"
            " ON a.kind=l.kind AND a.account=l.account AND a.region=l.region AND a.name=l.name"
            " WHERE l.kind=? AND l.label=? AND l.value=?"
        )
        args: builtins.list[Any] = [kind, label, value]
        sql += _scope(args, account_id, region, "l.")
        found: dict[Key, dict[str, str]] = {}
        for account, region_, name, other, other_value in self._db.execute(sql, args):
            found.setdefault(Key(account, region_, kind, name), {})[other] = other_value
        return sorted(found.items())

    # writes --------------------------------------------------------------------------------

    async def commit(self, writes: Sequence[Write]) -> int:
        if not writes:
            return self._revision()
        db = self._db
        changes: list[Change] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            revision = self._revision() + 1
            for write in writes:
                key = write.key
                ident = (key.kind, key.account_id, key.region, key.name)
                if write.expected_revision is not None:
                    row = db.execute(
                        "SELECT revision FROM objects WHERE kind=? AND account=? AND region=? AND name=?",
                        ident,
                    ).fetchone()
                    actual = row[0] if row else 0
                    if actual != write.expected_revision:
                        raise Conflict(key, write.expected_revision, actual)
                old_labels = dict(
                    db.execute(
                        "SELECT label, value FROM labels WHERE kind=? AND account=? AND region=? AND name=?",
                        ident,
                    ).fetchall()
                )
                db.execute("DELETE FROM labels WHERE kind=? AND account=? AND region=? AND name=?", ident)
                if isinstance(write, Put):
                    db.execute(
                        "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?)",
                        (*ident, revision, orjson.dumps(write.value)),
                    )
                    db.executemany(
                        "INSERT INTO labels VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (key.kind, k, v, key.account_id, key.region, key.name)
                            for k, v in write.labels.items()
                        ],
                    )
                    changes.append(Change(key, revision, False, dict(write.labels), old_labels))
                else:
                    db.execute(
                        "DELETE FROM objects WHERE kind=? AND account=? AND region=? AND name=?", ident
                    )
                    changes.append(Change(key, revision, True, {}, old_labels))
            db.execute("UPDATE meta SET v=? WHERE k='revision'", (revision,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._notify(changes)
        return revision

    async def put(
        self,
        key: Key,
        value: Document,
        *,
        expected_revision: int | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> int:
        return await self.commit([Put(key, value, expected_revision, labels or {})])

    async def delete(self, key: Key, *, expected_revision: int | None = None) -> None:
        await self.commit([Delete(key, expected_revision)])

    async def reindex(self, kind: str, labels_of: Callable[[Document], Mapping[str, str]]) -> int:
        """Recompute the labels of every document of `kind` (index maintenance after the labelling
        rules change; documents and revisions are untouched). Returns how many changed."""
        db = self._db
        changed = 0
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = db.execute(
                "SELECT account, region, name, value FROM objects WHERE kind=?", (kind,)
            ).fetchall()
            for account, region, name, value in rows:
                ident = (kind, account, region, name)
                wanted = dict(labels_of(orjson.loads(value)))
                current = dict(
                    db.execute(
                        "SELECT label, value FROM labels WHERE kind=? AND account=? AND region=? AND name=?",
                        ident,
                    ).fetchall()
                )
                if wanted == current:
                    continue
                changed += 1
                db.execute("DELETE FROM labels WHERE kind=? AND account=? AND region=? AND name=?", ident)
                db.executemany(
                    "INSERT INTO labels VALUES (?, ?, ?, ?, ?, ?)",
                    [(kind, k, v, account, region, name) for k, v in wanted.items()],
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return changed

    async def reset(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            revision = self._revision() + 1
            labels: dict[tuple[str, str, str, str], dict[str, str]] = {}
            for kind, account, region, name, label, value in db.execute(
                "SELECT kind, account, region, name, label, value FROM labels"
            ):
                labels.setdefault((kind, account, region, name), {})[label] = value
            changes = [
                Change(
                    Key(account, region, kind, name),
                    revision,
                    True,
                    {},
                    labels.get((kind, account, region, name), {}),
                )
                for kind, account, region, name in db.execute(
                    "SELECT kind, account, region, name FROM objects"
                )
            ]
            db.execute("DELETE FROM objects")
            db.execute("DELETE FROM labels")
            db.execute("UPDATE meta SET v=? WHERE k='revision'", (revision,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._notify(changes)

    # change notification -------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self, changes: Sequence[Change]) -> None:
        for listener in list(self._listeners):
            listener(changes)

    def revision(self) -> int:
        return self._revision()

    def _revision(self) -> int:
        return int(self._db.execute("SELECT v FROM meta WHERE k='revision'").fetchone()[0])

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self._db.close()


class _Checkpointer:
    """Checkpoints the WAL every `interval` seconds from a background thread (PASSIVE: it never
    blocks readers or the writer), so commits stay short and the WAL file stays small."""

    def __init__(self, path: str, interval: float) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA busy_timeout=1000")
            while not self._stop.wait(self._interval):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    continue
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        finally:
            db.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
