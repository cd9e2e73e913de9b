"""Blob storage: the `BlobStorage` protocol, what it deals in, and its errors.

```
<root>/blobs/<algorithm>/<first 2 hex>/<hex>   immutable, content-addressed: layers, configs AND
                                               manifest bytes; one copy however many repositories
                                               (or accounts) use it
<root>/uploads/<upload id>/data                a blob being uploaded, written at offsets
```
An upload is `begin` -> `write` (at the current size; any number of times) -> `commit(digest)`,
or `abort`. Bodies stream through `write` in bounded buffers (never a whole blob in memory), and
the digest is computed while they arrive: the live sha256 state is kept per upload in memory and,
after a restart (or any doubt), rebuilt by re-reading the partial file. `commit` checks the
digest, fsyncs, renames into the CAS and fsyncs the directory; a blob already present is
deduplicated by dropping the upload.

The filesystem backend is `dockyard.registry.filesystem.FilesystemStorage`.
Metadata (which repository may see which blob, who started an upload) is not kept here: it lives
in the store (`dockyard.registry.catalog`). An S3-compatible backend implements the same protocol
with one multipart upload per session, `local_path` returning None and `read_range` streaming.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = [
    "BlobInfo",
    "BlobStorage",
    "DigestMismatch",
    "OffsetMismatch",
    "UploadInfo",
    "UploadUnknown",
]


@dataclass(frozen=True, slots=True)
class BlobInfo:
    digest: str
    size: int
    created: float  # epoch seconds the blob entered the store


@dataclass(frozen=True, slots=True)
class UploadInfo:
    upload_id: str
    size: int
    modified: float  # epoch seconds of the last write


class UploadUnknown(LookupError):
    """No upload with this id (never begun, committed, aborted or purged)."""


class OffsetMismatch(ValueError):
    """A write did not start at the upload's current size."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the upload holds {size} bytes")
        self.size = size


class DigestMismatch(ValueError):
    """The bytes uploaded do not have the digest the client named; the upload is dropped."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"expected {expected}, computed {actual}")
        self.expected = expected
        self.actual = actual


class BlobStorage(Protocol):
    async def begin(self, upload_id: str) -> None:
        """Start an empty upload."""
        ...

    async def upload_size(self, upload_id: str) -> int:
        """Bytes received so far, once a write in progress has ended; `UploadUnknown`."""
        ...

    async def write(self, upload_id: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        """Append `chunks` at `offset`, which must be the current size (`OffsetMismatch`);
        returns the new size. Bytes that arrived before a failure stay written."""
        ...

    async def abort(self, upload_id: str) -> None:
        """Forget an upload and its bytes (no error when it is already gone)."""
        ...

    async def digest(self, upload_id: str, algorithm: str = "sha256") -> str:
        """The digest of the bytes received so far; `UploadUnknown`."""
        ...

    async def commit(self, upload_id: str, digest: str) -> BlobInfo:
        """Verify the upload has `digest` (`DigestMismatch`, upload dropped) and make it the
        blob `digest`; the upload is gone afterwards."""
        ...

    async def put(self, data: bytes, algorithm: str = "sha256") -> BlobInfo:
        """Store a small blob (a manifest) from memory under its digest."""
        ...

    async def stat(self, digest: str) -> BlobInfo | None: ...

    async def read(self, digest: str) -> bytes:
        """A small blob's bytes (`FileNotFoundError` when missing)."""
        ...

    def local_path(self, digest: str) -> Path | None:
        """A file holding the blob, for sendfile; None when the backend has no local files."""
        ...

    def read_range(self, digest: str, start: int, length: int) -> AsyncIterator[bytes]:
        """Stream `length` bytes of the blob from `start`."""
        ...

    async def delete(self, digest: str) -> bool:
        """Remove a blob; False when it was not there."""
        ...

    def blobs(self) -> AsyncIterator[BlobInfo]:
        """Every stored blob (for garbage collection)."""
        ...

    def uploads(self) -> AsyncIterator[UploadInfo]:
        """Every upload in progress (for purging abandoned ones)."""
        ...
