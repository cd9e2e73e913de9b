"""Basic image scanning, offline: package inventory from the layers, matched against an OSV feed.

```
layers (tar, tar+gzip) --layers.read_layers--> wanted files (whiteouts applied)
      --inventory.inventory--> OS release + dpkg/apk/Python packages
      --match.match(feed)--> findings (CVE, severity, package)      versions.py: dpkg, apk, PEP 440
feed.import_feed(<dir|zip|json>) --> <feed dir>/osv.json  <-- feed.FeedFile (reloaded on change)
```
"""

from dockyard.registry.scanning.feed import Feed, FeedFile, ImportResult, import_feed
from dockyard.registry.scanning.inventory import Inventory, Package, inventory
from dockyard.registry.scanning.layers import ImageFiles, UnsupportedLayer, read_layers
from dockyard.registry.scanning.match import Finding, match, severity_counts
from dockyard.registry.scanning.scanner import COMPLETE_DESCRIPTION, ScanOutcome, scan_layers

__all__ = [
    "COMPLETE_DESCRIPTION",
    "Feed",
    "FeedFile",
    "Finding",
    "ImageFiles",
    "ImportResult",
    "Inventory",
    "Package",
    "ScanOutcome",
    "UnsupportedLayer",
    "import_feed",
    "inventory",
    "match",
    "read_layers",
    "scan_layers",
    "severity_counts",
]
