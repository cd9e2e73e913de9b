"""The registry's catalog: repositories, images, tags and which blobs each repository may use.

This is the one place the registry's rules live. The v2 endpoints (`dockyard.registry.http_*`),
the ECR API (`dockyard.services.ecr`) and background work (lifecycle policies, scanning,
replication, pull-through cache, garbage collection) all read and change images through a
`Catalog`, so a tag cannot be moved one way over HTTP and another way over the API.

```
put_manifest(bytes, tags) ─> size ≤ 4 MiB, digest verified, manifest parsed
   ─> repository exists? ─> its blobs linked in the repository? index children present?
   ─> bytes into the CAS ─> ONE commit: image + tag documents (immutability checked on each tag,
      moved tags taken off their old images) + children's parent lists       (retried on conflict)
delete_image(digest) ─> refused while an index lists it ─> ONE commit: image, its tags, parents
```
Each change is one store commit (compare-and-swap, retried on conflict); bad input stores
nothing. Records and errors are described in `dockyard.registry.model`.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.core.arns import arn
from dockyard.core.clock import Clock
from dockyard.registry import _push
from dockyard.registry.digests import is_digest
from dockyard.registry.manifest_cache import ManifestCache
from dockyard.registry.manifests import Descriptor
from dockyard.registry.model import (
    IMAGE,
    LAYER,
    REPOSITORY,
    TAG,
    UPLOAD,
    Image,
    ImageNotFound,
    ImageReferencedByIndex,
    Repository,
    RepositoryAlreadyExists,
    RepositoryNotEmpty,
    RepositoryNotFound,
    Scope,
    image_key,
    layer_key,
    repository_key,
    tag_key,
)
from dockyard.registry.storage import BlobInfo, BlobStorage
from dockyard.store import Conflict, Delete, Put, Store, Versioned, Write

__all__ = ["Catalog", "CatalogSettings", "PushResult"]

PushResult = _push.PushResult
_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class CatalogSettings:
    host: str  # the registry host in repository URIs, e.g. "127.0.0.1:4566"
    max_images: int = 10_000  # images per repository (ECR's default quota)
    manifest_cache_bytes: int = 32 * 1024 * 1024  # manifests kept in memory (content never changes)


class Catalog:
    """Repositories and images of every account and region, over a `Store` and a `BlobStorage`."""

    def __init__(self, store: Store, storage: BlobStorage, clock: Clock, settings: CatalogSettings) -> None:
        self.store = store
        self.storage = storage
        self.clock = clock
        self.settings = settings
        self._manifests = ManifestCache(settings.manifest_cache_bytes)

    # -- repositories --------------------------------------------------------------------------------

    async def get_repository(self, scope: Scope, name: str) -> Repository | None:
        """The repository `name`, or None."""
        found = await self.store.get(repository_key(scope, name))
        return Repository.of(found) if found is not None else None

    async def require_repository(self, scope: Scope, name: str) -> Repository:
        """The repository `name`; `RepositoryNotFound` (with ECR's message) when missing."""
        found = await self.get_repository(scope, name)
        if found is None:
            raise RepositoryNotFound(
                f"The repository with name '{name}' does not exist in the registry with id "
                f"'{scope.account_id}'",
                name,
            )
        return found

    async def list_repositories(self, scope: Scope | None) -> list[Repository]:
        """Repositories of one registry sorted by name (every registry when `scope` is None)."""
        found = await self.store.list(
            REPOSITORY,
            account_id=scope.account_id if scope else None,
            region=scope.region if scope else None,
        )
        return [Repository.of(v) for v in found]

    async def create_repository(
        self,
        scope: Scope,
        name: str,
        *,
        tag_mutability: str = "MUTABLE",
        exclusion_filters: Sequence[dict[str, str]] = (),
        scan_on_push: bool = False,
        encryption: dict[str, str] | None = None,
        tags: Sequence[dict[str, str]] = (),
        repository_arn: str | None = None,
        internal: dict[str, Any] | None = None,
    ) -> Repository:
        """Create a repository; `RepositoryAlreadyExists` when the name is taken. `repository_arn`
        replaces ECR's ARN and `internal` adds members to `dockyard` (ECR Public uses both)."""
        doc: dict[str, Any] = {
            "repositoryArn": repository_arn
            or arn("ecr", scope.region, scope.account_id, f"repository/{name}"),
            "registryId": scope.account_id,
            "repositoryName": name,
            "createdAt": self.clock.now(),
            "imageTagMutability": tag_mutability,
            "imageScanningConfiguration": {"scanOnPush": scan_on_push},
            "encryptionConfiguration": dict(encryption or {"encryptionType": "AES256"}),
            "dockyard": {**(internal or {}), "tags": [dict(t) for t in tags]},
        }
        if exclusion_filters:
            doc["imageTagMutabilityExclusionFilters"] = [dict(f) for f in exclusion_filters]
        key = repository_key(scope, name)
        try:
            revision = await self.store.commit([Put(key, doc, expected_revision=0)])
        except Conflict:
            raise RepositoryAlreadyExists(
                f"The repository with name '{name}' already exists in the registry with id "
                f"'{scope.account_id}'",
                name,
            ) from None
        return Repository(scope, doc, revision)

    async def update_repository(
        self, scope: Scope, name: str, change: Callable[[dict[str, Any]], None]
    ) -> Repository:
        """Apply `change` to the repository's document (retried on conflict) and store it.
        `change` may raise to refuse; it sees the whole document, `dockyard` member included."""
        while True:
            current = await self.require_repository(scope, name)
            doc = _copy(current.doc)
            change(doc)
            try:
                revision = await self.store.commit(
                    [Put(repository_key(scope, name), doc, expected_revision=current.revision)]
                )
            except Conflict:
                continue
            return Repository(scope, doc, revision)

    async def delete_repository(self, scope: Scope, name: str, *, force: bool = False) -> Repository:
        """Delete a repository with (force) or without (`RepositoryNotEmpty`) its images, and its
        tags, blob links and uploads, in one commit. The blobs' bytes go at garbage collection."""
        while True:
            repository = await self.require_repository(scope, name)
            images = await self._list(IMAGE, scope, f"{name}@")
            if images and not force:
                raise RepositoryNotEmpty(
                    f"The repository with name '{name}' in registry with id '{scope.account_id}' "
                    "cannot be deleted because it still contains images",
                    name,
                )
            writes: list[Write] = [Delete(repository_key(scope, name), expected_revision=repository.revision)]
            writes += [Delete(v.key, expected_revision=v.revision) for v in images]
            for kind, prefix in ((TAG, f"{name}:"), (LAYER, f"{name}@")):
                writes += [Delete(v.key) for v in await self._list(kind, scope, prefix)]
            uploads = await self.store.find_revisions(
                UPLOAD, "repository", name, account_id=scope.account_id, region=scope.region
            )
            writes += [Delete(key) for key, _ in uploads]
            try:
                await self.store.commit(writes)
            except Conflict:
                continue
            return repository

    # -- images ----------------------------------------------------------------------------------

    async def list_images(self, scope: Scope, repository: str) -> list[Image]:
        """Every image (manifest) of a repository, sorted by digest."""
        return [Image.of(v) for v in await self._list(IMAGE, scope, f"{repository}@")]

    async def count_images(self, scope: Scope, repository: str) -> int:
        found = await self.store.find_revisions(
            IMAGE, "repository", repository, account_id=scope.account_id, region=scope.region
        )
        return len(found)

    async def get_image(self, scope: Scope, repository: str, digest: str) -> Image | None:
        """The image with manifest `digest`, or None."""
        found = await self.store.get(image_key(scope, repository, digest))
        return Image.of(found) if found is not None else None

    async def tag_digest(self, scope: Scope, repository: str, tag: str) -> str | None:
        """The digest `tag` points at, or None."""
        found = await self.store.get(tag_key(scope, repository, tag))
        return str(found.value["imageDigest"]) if found is not None else None

    async def resolve(self, scope: Scope, repository: str, reference: str) -> Image | None:
        """The image a tag or a digest names, or None."""
        digest = reference if is_digest(reference) else await self.tag_digest(scope, repository, reference)
        if digest is None:
            return None
        return await self.get_image(scope, repository, digest)

    async def referrers(self, scope: Scope, repository: str, digest: str) -> list[Image]:
        """Images whose `subject` is `digest` (the subject itself need not exist)."""
        found = await self.store.find(
            IMAGE, "subject", f"{repository}@{digest}", account_id=scope.account_id, region=scope.region
        )
        return [Image.of(v) for v in found]

    async def list_tags(self, scope: Scope, repository: str) -> list[str]:
        """The repository's tags in lexical order."""
        skip = len(repository) + 1
        return [v.key.name[skip:] for v in await self._list(TAG, scope, f"{repository}:")]

    async def read_manifest(self, image: Image) -> bytes:
        """The exact bytes pushed for `image` (recently read manifests come from memory)."""
        return await self._manifests.get(image.digest, self.storage.read)

    async def image_layers(self, scope: Scope, repository: str, reference: str) -> list[Descriptor]:
        """The layers (digest, media type, size) of the image a tag or digest names; for an index,
        the layers of every child in order. `ImageNotFound` when there is no such image."""
        image = await self.resolve(scope, repository, reference)
        if image is None:
            raise ImageNotFound(f"no image {reference} in {repository}", reference)
        if not image.is_index:
            return image.layers
        layers: list[Descriptor] = []
        for child in image.manifests:
            found = await self.get_image(scope, repository, child.digest)
            layers += found.layers if found is not None else []
        return layers

    async def put_manifest(
        self,
        scope: Scope,
        repository: str,
        body: bytes,
        *,
        media_type: str | None,
        digest: str | None = None,
        tags: Sequence[str] = (),
        strict: bool = False,
    ) -> PushResult:
        """Store a manifest and point `tags` at it: the v2 PUT and ECR's PutImage both come here.

        `media_type` is the Content-Type (or imageManifestMediaType); `digest` the digest the
        client named (checked). Raises `ManifestInvalid`, `ManifestTooLarge`,
        `DigestMismatchError`, `RepositoryNotFound`, `BlobsUnknown`, `ReferencedImagesUnknown`,
        `TagImmutable` (a tag that may not move, even to the same digest), `TooManyImages`, and,
        with `strict` (PutImage), `ImageAlreadyExists` when the push would change nothing."""
        return await _push.put_manifest(
            self, scope, repository, body, media_type=media_type, digest=digest, tags=tags, strict=strict
        )

    async def update_image(
        self, scope: Scope, repository: str, digest: str, change: Callable[[dict[str, Any]], None]
    ) -> Image:
        """Apply `change` to an image's document (retried on conflict); `ImageNotFound`. For
        members like imageScanStatus: top-level `ImageDetail` members reach DescribeImages."""
        while True:
            image = await self.get_image(scope, repository, digest)
            if image is None:
                raise ImageNotFound(f"no image {digest} in {repository}", digest)
            doc = _copy(image.doc)
            change(doc)
            try:
                revision = await self.store.commit(
                    [
                        Put(
                            image_key(scope, repository, digest),
                            doc,
                            expected_revision=image.revision,
                            labels=_push.image_labels(doc),
                        )
                    ]
                )
            except Conflict:
                continue
            return Image(scope, doc, revision)

    async def record_pull(self, image: Image) -> None:
        """Note a pull in lastRecordedPullTime (at most once a day per image, as ECR does)."""
        now = self.clock.now()
        if image.last_pull is not None and now - image.last_pull < _DAY:
            return
        doc = _copy(image.doc)
        doc["lastRecordedPullTime"] = now
        key = image_key(image.scope, image.repository, image.digest)
        try:
            await self.store.commit(
                [Put(key, doc, expected_revision=image.revision, labels=_push.image_labels(doc))]
            )
        except Conflict:
            pass  # someone else changed it; the next pull records the time

    async def untag(self, scope: Scope, repository: str, tag: str) -> Image:
        """Take `tag` off its image (the image stays, untagged if that was its last tag);
        `ImageNotFound` when the tag does not exist."""
        while True:
            found = await self.store.get(tag_key(scope, repository, tag))
            image = (
                await self.get_image(scope, repository, str(found.value["imageDigest"])) if found else None
            )
            if found is None or image is None:
                raise ImageNotFound(f"no tag {tag} in {repository}", tag)
            doc = _copy(image.doc)
            doc["imageTags"] = [t for t in image.tags if t != tag]
            writes: list[Write] = [
                Delete(found.key, expected_revision=found.revision),
                Put(
                    image_key(scope, repository, image.digest),
                    doc,
                    expected_revision=image.revision,
                    labels=_push.image_labels(doc),
                ),
            ]
            try:
                revision = await self.store.commit(writes)
            except Conflict:
                continue
            return Image(scope, doc, revision)

    async def delete_image(self, scope: Scope, repository: str, digest: str) -> Image:
        """Delete an image and all its tags; `ImageNotFound`, or `ImageReferencedByIndex` while
        an index in the repository lists it (delete the index first, as ECR requires)."""
        while True:
            image = await self.get_image(scope, repository, digest)
            if image is None:
                raise ImageNotFound(f"no image {digest} in {repository}", digest)
            if image.parents:
                raise ImageReferencedByIndex(
                    "Requested image referenced by manifest list: " + ", ".join(image.parents),
                    digest,
                    image.parents,
                )
            writes: list[Write] = [
                Delete(image_key(scope, repository, digest), expected_revision=image.revision)
            ]
            for tag in image.tags:
                writes.append(Delete(tag_key(scope, repository, tag)))
            writes += await _push.unlink_children(self, scope, repository, image)
            try:
                await self.store.commit(writes)
            except Conflict:
                continue
            return image

    # -- blobs -----------------------------------------------------------------------------------

    async def blob_link(self, scope: Scope, repository: str, digest: str) -> Versioned | None:
        """The link that lets `repository` use blob `digest` ({size, createdAt}), or None."""
        return await self.store.get(layer_key(scope, repository, digest))

    async def link_blob(self, scope: Scope, repository: str, blob: BlobInfo) -> None:
        """Let `repository` use a stored blob (after an upload or a mount); idempotent."""
        doc = {"size": blob.size, "createdAt": self.clock.now()}
        await self.store.commit(
            [Put(layer_key(scope, repository, blob.digest), doc, labels={"digest": blob.digest})]
        )

    async def blob_in_repository(self, scope: Scope, repository: str, digest: str) -> BlobInfo | None:
        """The blob if `repository` may use it and its bytes are stored, else None."""
        if await self.blob_link(scope, repository, digest) is None:
            return None
        return await self.storage.stat(digest)

    def blob_path(self, digest: str) -> Path | None:
        """A local file holding the blob (for sendfile), or None for remote backends."""
        return self.storage.local_path(digest)

    def read_blob(self, digest: str, start: int, length: int) -> AsyncIterator[bytes]:
        """Stream part of a blob."""
        return self.storage.read_range(digest, start, length)

    # -- helpers ---------------------------------------------------------------------------------

    async def _list(self, kind: str, scope: Scope, prefix: str) -> list[Versioned]:
        return await self.store.list(kind, account_id=scope.account_id, region=scope.region, prefix=prefix)

    async def gather_images(
        self, scope: Scope, repository: str, digests: Sequence[str]
    ) -> list[Image | None]:
        """`get_image` for several digests at once."""
        return list(await asyncio.gather(*(self.get_image(scope, repository, d) for d in digests)))


def _copy(doc: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(doc)
