"""Open an image's layers for the scanner's worker thread, one at a time, from blob storage.

A backend with local files hands out plain files; a remote one (`local_path` is None) is read
through its `read_range` stream, pulled chunk by chunk from the event loop by the thread.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from typing import IO

from dockyard.registry.catalog import Catalog
from dockyard.registry.manifests import Descriptor

__all__ = ["layer_streams"]


class _Bridge(io.RawIOBase):
    """A blocking reader over an async byte stream owned by `loop` (used from another thread)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, chunks: AsyncIterator[bytes]) -> None:
        self._loop = loop
        self._chunks = chunks
        self._buffer = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer and not self._done:
            future = asyncio.run_coroutine_threadsafe(_next(self._chunks), self._loop)
            chunk = future.result()
            if chunk is None:
                self._done = True
            else:
                self._buffer = chunk
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


async def _next(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None


def layer_streams(
    catalog: Catalog, layers: list[Descriptor], loop: asyncio.AbstractEventLoop, stack: ExitStack
) -> Iterator[IO[bytes]]:
    """Each layer's bytes as a blocking stream, opened when reached (call from a worker thread)."""
    for layer in layers:
        path = catalog.blob_path(layer.digest)
        if path is not None:
            yield stack.enter_context(open(path, "rb"))
        else:
            raw = _Bridge(loop, aiter(catalog.read_blob(layer.digest, 0, layer.size)))
            yield stack.enter_context(io.BufferedReader(raw, 1024 * 1024))
