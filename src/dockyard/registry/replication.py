"""Cross-Region replication: images pushed into a repository appear, with the same digest and
tags, in the same repository of other Regions of this server (created when missing, as ECR does).

```
PutReplicationConfiguration -> registry settings doc: replicationConfiguration + configuredAt
image pushed (store change) -> ReplicationController(key = the image's replication record)
   rules whose PREFIX_MATCH filters match the repository (no filter: every repository)
   -> destinations (Region, registry) other than the source
   -> record IN_PROGRESS -> per destination: create the repository if missing, link the blobs
      (one content-addressed store: nothing is copied), put the manifest with the source's tags
      (an index's children first) -> COMPLETE or FAILED (failureCode) -> record (CAS)
```
Only images pushed after the configuration was set are replicated, deletions are not, and tags
pushed later onto a replicated image follow it. The record (kind `ecr:replication`, the image's
name) is what DescribeImageReplicationStatus shows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from dockyard.controllers.reconciler import DONE, Requeue
from dockyard.core.clock import Clock
from dockyard.registry.catalog import Catalog
from dockyard.registry.model import (
    IMAGE,
    REGISTRY,
    CatalogError,
    Image,
    RepositoryAlreadyExists,
    Scope,
)
from dockyard.store import Change, Conflict, Delete, Key, Put, Store, Versioned

__all__ = [
    "REPLICATION",
    "ReplicationController",
    "configuration",
    "destinations",
    "registry_key",
    "replicate",
    "replication_key",
    "save_configuration",
]

log = logging.getLogger(__name__)

REPLICATION = "ecr:replication"
_CONFIG = "replicationConfiguration"


def registry_key(scope: Scope) -> Key:
    return Key(scope.account_id, scope.region, REGISTRY, "registry")


def replication_key(scope: Scope, repository: str, digest: str) -> Key:
    return Key(scope.account_id, scope.region, REPLICATION, f"{repository}@{digest}")


async def configuration(store: Store, scope: Scope) -> tuple[dict[str, Any] | None, float]:
    """The registry's replicationConfiguration (None when never set) and when it was set."""
    found = await store.get(registry_key(scope))
    if found is None or _CONFIG not in found.value:
        return None, 0.0
    internal = found.value.get("dockyard") or {}
    return found.value[_CONFIG], float(internal.get("replicationConfiguredAt", 0.0))


async def save_configuration(store: Store, scope: Scope, config: dict[str, Any], *, now: float) -> None:
    """Replace the registry's replicationConfiguration (other registry settings are kept)."""
    while True:
        found = await store.get(registry_key(scope))
        doc: dict[str, Any] = dict(found.value) if found else {}
        doc[_CONFIG] = config
        doc["dockyard"] = {**(doc.get("dockyard") or {}), "replicationConfiguredAt": now}
        try:
            await store.commit(
                [Put(registry_key(scope), doc, expected_revision=found.revision if found else 0)]
            )
        except Conflict:
            continue
        return


def destinations(config: dict[str, Any] | None, source: Scope, repository: str) -> list[Scope]:
    """The registries `repository`'s images replicate to under `config`, in rule order."""
    out: list[Scope] = []
    for rule in (config or {}).get("rules") or []:
        filters = rule.get("repositoryFilters") or []
        if filters and not any(repository.startswith(str(f["filter"])) for f in filters):
            continue
        for destination in rule.get("destinations") or []:
            scope = Scope(str(destination["registryId"]), str(destination["region"]))
            if scope != source and scope not in out:
                out.append(scope)
    return out


async def replicate(catalog: Catalog, source: Scope, image: Image, destination: Scope) -> None:
    """Make `image` (with its tags; an index with its children) exist in `destination`."""
    name = image.repository
    if await catalog.get_repository(destination, name) is None:
        try:
            await catalog.create_repository(destination, name)
        except RepositoryAlreadyExists:
            pass
    for child in image.manifests:
        found = await catalog.get_image(source, name, child.digest)
        if found is not None:
            await replicate(catalog, source, found, destination)
    blobs = ([image.config] if image.config else []) + image.layers
    for blob in blobs:
        if blob.urls:  # foreign layers are not stored
            continue
        info = await catalog.storage.stat(blob.digest)
        if info is None:
            raise CatalogError(f"blob {blob.digest} is missing from storage")
        if await catalog.blob_link(destination, name, blob.digest) is None:
            await catalog.link_blob(destination, name, info)
    body = await catalog.read_manifest(image)
    await catalog.put_manifest(
        destination, name, body, media_type=image.media_type, digest=image.digest, tags=image.tags
    )


def _label(scope: Scope) -> str:
    return f"{scope.region}/{scope.account_id}"


class ReplicationController:
    name = "ecr-replication"
    kind = REPLICATION

    def __init__(self, catalog: Catalog, clock: Clock) -> None:
        self._catalog = catalog
        self._clock = clock

    def triggers(self, change: Change) -> Iterable[Key]:
        k = change.key
        if k.kind == IMAGE:
            return [Key(k.account_id, k.region, REPLICATION, k.name)]
        if k.kind == REPLICATION and not change.deleted:
            return [k]
        return []

    async def reconcile(self, key: Key) -> Requeue:
        store = self._catalog.store
        source = Scope(key.account_id, key.region)
        repository, _, digest = key.name.rpartition("@")
        image = await self._catalog.get_image(source, repository, digest)
        found = await store.get(key)
        if image is None or (found is not None and float(found.value["imagePushedAt"]) != image.pushed_at):
            if found is not None:
                await _drop(store, found)
            return DONE
        config, configured_at = await configuration(store, source)
        targets = destinations(config, source, repository)
        if found is None and (not targets or image.pushed_at < configured_at):
            return DONE
        states: dict[str, dict[str, Any]] = dict(found.value["destinations"]) if found else {}
        record: dict[str, Any] = {"imagePushedAt": image.pushed_at, "destinations": states}
        pending = [
            t
            for t in targets
            if _label(t) not in states or not set(image.tags) <= set(states[_label(t)].get("tags", []))
        ]
        if not pending:
            return DONE
        for target in pending:
            states[_label(target)] = {"status": "IN_PROGRESS"}
        found = await _write(store, key, record, found)
        if found is None:
            return Requeue(after=0)
        for target in pending:
            try:
                await replicate(self._catalog, source, image, target)
            except CatalogError as exc:
                log.warning("replication of %s to %s failed: %s", key.name, _label(target), exc)
                states[_label(target)] = {
                    "status": "FAILED",
                    "failureCode": type(exc).__name__,
                }
                continue
            states[_label(target)] = {"status": "COMPLETE", "tags": list(image.tags)}
        if await _write(store, key, record, found) is None:
            return Requeue(after=0)
        return DONE


async def _write(store: Store, key: Key, record: dict[str, Any], found: Versioned | None) -> Versioned | None:
    try:
        revision = await store.commit([Put(key, record, expected_revision=found.revision if found else 0)])
    except Conflict:
        return None
    return Versioned(key, record, revision)


async def _drop(store: Store, found: Versioned) -> None:
    try:
        await store.commit([Delete(found.key, expected_revision=found.revision)])
    except Conflict:
        pass
