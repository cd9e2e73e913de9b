"""The scan controller: runs requested scans, starts scans on push, keeps images showing them.

```
key: a scan document's key (`<repo>@<digest>`), woken by the image's changes and its own
  no scan document -> scan on push? (image pushed into a scanOnPush repository, after it was
                      turned on, not yet scanned, an image and not an index) -> request one
  its image gone (or pushed again) -> delete the scan document
  IN_PROGRESS -> read the layers (worker thread) -> inventory -> match the feed -> finished (CAS)
  the image does not show the scan's status -> project it onto the image document
```
Scans run one at a time (one worker), each in a thread, reading layers as streams.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from contextlib import ExitStack
from typing import Any

from dockyard.controllers.reconciler import DONE, Requeue
from dockyard.core.clock import Clock
from dockyard.registry.catalog import Catalog
from dockyard.registry.manifests import DOCKER_CONFIG
from dockyard.registry.model import IMAGE, CatalogError, Image, Repository, Scope
from dockyard.registry.scanning import registry_rules
from dockyard.registry.scanning.blobs import layer_streams
from dockyard.registry.scanning.feed import FeedFile
from dockyard.registry.scanning.records import SCAN, belongs_to, finished, project, requested
from dockyard.registry.scanning.scanner import ScanOutcome, scan_layers
from dockyard.store import Change, Conflict, Delete, Key, Put

__all__ = ["SCAN_ON_PUSH_SINCE", "ScanController", "scan_on_push_applies"]

log = logging.getLogger(__name__)

SCAN_ON_PUSH_SINCE = "scanOnPushSince"  # member of a repository's `dockyard` document
_IMAGE_CONFIGS = (DOCKER_CONFIG, "application/vnd.oci.image.config.v1+json")


def scan_on_push_applies(
    repository: Repository,
    image: Image,
    registry: tuple[dict[str, Any], float] = (registry_rules.DEFAULT, 0.0),
) -> bool:
    """Whether pushing `image` into `repository` starts a scan: the repository scans on push
    (since it was turned on), or a registry SCAN_ON_PUSH rule matches it (since it was set)."""
    if "imageScanStatus" in image.doc or image.is_index:
        return False
    if image.config is None or image.config.media_type not in _IMAGE_CONFIGS:
        return False
    if repository.scan_on_push:
        since = (repository.doc.get("dockyard") or {}).get(SCAN_ON_PUSH_SINCE, repository.created_at)
        if image.pushed_at >= float(since):
            return True
    config, configured_at = registry
    return image.pushed_at >= configured_at and bool(
        registry_rules.applied_filters(config, repository.name, "SCAN_ON_PUSH")
    )


class ScanController:
    name = "ecr-scans"
    kind = SCAN

    def __init__(self, catalog: Catalog, clock: Clock, feed: FeedFile) -> None:
        self._catalog = catalog
        self._clock = clock
        self._feed = feed

    def triggers(self, change: Change) -> Iterable[Key]:
        k = change.key
        if k.kind == SCAN and not change.deleted:
            return [k]
        if k.kind == IMAGE:
            return [Key(k.account_id, k.region, SCAN, k.name)]
        return []

    async def reconcile(self, key: Key) -> Requeue:
        store = self._catalog.store
        scope = Scope(key.account_id, key.region)
        repository_name, _, digest = key.name.rpartition("@")
        image = await self._catalog.get_image(scope, repository_name, digest)
        found = await store.get(key)
        if found is None:
            if image is None:
                return DONE
            repository = await self._catalog.get_repository(scope, repository_name)
            registry = await registry_rules.load(store, scope)
            if repository is None or not scan_on_push_applies(repository, image, registry):
                return DONE
            try:
                await store.commit([Put(key, requested(image, now=self._clock.now()), expected_revision=0)])
            except Conflict:
                pass
            return Requeue(after=0)
        if not belongs_to(found, image) or image is None:
            try:
                await store.commit([Delete(key, expected_revision=found.revision)])
            except Conflict:
                return Requeue(after=0)
            return DONE
        scan = found.value
        if scan["status"] == "IN_PROGRESS":
            outcome = await self._scan(scope, image)
            feed = self._feed.current()
            done = finished(scan, outcome, now=self._clock.now(), source_updated_at=feed.updated_at)
            try:
                await store.commit([Put(key, done, expected_revision=found.revision)])
            except Conflict:
                return Requeue(after=0)
            log.info("scan %s: %s, %d finding(s)", key.name, outcome.status, len(outcome.findings))
            scan = done
        await self._show(scope, image, scan)
        return DONE

    async def _scan(self, scope: Scope, image: Image) -> ScanOutcome:
        try:
            layers = await self._catalog.image_layers(scope, image.repository, image.digest)
        except CatalogError as exc:
            return ScanOutcome("FAILED", str(exc))
        layers = [layer for layer in layers if not layer.urls]  # foreign layers are not stored
        feed = self._feed.current()
        loop = asyncio.get_running_loop()

        def run() -> ScanOutcome:
            with ExitStack() as stack:
                return scan_layers(layer_streams(self._catalog, layers, loop, stack), feed)

        try:
            return await asyncio.to_thread(run)
        except (OSError, ValueError, RuntimeError) as exc:  # a blob missing or unreadable
            log.warning("scan of %s@%s failed: %s", image.repository, image.digest, exc)
            return ScanOutcome("FAILED", f"A layer of the image could not be read: {exc}")

    async def _show(self, scope: Scope, image: Image, scan: dict[str, object]) -> None:
        shown = dict(image.doc)
        project(shown, dict(scan))
        if shown.get("imageScanStatus") == image.doc.get("imageScanStatus") and shown.get(
            "imageScanFindingsSummary"
        ) == image.doc.get("imageScanFindingsSummary"):
            return
        try:
            await self._catalog.update_image(
                scope, image.repository, image.digest, lambda doc: project(doc, dict(scan))
            )
        except CatalogError:
            pass  # deleted meanwhile: the scan document goes on the next pass
