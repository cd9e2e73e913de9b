"""Manifest bytes kept in memory by digest: a manifest's content never changes, so a cache of
them needs no invalidation, only a size bound (least recently used entries go first)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

__all__ = ["ManifestCache"]


class ManifestCache:
    """Manifest bytes by digest, least recently used dropped first (digests never change)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0

    async def get(self, digest: str, load: Callable[[str], Awaitable[bytes]]) -> bytes:
        found = self._entries.get(digest)
        if found is not None:
            self._entries.move_to_end(digest)
            return found
        data = await load(digest)
        if len(data) <= self._limit // 4 and digest not in self._entries:
            self._entries[digest] = data
            self._bytes += len(data)
            while self._bytes > self._limit:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped)
        return data
