"""The revisioned document store: every object is a versioned JSON document.

`Store` is the protocol; `SqliteStore` implements it for a file (the embedded default) and for
`:memory:` (fast tests). Every write is compare-and-swap on the document's revision; one commit
may write several documents atomically; listeners hear about each commit after it lands.
"""

from dockyard.store.base import (
    Change,
    Conflict,
    Delete,
    Key,
    Put,
    Store,
    Versioned,
    Write,
)
from dockyard.store.sqlite import SqliteStore

__all__ = ["Change", "Conflict", "Delete", "Key", "Put", "Store", "Versioned", "Write", "SqliteStore"]
