"""`dockyard scan-feed`: the offline vulnerability feed ECR basic scans match packages against.

    dockyard scan-feed import SOURCE [--data-dir DIR | --feed-dir DIR]
    dockyard scan-feed status [--data-dir DIR | --feed-dir DIR]

SOURCE is a directory of OSV JSON files (searched recursively), a zip archive of them (such as
OSV's per-ecosystem `all.zip`, e.g. https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip)
or one JSON file; a file may hold one record or a list. Records are merged into
`<feed dir>/osv.json` (a newer `modified` time replaces a stored record with the same id). The
feed directory is `--feed-dir`, else `DOCKYARD_SCAN_FEED_DIR`, else `<data dir>/scan-feed`. A
running server reads the new feed at its next scan; nothing is fetched from the network.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "feed_dir", "run"]


def add_parser(sub: Any, default_data_dir: Path) -> None:
    """Register `scan-feed import|status` on the top-level subparsers."""
    feed = sub.add_parser("scan-feed", help="the offline vulnerability feed (OSV) image scans use")
    commands = feed.add_subparsers(dest="feed_command", required=True)
    imported = commands.add_parser("import", help="merge OSV records from a directory, zip or JSON file")
    imported.add_argument(
        "source", type=Path, help="a directory of OSV JSON files, a zip of them, or one file"
    )
    status = commands.add_parser("status", help="how many records the feed holds and how recent they are")
    for cmd in (imported, status):
        cmd.add_argument(
            "--data-dir", type=Path, default=default_data_dir, help="the server's data directory"
        )
        cmd.add_argument(
            "--feed-dir", type=Path, default=None, help="the feed directory (overrides --data-dir)"
        )


def feed_dir(args: argparse.Namespace) -> Path:
    if args.feed_dir is not None:
        return Path(args.feed_dir)
    env = os.environ.get("DOCKYARD_SCAN_FEED_DIR")
    if env:
        return Path(env)
    return Path(args.data_dir) / "scan-feed"


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "unknown"
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(args: argparse.Namespace) -> int:
    from dockyard.registry.scanning import FeedFile, import_feed

    directory = feed_dir(args)
    if args.feed_command == "import":
        try:
            result = import_feed(args.source, directory)
        except (FileNotFoundError, OSError, ValueError) as exc:
            print(f"dockyard: cannot import {args.source}: {exc}", file=sys.stderr)
            return 1
        print(
            f"imported into {directory}: {result.added} new, {result.updated} updated, "
            f"{result.total} records; newest modified {_when(result.updated_at)}"
        )
        return 0
    feed = FeedFile(directory).current()
    print(f"{directory}: {len(feed.records)} records; newest modified {_when(feed.updated_at)}")
    return 0
