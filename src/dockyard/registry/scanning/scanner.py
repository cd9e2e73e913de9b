"""A basic scan, start to end: layers -> files -> inventory -> findings, with ECR's statuses.

    outcome = scan_layers(open_layers, feed)     # blocking: run it in a worker thread

| outcome             | when                                                            |
|---------------------|-----------------------------------------------------------------|
| COMPLETE            | the image has OS or Python packages this scanner reads           |
| UNSUPPORTED_IMAGE   | it has none (no dpkg, apk or Python metadata; RPM-only images)   |
| FAILED              | a layer cannot be read (not a tar, zstd, truncated)              |
"""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

from dockyard.registry.scanning.feed import Feed
from dockyard.registry.scanning.inventory import Inventory, inventory
from dockyard.registry.scanning.layers import UnsupportedLayer, read_layers
from dockyard.registry.scanning.match import Finding, match

__all__ = ["COMPLETE_DESCRIPTION", "UNSUPPORTED_DESCRIPTION", "ScanOutcome", "scan_layers"]

COMPLETE_DESCRIPTION = "The scan was completed successfully."
UNSUPPORTED_DESCRIPTION = (
    "UnsupportedImageError: The operating system and/or package manager are not supported."
)


@dataclass
class ScanOutcome:
    status: str  # COMPLETE | UNSUPPORTED_IMAGE | FAILED
    description: str
    findings: list[Finding] = field(default_factory=list)
    inventory: Inventory | None = None


def scan_layers(layers: Iterable[IO[bytes]], feed: Feed) -> ScanOutcome:
    try:
        files = read_layers(layers)
    except UnsupportedLayer as exc:
        return ScanOutcome("FAILED", str(exc))
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        return ScanOutcome("FAILED", f"A layer of the image could not be read: {exc}")
    found = inventory(files)
    if not found.packages:
        return ScanOutcome("UNSUPPORTED_IMAGE", UNSUPPORTED_DESCRIPTION, inventory=found)
    return ScanOutcome("COMPLETE", COMPLETE_DESCRIPTION, match(found, feed), found)
