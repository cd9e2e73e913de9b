"""Fargate ephemeral storage on this host: a real loop-mounted ext4 filesystem per task.

The tests that mount need root and loop devices (they are skipped elsewhere); they use sizes of a
few MiB so they run in milliseconds, and unmount whatever they mounted.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.agent.storage import (
    DEFAULT_SIZE_GIB,
    GIB,
    MIB,
    StorageUsage,
    TaskStorage,
    ephemeral_size_gib,
    mounted_at,
    unmount_all,
)

CAN_MOUNT = os.geteuid() == 0 and Path("/dev/loop-control").exists() and shutil.which("mkfs.ext4") is not None
needs_loop = pytest.mark.skipif(not CAN_MOUNT, reason="needs root, loop devices and mkfs.ext4")


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    task_root = tmp_path / "tasks" / "0123abcd"
    yield task_root
    mount_point = task_root / "volumes"
    if mounted_at(mount_point):
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def write(path: Path, size: int) -> None:
    """Write `size` bytes and flush them to the filesystem (ENOSPC surfaces here)."""
    chunk = b"\0" * MIB
    with open(path, "wb") as out:
        written = 0
        while written < size:
            out.write(chunk[: min(MIB, size - written)])
            written += min(MIB, size - written)
        out.flush()
        os.fsync(out.fileno())


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({}, DEFAULT_SIZE_GIB),
        ({"taskDefinition": {"ephemeralStorage": {"sizeInGiB": 21}}}, 21),
        (
            {
                "taskDefinition": {"ephemeralStorage": {"sizeInGiB": 21}},
                "overrides": {"ephemeralStorage": {"sizeInGiB": 200}},
            },
            200,
        ),
        ({"overrides": {}, "taskDefinition": {}}, 20),
    ],
)
def test_size_comes_from_the_override_then_the_task_definition(item: dict[str, object], size: int) -> None:
    assert ephemeral_size_gib(item) == size


def test_usage_in_mib_rounds_up() -> None:
    assert StorageUsage(1, 8 * MIB).used_mib == 1
    assert StorageUsage(3 * MIB, 8 * MIB).total_mib == 8


async def test_plain_directory_when_turned_off(root: Path) -> None:
    storage = TaskStorage(root, 8 * MIB, enforce=False)
    assert await storage.provision() is False
    assert storage.mount_point.is_dir() and not storage.mounted() and not storage.image.exists()
    write(storage.mount_point / "big", 12 * MIB)  # nothing stops it: the limit is not enforced
    assert storage.usage().used_bytes >= 12 * MIB and storage.usage().total_bytes == 8 * MIB
    await storage.release()


@needs_loop
async def test_writing_past_the_size_fails_with_enospc(root: Path) -> None:
    storage = TaskStorage(root, 8 * MIB)
    assert await storage.provision() is True
    assert storage.mounted() and storage.enforced
    assert os.stat(storage.image).st_blocks * 512 < storage.image_size  # sparse
    volume = storage.mount_point / "scratch"
    volume.mkdir()
    write(volume / "fits", 4 * MIB)
    with pytest.raises(OSError) as raised:
        write(volume / "too-much", 8 * MIB)
    assert raised.value.errno == errno.ENOSPC
    usage = storage.usage()
    assert usage.used_bytes > 4 * MIB and usage.total_bytes <= 8 * MIB + 512 * 1024
    await storage.release()
    assert not storage.mounted() and not storage.image.exists()


@needs_loop
async def test_capacity_is_the_size_asked_for(root: Path) -> None:
    storage = TaskStorage(root, 21 * GIB)
    started = time.monotonic()
    assert await storage.provision() is True
    elapsed = time.monotonic() - started
    try:
        stats = os.statvfs(storage.mount_point)
        total = stats.f_blocks * stats.f_frsize
        assert 21 * GIB <= total <= 21.3 * GIB  # what `df` shows in the container
        assert stats.f_bavail * stats.f_frsize >= 20.9 * GIB
        assert os.stat(storage.image).st_blocks * 512 < 64 * MIB  # formatting wrote almost nothing
        assert elapsed < 2.0, f"provisioning 21 GiB took {elapsed:.2f}s"
    finally:
        await storage.release()


@needs_loop
async def test_provision_again_reuses_the_filesystem(root: Path) -> None:
    first = TaskStorage(root, 8 * MIB)
    await first.provision()
    write(first.mount_point / "kept", MIB)
    again = TaskStorage(root, 8 * MIB)  # a restarted agent: still mounted, nothing formatted
    assert await again.provision() is True
    assert (again.mount_point / "kept").stat().st_size == MIB
    subprocess.run(["umount", str(root / "volumes")], check=True)  # a host reboot: the mount is gone
    assert not again.mounted()
    assert await TaskStorage(root, 8 * MIB).provision() is True
    assert (again.mount_point / "kept").stat().st_size == MIB
    await again.release()
    assert not again.mounted() and not again.image.exists()


@needs_loop
async def test_release_detaches_a_busy_filesystem(root: Path) -> None:
    storage = TaskStorage(root, 8 * MIB)
    await storage.provision()
    holder = open(storage.mount_point / "open", "w")  # kept open: the filesystem is busy
    try:
        await storage.release()
        assert not storage.mounted() and not storage.image.exists()
    finally:
        holder.close()


@needs_loop
async def test_failed_mount_falls_back_to_a_directory(root: Path) -> None:
    storage = TaskStorage(root, 8 * MIB)
    root.mkdir(parents=True)
    storage.image.write_bytes(b"not a filesystem")  # an image that cannot be mounted
    assert await storage.provision() is False
    assert storage.mount_point.is_dir() and not storage.mounted()


@needs_loop
async def test_unmount_all_detaches_every_storage_under_a_directory(tmp_path: Path) -> None:
    storages = [TaskStorage(tmp_path / "agents" / name / "tasks" / "t1", 8 * MIB) for name in ("a", "b")]
    for storage in storages:
        assert await storage.provision() is True
    outside = TaskStorage(tmp_path.parent / f"{tmp_path.name}-other" / "t2", 8 * MIB)
    await outside.provision()
    try:
        detached = unmount_all(tmp_path / "agents")
        assert sorted(detached) == sorted(os.path.realpath(s.mount_point) for s in storages)
        assert not any(s.mounted() for s in storages) and outside.mounted()
    finally:
        await outside.release()
        shutil.rmtree(outside.root, ignore_errors=True)
