"""The shape of a controller: which keys it owns and one bounded step for a key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from dockyard.store import Change, Key

__all__ = ["Requeue", "Reconciler", "DONE"]


@dataclass(frozen=True, slots=True)
class Requeue:
    after: float | None = None  # None: nothing to do until the next change


DONE = Requeue()


class Reconciler(Protocol):
    name: str
    kind: str  # store kind whose documents are listed on start and on every resync

    def triggers(self, change: Change) -> Iterable[Key]:
        """Keys to reconcile because of `change` (usually `[change.key]` for its own kind)."""
        ...

    async def reconcile(self, key: Key) -> Requeue:
        """Read current state, take at most one bounded step; raise TemporaryError to retry."""
        ...
