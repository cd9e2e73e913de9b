"""The offline vulnerability feed: OSV records imported by the user, kept in one file.

```
dockyard scan-feed import <dir | .zip | .json> --> compact records --merge by id--> <feed dir>/osv.json
scanner --> FeedFile.current() --(re)load when the file changed--> Feed.lookup(ecosystem, package)
```

A source is a directory (searched recursively), a zip archive (such as OSV's per-ecosystem
`all.zip`) or one JSON file; each JSON file holds one OSV record or a list of them. Importing
merges: a record replaces the stored one with the same id when it is at least as new (`modified`).
The file is replaced atomically, so a running server picks the new feed up on its next scan.
`vulnerabilitySourceUpdatedAt` is the newest `modified` time of the records.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from dockyard.registry.scanning.inventory import normalize_pypi
from dockyard.registry.scanning.osv import Record, compact

__all__ = ["FEED_FILE", "Feed", "FeedFile", "ImportResult", "import_feed", "read_records"]

FEED_FILE = "osv.json"


@dataclass
class Feed:
    records: dict[str, Record] = field(default_factory=dict)
    updated_at: float | None = None
    _index: dict[tuple[str, str], list[tuple[Record, Record]]] = field(default_factory=dict)

    @classmethod
    def of(cls, records: dict[str, Record]) -> Feed:
        feed = cls(records)
        modified = [float(r.get("modified") or 0) for r in records.values()]
        feed.updated_at = max(modified) if modified and max(modified) > 0 else None
        for record in records.values():
            for entry in record["affected"]:
                base = entry["ecosystem"].split(":", 1)[0]
                key = (base, _package_key(base, entry["name"]))
                feed._index.setdefault(key, []).append((record, entry))
        return feed

    def lookup(self, ecosystem_base: str, name: str) -> list[tuple[Record, Record]]:
        """The (record, affected entry) pairs naming package `name` in an ecosystem family."""
        return self._index.get((ecosystem_base, _package_key(ecosystem_base, name)), [])


def _package_key(base: str, name: str) -> str:
    if base == "PyPI":
        return normalize_pypi(name)
    return name


def _records_in(data: bytes) -> Iterator[Any]:
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        return
    if isinstance(parsed, list):
        yield from parsed
    else:
        yield parsed


def read_records(source: Path) -> Iterator[Record]:
    """The compact records in a directory, zip archive or JSON file (unreadable entries skipped)."""
    if source.is_dir():
        for path in sorted(source.rglob("*.json")):
            for raw in _records_in(path.read_bytes()):
                record = compact(raw)
                if record is not None:
                    yield record
        return
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                if info.filename.endswith(".json") and not info.is_dir():
                    for raw in _records_in(archive.read(info)):
                        record = compact(raw)
                        if record is not None:
                            yield record
        return
    for raw in _records_in(source.read_bytes()):
        record = compact(raw)
        if record is not None:
            yield record


def _load(path: Path) -> dict[str, Record]:
    if not path.exists():
        return {}
    data = orjson.loads(path.read_bytes())
    return {r["id"]: r for r in data.get("records", [])}


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    updated: int
    total: int
    updated_at: float | None


def import_feed(source: Path, feed_dir: Path) -> ImportResult:
    """Merge the OSV records of `source` into the feed kept in `feed_dir`."""
    if not source.exists():
        raise FileNotFoundError(f"no such file or directory: {source}")
    path = feed_dir / FEED_FILE
    records = _load(path)
    added = updated = 0
    for record in read_records(source):
        old = records.get(record["id"])
        if old is None:
            added += 1
        elif float(record["modified"]) >= float(old.get("modified") or 0):
            updated += 1
        else:
            continue
        records[record["id"]] = record
    feed_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(orjson.dumps({"records": sorted(records.values(), key=lambda r: r["id"])}))
    os.replace(temporary, path)
    return ImportResult(added, updated, len(records), Feed.of(records).updated_at)


class FeedFile:
    """The feed in `feed_dir`, re-read whenever its file changes (None while there is none)."""

    def __init__(self, feed_dir: Path | None) -> None:
        self.feed_dir = feed_dir
        self._stamp: tuple[int, int] | None = None
        self._feed = Feed()

    def current(self) -> Feed:
        if self.feed_dir is None:
            return self._feed
        path = self.feed_dir / FEED_FILE
        try:
            stat = path.stat()
        except FileNotFoundError:
            self._stamp, self._feed = None, Feed()
            return self._feed
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._feed = Feed.of(_load(path))
            self._stamp = stamp
        return self._feed
