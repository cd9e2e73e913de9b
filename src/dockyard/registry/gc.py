"""Garbage collection: blob bytes nothing uses any more, and uploads nobody finished.

ECR never deletes an image by itself (untagged images stay until deleted or expired by a
lifecycle policy); what goes is what no image can reach:

```
every pass (online; nothing is locked):
  1. uploads: a document older than `upload_expiry` (24 h) -> bytes and document deleted;
     upload bytes without a document -> deleted once seen that way for `upload_expiry`
  2. blob links: a repository's link to a blob no image of the repository uses
     -> deleted once seen unused for `blob_grace` (a push between its blobs and its manifest
        is not disturbed) and the link itself is that old
  3. blobs: bytes neither linked by any repository nor the manifest of any image
     -> deleted once seen that way for `blob_grace`, re-checked just before the unlink
```
"Seen unused since" is remembered in memory, so after a restart every grace period starts
again (the safe direction). Times come from the injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from dockyard.core.clock import Clock
from dockyard.registry.catalog import Catalog
from dockyard.registry.model import IMAGE, LAYER, UPLOAD, Image
from dockyard.store import Conflict, Delete, Versioned

__all__ = ["GcReport", "GcSettings", "GarbageCollector"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GcSettings:
    interval: float = 3600.0  # seconds between passes
    blob_grace: float = 3600.0  # seconds a blob (or link) must stay unused before it goes
    upload_expiry: float = 86400.0  # seconds an upload may stay unfinished


@dataclass(frozen=True, slots=True)
class GcReport:
    blobs_deleted: int = 0
    bytes_freed: int = 0
    links_deleted: int = 0
    uploads_purged: int = 0


class GarbageCollector:
    def __init__(self, catalog: Catalog, clock: Clock, settings: GcSettings) -> None:
        self._catalog = catalog
        self._clock = clock
        self.settings = settings
        self._unused_since: dict[str, float] = {}  # "blob:<digest>" | "link:<key>" | "upload:<id>"
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="registry-gc")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                report = await self.collect()
                if report != GcReport():
                    log.info("registry garbage collection: %s", report)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("registry garbage collection failed; trying again next pass")
            await self._clock.sleep(self.settings.interval)

    def _due(self, key: str, now: float, grace: float, seen: set[str]) -> bool:
        """Note `key` unused now; True once it has been unused for `grace`."""
        seen.add(key)
        since = self._unused_since.setdefault(key, now)
        return now - since >= grace

    async def collect(self) -> GcReport:
        """One full pass (see the module docstring); what it removed."""
        now = self._clock.now()
        seen: set[str] = set()
        uploads = await self._uploads(now, seen)
        images = await self._catalog.store.list(IMAGE)
        links, live = await self._links(now, seen, images)
        blobs, freed = await self._blobs(now, seen, live)
        # Forget marks of things used again (or gone), so a later disuse waits the full grace.
        self._unused_since = {k: v for k, v in self._unused_since.items() if k in seen}
        return GcReport(blobs, freed, links, uploads)

    async def _uploads(self, now: float, seen: set[str]) -> int:
        store, storage = self._catalog.store, self._catalog.storage
        expiry = self.settings.upload_expiry
        purged = 0
        documents = {v.key.name: v for v in await store.list(UPLOAD)}
        for upload_id, found in documents.items():
            if now - float(found.value.get("startedAt", now)) < expiry:
                continue
            await storage.abort(upload_id)
            with contextlib.suppress(Conflict):
                await store.commit([Delete(found.key, expected_revision=found.revision)])
            purged += 1
        async for upload in storage.uploads():
            if upload.upload_id in documents:
                continue
            if self._due(f"upload:{upload.upload_id}", now, expiry, seen):
                await storage.abort(upload.upload_id)
                purged += 1
        return purged

    async def _links(self, now: float, seen: set[str], images: list[Versioned]) -> tuple[int, set[str]]:
        """Delete unused links; returns how many, and the digests of every blob still used."""
        store = self._catalog.store
        live = {str(v.value["imageDigest"]) for v in images}  # manifest bytes
        used: set[tuple[str, str, str]] = set()  # (account, region, "<repo>@<digest>")
        for found in images:
            image = Image.of(found)
            blobs = [d.digest for d in image.layers] + ([image.config.digest] if image.config else [])
            for digest in blobs:
                used.add((found.key.account_id, found.key.region, f"{image.repository}@{digest}"))
        deleted = 0
        grace = self.settings.blob_grace
        for link in await store.list(LAYER):
            key = link.key
            if (key.account_id, key.region, key.name) in used:
                live.add(key.name.rpartition("@")[2])
                continue
            if not self._due(f"link:{key}", now, grace, seen) or (
                now - float(link.value.get("createdAt", now)) < grace
            ):
                live.add(key.name.rpartition("@")[2])
                continue
            try:
                await store.commit([Delete(key, expected_revision=link.revision)])
            except Conflict:
                live.add(key.name.rpartition("@")[2])
                continue
            deleted += 1
            # The bytes have been unused as long as the link: their grace has run too.
            since = self._unused_since[f"link:{key}"]
            blob = f"blob:{key.name.rpartition('@')[2]}"
            self._unused_since[blob] = min(self._unused_since.get(blob, since), since)
        return deleted, live

    async def _blobs(self, now: float, seen: set[str], live: set[str]) -> tuple[int, int]:
        store, storage = self._catalog.store, self._catalog.storage
        deleted = freed = 0
        async for blob in storage.blobs():
            if blob.digest in live:
                continue
            if not self._due(f"blob:{blob.digest}", now, self.settings.blob_grace, seen):
                continue
            if await store.find_revisions(LAYER, "digest", blob.digest):
                continue
            if await store.find_revisions(IMAGE, "digest", blob.digest):
                continue
            if await storage.delete(blob.digest):
                deleted += 1
                freed += blob.size
        return deleted, freed
