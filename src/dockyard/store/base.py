"""Store records and the `Store` protocol."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Key", "Versioned", "Put", "Delete", "Write", "Change", "Conflict", "Store", "Listener"]

Document = dict[str, Any]


@dataclass(frozen=True, slots=True, order=True)
class Key:
    account_id: str
    region: str
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Versioned:
    key: Key
    value: Document
    revision: int


@dataclass(frozen=True, slots=True)
class Put:
    """Write `value` at `key`.

    `expected_revision`: None writes unconditionally, 0 requires that the key does not exist,
    any other number requires the stored document to be at exactly that revision.
    `labels` are indexed for `Store.find` (for example a task's node or client token).
    """

    key: Key
    value: Document
    expected_revision: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delete:
    key: Key
    expected_revision: int | None = None


Write = Put | Delete


@dataclass(frozen=True, slots=True)
class Change:
    """One document written or deleted by a commit, with its labels after and before."""

    key: Key
    revision: int
    deleted: bool
    labels: Mapping[str, str]
    previous_labels: Mapping[str, str]

    def label_values(self, label: str) -> set[str]:
        """Every value `label` had on either side of the change (who must hear about it)."""
        return {v for v in (self.labels.get(label), self.previous_labels.get(label)) if v is not None}


Listener = Callable[[Sequence[Change]], None]


class Conflict(Exception):
    """A compare-and-swap failed: re-read and recompute."""

    def __init__(self, key: Key, expected: int | None, actual: int | None) -> None:
        super().__init__(f"{key}: expected revision {expected}, found {actual}")
        self.key = key


class Store(Protocol):
    async def get(self, key: Key) -> Versioned | None: ...

    async def list(
        self, kind: str, *, account_id: str | None = None, region: str | None = None, prefix: str = ""
    ) -> builtins.list[Versioned]:
        """Documents of one kind sorted by name; None for account/region means every one."""
        ...

    async def find(
        self, kind: str, label: str, value: str, *, account_id: str | None = None, region: str | None = None
    ) -> builtins.list[Versioned]: ...

    async def find_revisions(
        self, kind: str, label: str, value: str, *, account_id: str | None = None, region: str | None = None
    ) -> builtins.list[tuple[Key, int]]:
        """Keys and revisions of the documents where `label` = `value`, without the documents."""
        ...

    async def find_labels(
        self, kind: str, label: str, value: str, *, account_id: str | None = None, region: str | None = None
    ) -> builtins.list[tuple[Key, dict[str, str]]]:
        """Keys and labels of the documents where `label` = `value`, without the documents."""
        ...

    async def commit(self, writes: Sequence[Write]) -> int:
        """Apply all writes atomically or none (raising `Conflict`); returns the new revision."""
        ...

    async def put(
        self,
        key: Key,
        value: Document,
        *,
        expected_revision: int | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> int: ...

    async def delete(self, key: Key, *, expected_revision: int | None = None) -> None: ...

    def revision(self) -> int:
        """The revision of the latest commit."""
        ...

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` after every commit; returns the function that unsubscribes."""
        ...

    async def reindex(self, kind: str, labels_of: Callable[[Document], Mapping[str, str]]) -> int:
        """Recompute every label of `kind`'s documents (after labelling rules change)."""
        ...

    async def reset(self) -> None:
        """Remove every document (the `/_dockyard/reset` endpoint)."""
        ...

    def close(self) -> None: ...
