"""Fargate task ephemeral storage: one ext4 filesystem per task, on a sparse file, loop-mounted.

A Fargate task's volumes without a `sourcePath` share the task's ephemeral storage of
`ephemeralStorage.sizeInGiB` (20 GiB by default, 21-200 when set; RunTask overrides win). This
module makes that limit real on the agent's host::

    <data dir>/tasks/<task id>/
        ephemeral.img   sparse file: only the blocks the task writes take host disk
        volumes/        mount point of the ext4 filesystem on it; one directory per task volume

`mkfs.ext4` with lazy inode-table and journal initialisation formats any size in a few tens of
milliseconds, and the mount (`mount -o loop`, whose loop device is freed again by `umount`) takes
about as long; the agent logs the time per task. The image is 2.5 % larger than the size asked for,
which ext4 keeps for its own metadata, so `df` inside a container shows the task's size (Fargate
too shows a little more than the size in `df`). A write past it fails with ENOSPC.

An agent restart keeps the mount; `provision()` after a restart mounts an existing image again
when the mount is gone (a host reboot) and never formats it twice. `release()` unmounts (lazily
when something still holds the filesystem) and deletes the image.

Not limited: a container's writable layer. On this host it lives in Docker's overlay2 on an ext4
backing filesystem, which has no per-container quota (`--storage-opt size` needs xfs with
project quotas), so what a container writes outside its volumes counts against the host's disk,
not the task's ephemeral storage. Where the agent cannot loop-mount (not root, no loop devices,
no mkfs.ext4, or the kernel refuses), task directories are plain directories and the size limit
is not enforced; the agent logs that once per task.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_SIZE_GIB",
    "GIB",
    "MIB",
    "StorageError",
    "StorageUsage",
    "TaskStorage",
    "ephemeral_size_gib",
    "mounted_at",
    "unmount_all",
]

log = logging.getLogger(__name__)

MIB = 1 << 20
GIB = 1 << 30
#: Fargate's ephemeral storage when the task definition and the overrides set none (platform 1.4.0).
DEFAULT_SIZE_GIB = 20
#: Extra image size for ext4's inode tables and journal, so the usable capacity is the size asked for.
_OVERHEAD_DIVISOR = 40
_MKFS = ("mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard")
_MOUNT_OPTIONS = "loop,noatime"
_MOUNTINFO = Path("/proc/self/mountinfo")


class StorageError(Exception):
    """A command the storage needs failed; the message carries its output."""


@dataclass(frozen=True, slots=True)
class StorageUsage:
    used_bytes: int
    total_bytes: int

    @property
    def used_mib(self) -> int:
        return -(-self.used_bytes // MIB)  # rounded up: 1 byte used shows as 1 MiB

    @property
    def total_mib(self) -> int:
        return self.total_bytes // MIB


def ephemeral_size_gib(item: Mapping[str, Any]) -> int:
    """The task's ephemeral storage in GiB: RunTask override, else task definition, else 20."""
    for source in ((item.get("overrides") or {}), (item.get("taskDefinition") or {})):
        size = (source.get("ephemeralStorage") or {}).get("sizeInGiB")
        if size:
            return int(size)
    return DEFAULT_SIZE_GIB


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (``\\040``)."""
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def _mount_points(mountinfo: Path = _MOUNTINFO) -> list[str]:
    try:
        lines = mountinfo.read_text().splitlines()
    except OSError:
        return []
    return [_unescape(fields[4]) for line in lines if len(fields := line.split()) > 4]


def mounted_at(path: Path, *, mountinfo: Path = _MOUNTINFO) -> bool:
    """Whether a filesystem is mounted exactly at `path`."""
    return os.path.realpath(path) in _mount_points(mountinfo)


def unmount_all(under: Path) -> list[str]:
    """Detach (lazily) every filesystem mounted below `under`, deepest first; returns them.

    For tearing down a whole agent data directory (test platforms): a stopped agent leaves its
    tasks' storage mounted on purpose, for the containers that keep running and for its restart."""
    prefix = os.path.realpath(under).rstrip("/") + "/"
    found = sorted((p for p in _mount_points() if p.startswith(prefix)), key=len, reverse=True)
    for mount_point in found:
        subprocess.run(["umount", "-l", mount_point], capture_output=True, check=False)
    return found


async def _run(*command: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        text = output.decode(errors="replace").strip()
        raise StorageError(f"{' '.join(command)} failed ({process.returncode}): {text}")


def _cannot_loop_mount() -> str | None:
    """Why this host cannot loop-mount, or None when it looks able to."""
    if os.geteuid() != 0:
        return "the agent does not run as root"
    if not Path("/dev/loop-control").exists():
        return "the host has no loop devices (/dev/loop-control is missing)"
    for tool in ("mkfs.ext4", "mount", "umount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


class TaskStorage:
    """The ephemeral storage of one task, rooted at `root` (`<data dir>/tasks/<task id>`)."""

    def __init__(self, root: Path, size_bytes: int, *, enforce: bool = True) -> None:
        if size_bytes <= 0:
            raise ValueError("the storage size must be positive")
        self.root = root
        self.size_bytes = size_bytes
        self.enforce = enforce
        self.enforced = False  # after provision(): True when the size limit is real
        self.provision_ms: float | None = None  # how long provision() took, for the log and benchmarks

    @property
    def mount_point(self) -> Path:
        return self.root / "volumes"

    @property
    def image(self) -> Path:
        return self.root / "ephemeral.img"

    @property
    def image_size(self) -> int:
        return self.size_bytes + self.size_bytes // _OVERHEAD_DIVISOR

    def mounted(self) -> bool:
        return mounted_at(self.mount_point)

    async def provision(self) -> bool:
        """Make the mount point ready (idempotent); True when the size limit is enforced."""
        started = time.monotonic()
        self.mount_point.mkdir(parents=True, exist_ok=True)
        reason = None if self.enforce else "loop-mounted storage is turned off for this agent"
        reason = reason or _cannot_loop_mount()
        if reason is None and not self.mounted():
            try:
                await self._format_and_mount()
            except (StorageError, OSError) as exc:
                reason = str(exc)
        self.enforced = reason is None
        self.provision_ms = (time.monotonic() - started) * 1000
        if reason is not None:
            log.warning(
                "ephemeral storage of %s is a plain directory; its size limit (%d GiB) is not enforced: %s",
                self.root.name,
                self.size_bytes // GIB,
                reason,
            )
        else:
            log.info(
                "ephemeral storage of %s: %d MiB ext4 on a loop device, ready in %.0f ms",
                self.root.name,
                self.size_bytes // MIB,
                self.provision_ms,
            )
        return self.enforced

    async def _format_and_mount(self) -> None:
        if not self.image.exists():
            # Formatted under another name first: an image under the final name is always complete.
            fresh = self.image.with_name(self.image.name + ".new")
            try:
                with open(fresh, "wb") as image:
                    image.truncate(self.image_size)
                await _run(*_MKFS, str(fresh))
                fresh.rename(self.image)
            except (StorageError, OSError):
                fresh.unlink(missing_ok=True)
                raise
        await _run("mount", "-o", _MOUNT_OPTIONS, str(self.image), str(self.mount_point))

    async def release(self) -> None:
        """Unmount (lazily if busy) and delete the image; the caller removes `root` itself."""
        if self.mounted():
            try:
                await _run("umount", str(self.mount_point))
            except StorageError as exc:
                log.warning("unmounting %s failed (%s); detaching it lazily", self.mount_point, exc)
                try:
                    await _run("umount", "-l", str(self.mount_point))
                except StorageError as lazy:
                    log.warning("cannot unmount %s: %s", self.mount_point, lazy)
                    return  # keep the image: deleting files under a live mount would empty it
        self.image.unlink(missing_ok=True)

    def usage(self) -> StorageUsage:
        """Bytes used and capacity: the filesystem's own numbers, or a walk of the plain directory."""
        if self.mounted():
            stats = os.statvfs(self.mount_point)
            total = stats.f_blocks * stats.f_frsize
            return StorageUsage((stats.f_blocks - stats.f_bfree) * stats.f_frsize, total)
        used = 0
        for directory, _dirs, files in os.walk(self.mount_point):
            for name in files:
                try:
                    used += os.lstat(os.path.join(directory, name)).st_blocks * 512
                except OSError:
                    continue
        return StorageUsage(used, self.size_bytes)
