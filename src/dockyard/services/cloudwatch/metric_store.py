"""Where datapoints live: a SQLite file of per-bucket statistic sets, not one document per point.

```
metrics     id | account | region | namespace | name | dimensions (JSON, sorted by name) | last_put
datapoints  metric | ts (bucket start) | unit | count | sum | min | max | vals (raw values or NULL)
```
A metric is its namespace, name and exact dimension set (no roll-up across dimension sets). Each
datum lands in the bucket of its timestamp: one second for high-resolution data
(StorageResolution 1), one minute otherwise, as CloudWatch stores them; datums of the same
bucket and unit merge into one statistic set. `vals` keeps the raw values (value -> count) that
percentiles need. Buckets older than the retention (15 days: how long CloudWatch keeps
one-minute data) are purged. The file is `metrics.db` beside the store's database (`:memory:`
when the server has no data directory). Calls are short and synchronous, like the store's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from dockyard.services.cloudwatch.statistics import Aggregate, merge

__all__ = ["MetricStore", "MetricId", "Bucket", "Datum", "RETENTION"]

RETENTION = 15 * 24 * 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL, region TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    dimensions TEXT NOT NULL, last_put REAL NOT NULL,
    UNIQUE (account, region, namespace, name, dimensions)
);
CREATE TABLE IF NOT EXISTS datapoints (
    metric INTEGER NOT NULL, ts REAL NOT NULL, unit TEXT NOT NULL,
    count REAL NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, vals BLOB,
    PRIMARY KEY (metric, ts, unit)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS datapoints_by_time ON datapoints (ts);
"""


@dataclass(frozen=True, slots=True)
class MetricId:
    """A metric's identity within an account and region. `dimensions` are sorted by name."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, namespace: str, name: str, dimensions: Iterable[tuple[str, str]]) -> MetricId:
        return cls(namespace, name, tuple(sorted(dimensions)))

    def dimension_list(self) -> list[dict[str, str]]:
        return [{"Name": n, "Value": v} for n, v in self.dimensions]


@dataclass(frozen=True, slots=True)
class Datum:
    """One datum to store: its timestamp, unit, storage resolution and statistics."""

    timestamp: float
    unit: str
    resolution: int  # 1 or 60
    aggregate: Aggregate


@dataclass(frozen=True, slots=True)
class Bucket:
    timestamp: float
    unit: str
    aggregate: Aggregate


class MetricStore:
    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    # writes --------------------------------------------------------------------------------------

    def put(self, account: str, region: str, writes: Sequence[tuple[MetricId, Datum]], *, now: float) -> None:
        """Store every datum, all or none."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for metric, datum in writes:
                metric_row = self._ensure(account, region, metric, now)
                bucket = datum.timestamp - datum.timestamp % datum.resolution
                row = db.execute(
                    "SELECT count, sum, min, max, vals FROM datapoints WHERE metric=? AND ts=? AND unit=?",
                    (metric_row, bucket, datum.unit),
                ).fetchone()
                aggregate = datum.aggregate
                if row is not None:
                    merged = merge([_aggregate(row), aggregate])
                    assert merged is not None
                    aggregate = merged
                db.execute(
                    "INSERT OR REPLACE INTO datapoints VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        metric_row,
                        bucket,
                        datum.unit,
                        aggregate.count,
                        aggregate.sum,
                        aggregate.minimum,
                        aggregate.maximum,
                        _values_blob(aggregate.values),
                    ),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _ensure(self, account: str, region: str, metric: MetricId, now: float) -> int:
        dimensions = _dimensions_text(metric.dimensions)
        key = (account, region, metric.namespace, metric.name, dimensions)
        row = self._db.execute(
            "SELECT id FROM metrics WHERE account=? AND region=? AND namespace=? AND name=? AND dimensions=?",
            key,
        ).fetchone()
        if row is not None:
            self._db.execute("UPDATE metrics SET last_put=max(last_put, ?) WHERE id=?", (now, row[0]))
            return int(row[0])
        cursor = self._db.execute("INSERT INTO metrics VALUES (NULL, ?, ?, ?, ?, ?, ?)", (*key, now))
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)

    def purge(self, before: float) -> int:
        """Delete buckets older than `before` and metrics left without any; returns buckets deleted."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            deleted = db.execute("DELETE FROM datapoints WHERE ts < ?", (before,)).rowcount
            db.execute(
                "DELETE FROM metrics WHERE last_put < ? AND NOT EXISTS "
                "(SELECT 1 FROM datapoints d WHERE d.metric = metrics.id)",
                (before,),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return int(deleted)

    def reset(self) -> None:
        self._db.executescript("DELETE FROM datapoints; DELETE FROM metrics;")

    def close(self) -> None:
        self._db.close()

    # reads ---------------------------------------------------------------------------------------

    def buckets(
        self,
        account: str,
        region: str,
        metric: MetricId,
        start: float,
        end: float,
        *,
        unit: str | None = None,
    ) -> list[Bucket]:
        """The metric's buckets with start <= timestamp < end (of one unit when given), oldest first."""
        row = self._db.execute(
            "SELECT id FROM metrics WHERE account=? AND region=? AND namespace=? AND name=? AND dimensions=?",
            (account, region, metric.namespace, metric.name, _dimensions_text(metric.dimensions)),
        ).fetchone()
        if row is None:
            return []
        sql = "SELECT ts, unit, count, sum, min, max, vals FROM datapoints WHERE metric=? AND ts>=? AND ts<?"
        args: list[Any] = [row[0], start, end]
        if unit is not None:
            sql += " AND unit=?"
            args.append(unit)
        sql += " ORDER BY ts, unit"
        return [Bucket(ts, u, _aggregate(rest)) for ts, u, *rest in self._db.execute(sql, args)]

    def metrics(
        self,
        account: str,
        region: str,
        *,
        namespace: str | None = None,
        name: str | None = None,
        active_since: float | None = None,
    ) -> list[MetricId]:
        """Metrics of an account and region, sorted by namespace, name and dimensions."""
        sql = "SELECT namespace, name, dimensions FROM metrics WHERE account=? AND region=?"
        args: list[Any] = [account, region]
        if namespace is not None:
            sql += " AND namespace=?"
            args.append(namespace)
        if name is not None:
            sql += " AND name=?"
            args.append(name)
        if active_since is not None:
            sql += " AND last_put>=?"
            args.append(active_since)
        sql += " ORDER BY namespace, name, dimensions"
        return [
            MetricId(ns, n, tuple((str(k), str(v)) for k, v in orjson.loads(d)))
            for ns, n, d in self._db.execute(sql, args)
        ]


def _dimensions_text(dimensions: tuple[tuple[str, str], ...]) -> str:
    return orjson.dumps([list(pair) for pair in dimensions]).decode()


def _values_blob(values: dict[float, float] | None) -> bytes | None:
    return None if values is None else orjson.dumps([[v, c] for v, c in values.items()])


def _aggregate(row: Sequence[Any]) -> Aggregate:
    count, total, low, high, blob = row
    values = None if blob is None else {float(v): float(c) for v, c in orjson.loads(blob)}
    return Aggregate(float(count), float(total), float(low), float(high), values)
