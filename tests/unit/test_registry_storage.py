"""The filesystem blob storage: streamed uploads, digests, dedupe, resume after a restart."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dockyard.registry.filesystem import FilesystemStorage
from dockyard.registry.storage import DigestMismatch, OffsetMismatch, UploadUnknown


def sha(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "blobs").rglob("*") if p.is_file())


async def test_upload_in_chunks_commits_into_the_content_store(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    data = os.urandom(3 * 1024 * 1024 + 17)
    await storage.begin("u1")
    size = await storage.write("u1", 0, chunks(data[:1000], data[1000:2_500_000]))
    assert size == 2_500_000
    size = await storage.write("u1", size, chunks(data[2_500_000:]))
    assert size == len(data)
    blob = await storage.commit("u1", sha(data))
    assert (blob.digest, blob.size) == (sha(data), len(data))
    hexed = sha(data).split(":")[1]
    path = tmp_path / "blobs" / "sha256" / hexed[:2] / hexed
    assert path.read_bytes() == data
    assert storage.local_path(sha(data)) == path
    assert not (tmp_path / "uploads" / "u1").exists()
    with pytest.raises(UploadUnknown):
        await storage.upload_size("u1")


async def test_write_at_the_wrong_offset_is_refused(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    await storage.begin("u1")
    await storage.write("u1", 0, chunks(b"abc"))
    with pytest.raises(OffsetMismatch) as raised:
        await storage.write("u1", 1, chunks(b"zzz"))
    assert raised.value.size == 3
    assert await storage.upload_size("u1") == 3


async def test_wrong_digest_stores_nothing_and_drops_the_upload(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    await storage.begin("u1")
    await storage.write("u1", 0, chunks(b"payload"))
    with pytest.raises(DigestMismatch) as raised:
        await storage.commit("u1", sha(b"other"))
    assert raised.value.actual == sha(b"payload")
    assert stored_files(tmp_path) == []
    assert await storage.stat(sha(b"payload")) is None
    with pytest.raises(UploadUnknown):
        await storage.upload_size("u1")


async def test_a_restarted_storage_resumes_an_upload_by_rehashing_it(tmp_path: Path) -> None:
    first = FilesystemStorage(tmp_path)
    await first.begin("u1")
    await first.write("u1", 0, chunks(b"hello "))
    second = FilesystemStorage(tmp_path)  # a new process: no live hash state
    assert await second.upload_size("u1") == 6
    await second.write("u1", 6, chunks(b"world"))
    blob = await second.commit("u1", sha(b"hello world"))
    assert await second.read(blob.digest) == b"hello world"


async def test_sha512_uploads_are_verified_from_the_file(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    await storage.begin("u1")
    await storage.write("u1", 0, chunks(b"sha512 content"))
    blob = await storage.commit("u1", sha(b"sha512 content", "sha512"))
    assert blob.digest.startswith("sha512:")
    assert await storage.read(blob.digest) == b"sha512 content"


async def test_the_same_content_is_stored_once(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    for upload in ("a", "b", "c"):
        await storage.begin(upload)
        await storage.write(upload, 0, chunks(b"shared layer"))
        await storage.commit(upload, sha(b"shared layer"))
    await storage.put(b"shared layer")
    assert len(stored_files(tmp_path)) == 1
    assert [b.digest async for b in storage.blobs()] == [sha(b"shared layer")]


async def test_ranges_read_and_delete(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    blob = await storage.put(b"0123456789")
    assert b"".join([c async for c in storage.read_range(blob.digest, 3, 4)]) == b"3456"
    assert await storage.delete(blob.digest) is True
    assert await storage.delete(blob.digest) is False
    assert await storage.stat(blob.digest) is None


async def test_uploads_are_listed_and_aborted(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)
    await storage.begin("u1")
    await storage.write("u1", 0, chunks(b"12345"))
    assert [(u.upload_id, u.size) async for u in storage.uploads()] == [("u1", 5)]
    await storage.abort("u1")
    await storage.abort("u1")  # already gone: no error
    assert [u async for u in storage.uploads()] == []


async def test_upload_ids_cannot_escape_the_upload_directory(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path / "root")
    with pytest.raises(UploadUnknown):
        await storage.begin("../../etc")
    with pytest.raises(UploadUnknown):
        await storage.upload_size("../x")
    assert not (tmp_path / "etc").exists()
