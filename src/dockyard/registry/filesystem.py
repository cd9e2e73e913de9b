"""The filesystem `BlobStorage`: content-addressed blobs and uploads under one directory.

```
<root>/blobs/<algorithm>/<first 2 hex>/<hex>   immutable: layers, configs and manifest bytes
<root>/uploads/<upload id>/data                a blob being uploaded, written at offsets
```
Writes go to a worker thread in ~1 MiB buffers (hash, then pwrite) while the next buffer
arrives, so memory stays flat and several uploads hash on several cores (hashlib and os.pwrite
release the GIL). The live sha256 state of each upload is kept in memory and rebuilt from the
partial file when missing (after a restart) or out of step (after a failed write).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from dockyard.registry.digests import ALGORITHMS, Hasher, digest_of, new_hasher, parse_digest
from dockyard.registry.storage import BlobInfo, DigestMismatch, OffsetMismatch, UploadInfo, UploadUnknown

__all__ = ["FilesystemStorage"]

T = TypeVar("T")

_BUFFER = 1024 * 1024  # bytes handed to a worker thread at once
_INLINE = 64 * 1024  # smaller writes are hashed and written on the event loop
_READ = 4 * 1024 * 1024
_UPLOAD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@dataclass(slots=True)
class _Live:
    """An upload's running hash, valid for exactly `size` bytes of its file."""

    hasher: Hasher
    size: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class FilesystemStorage:
    """`BlobStorage` on a local directory (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs = root / "blobs"
        self._uploads = root / "uploads"
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._uploads.mkdir(parents=True, exist_ok=True)
        self._live: dict[str, _Live] = {}

    # -- paths ------------------------------------------------------------------------------------

    def _blob_path(self, digest: str) -> Path:
        parsed = parse_digest(digest)
        return self._blobs / parsed.algorithm / parsed.hex[:2] / parsed.hex

    def _upload_dir(self, upload_id: str) -> Path:
        if _UPLOAD_ID.fullmatch(upload_id) is None:
            raise UploadUnknown(upload_id)
        return self._uploads / upload_id

    def _data(self, upload_id: str) -> Path:
        return self._upload_dir(upload_id) / "data"

    # -- uploads ----------------------------------------------------------------------------------

    async def begin(self, upload_id: str) -> None:
        path = self._data(upload_id)
        await _thread(_create_empty, path)
        self._live[upload_id] = _Live(new_hasher(), 0)

    async def upload_size(self, upload_id: str) -> int:
        """The size once a write in progress (a PATCH whose client just went away) has ended:
        what a client resuming the upload must continue from."""
        live = self._live.get(upload_id)
        if live is None:
            return self._size(upload_id)
        async with live.lock:
            return self._size(upload_id)

    def _size(self, upload_id: str) -> int:
        try:
            return self._data(upload_id).stat().st_size
        except FileNotFoundError:
            raise UploadUnknown(upload_id) from None

    async def _live_state(self, upload_id: str) -> _Live:
        """The upload's hash state, rebuilt from its file when missing or out of step."""
        live = self._live.get(upload_id)
        if live is None:
            live = self._live.setdefault(upload_id, _Live(new_hasher(), -1))
        return live

    async def _sync(self, upload_id: str, live: _Live) -> int:
        """Make `live` cover the whole file (called with its lock held); returns the size."""
        path = self._data(upload_id)
        size = self._size(upload_id)
        if live.size != size:
            live.hasher, live.size = await _thread(_hash_file, path, "sha256")
        return live.size

    async def write(self, upload_id: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        live = await self._live_state(upload_id)
        async with live.lock:
            size = await self._sync(upload_id, live)
            if offset != size:
                raise OffsetMismatch(size)
            fd = await _thread(os.open, str(self._data(upload_id)), os.O_WRONLY)
            try:
                await _stream_into(fd, live, chunks)
            finally:
                await _thread(os.close, fd)
            return live.size

    async def abort(self, upload_id: str) -> None:
        self._live.pop(upload_id, None)
        with contextlib.suppress(UploadUnknown):
            await _thread(shutil.rmtree, self._upload_dir(upload_id), True)

    async def _digest(self, upload_id: str, live: _Live, algorithm: str) -> str:
        """The upload's digest (called with the live state's lock held)."""
        await self._sync(upload_id, live)
        if algorithm == "sha256":
            return f"sha256:{live.hasher.hexdigest()}"
        hasher, _ = await _thread(_hash_file, self._data(upload_id), algorithm)
        return f"{algorithm}:{hasher.hexdigest()}"

    async def digest(self, upload_id: str, algorithm: str = "sha256") -> str:
        live = await self._live_state(upload_id)
        async with live.lock:
            return await self._digest(upload_id, live, algorithm)

    async def commit(self, upload_id: str, digest: str) -> BlobInfo:
        parsed = parse_digest(digest)
        live = await self._live_state(upload_id)
        async with live.lock:
            actual = await self._digest(upload_id, live, parsed.algorithm)
            data = self._data(upload_id)
            if actual != digest:
                await self.abort(upload_id)
                raise DigestMismatch(digest, actual)
            target = self._blob_path(digest)
            await _thread(_move_into_place, data, target)
            await self.abort(upload_id)
        return await self._require(digest)

    async def _require(self, digest: str) -> BlobInfo:
        info = await self.stat(digest)
        if info is None:
            raise FileNotFoundError(digest)
        return info

    # -- blobs ------------------------------------------------------------------------------------

    async def put(self, data: bytes, algorithm: str = "sha256") -> BlobInfo:
        digest = digest_of(data, algorithm)
        staging = self._uploads / f"put-{os.urandom(16).hex()}"
        await _thread(_write_and_move, staging, data, self._blob_path(digest))
        return await self._require(digest)

    async def stat(self, digest: str) -> BlobInfo | None:
        try:
            st = self._blob_path(digest).stat()
        except FileNotFoundError:
            return None
        return BlobInfo(digest, st.st_size, st.st_mtime)

    async def read(self, digest: str) -> bytes:
        return await _thread(self._blob_path(digest).read_bytes)

    def local_path(self, digest: str) -> Path | None:
        return self._blob_path(digest)

    async def read_range(self, digest: str, start: int, length: int) -> AsyncIterator[bytes]:
        path = self._blob_path(digest)
        offset = start
        while length > 0:
            chunk = await _thread(_read_at, path, offset, min(_READ, length))
            if not chunk:
                return
            offset += len(chunk)
            length -= len(chunk)
            yield chunk

    async def delete(self, digest: str) -> bool:
        try:
            await _thread(os.unlink, self._blob_path(digest))
        except FileNotFoundError:
            return False
        return True

    async def blobs(self) -> AsyncIterator[BlobInfo]:
        for algorithm in ALGORITHMS:
            base = self._blobs / algorithm
            buckets = await _thread(_names, base)
            for bucket in buckets:
                for name, size, mtime in await _thread(_files, base / bucket):
                    yield BlobInfo(f"{algorithm}:{name}", size, mtime)

    async def uploads(self) -> AsyncIterator[UploadInfo]:
        for upload_id in await _thread(_names, self._uploads):
            found = await _thread(_upload_stat, self._uploads / upload_id)
            if found is not None:
                yield UploadInfo(upload_id, *found)


# -- the blocking parts, run in worker threads ------------------------------------------------------


async def _thread(fn: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def _create_empty(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.close(fd)


def _hash_file(path: Path, algorithm: str) -> tuple[Hasher, int]:
    hasher = new_hasher(algorithm)
    size = 0
    with open(path, "rb") as fobj:
        while chunk := fobj.read(_READ):
            hasher.update(chunk)
            size += len(chunk)
    return hasher, size


def _read_at(path: Path, offset: int, length: int) -> bytes:
    with open(path, "rb") as fobj:
        fobj.seek(offset)
        return fobj.read(length)


def _write_at(fd: int, live: _Live, data: bytes | bytearray) -> None:
    """Write `data` at the live size and hash it: the file and the hash stay in step."""
    view = memoryview(data)
    offset = live.size
    while view:
        written = os.pwrite(fd, view, offset)
        offset += written
        view = view[written:]
    live.hasher.update(data)
    live.size = offset


async def _stream_into(fd: int, live: _Live, chunks: AsyncIterable[bytes]) -> None:
    """Hash and write `chunks`, handing ~1 MiB buffers to a thread while the next one arrives.
    When the stream fails (a client gone half-way), what arrived is still written."""
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[None] | None = None
    buffer = bytearray()
    failure: BaseException | None = None
    iterator = aiter(chunks)
    while True:
        try:
            chunk = await anext(iterator)
        except StopAsyncIteration:
            break
        except BaseException as exc:  # the body stopped: keep what arrived, then fail
            failure = exc
            break
        buffer += chunk
        if len(buffer) < _BUFFER:
            continue
        if pending is not None:
            await pending
        pending = loop.run_in_executor(None, _write_at, fd, live, bytes(buffer))
        buffer.clear()
    if pending is not None:
        await pending
    if len(buffer) < _INLINE:
        _write_at(fd, live, buffer)
    else:
        await loop.run_in_executor(None, _write_at, fd, live, bytes(buffer))
    if failure is not None:
        raise failure


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _move_into_place(source: Path, target: Path) -> None:
    """fsync `source` and rename it to `target`. A blob already there is kept (and its time
    refreshed, so garbage collection's grace period covers the new reference)."""
    if target.exists():
        with contextlib.suppress(FileNotFoundError):
            os.utime(target)
            return
    fd = os.open(source, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(source, target)
    _fsync_dir(target.parent)


def _write_and_move(staging: Path, data: bytes, target: Path) -> None:
    if target.exists():
        with contextlib.suppress(FileNotFoundError):
            os.utime(target)
            return
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / "data"
    try:
        with open(path, "wb") as fobj:
            fobj.write(data)
        _move_into_place(path, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _upload_stat(path: Path) -> tuple[int, float] | None:
    """(size, mtime) of an upload directory's data (or of the directory, before any data)."""
    for candidate in (path / "data", path):
        try:
            st = candidate.stat()
        except FileNotFoundError:
            continue
        return (st.st_size if candidate.name == "data" else 0), st.st_mtime
    return None


def _names(path: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in os.scandir(path))
    except FileNotFoundError:
        return []


def _files(path: Path) -> list[tuple[str, int, float]]:
    found = []
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return []
    for entry in entries:
        try:
            st = entry.stat()
        except FileNotFoundError:
            continue
        found.append((entry.name, st.st_size, st.st_mtime))
    return sorted(found)
