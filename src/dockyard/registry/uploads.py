"""Upload sessions: the v2 `blobs/uploads/` endpoints and ECR's layer API both use these.

```
begin(repo) ─> ecr:upload document {repositoryName, startedAt} + an empty upload in storage
append(chunks, offset?) ─> storage.write at the current size (offset given: must match)
finish(digest) ─> storage.commit (digest checked; the bytes join the CAS, deduplicated)
              ─> ONE commit: the repository's link to the blob + the upload document deleted
cancel ─> both gone            mount(digest, from) ─> a link, when `from` may use the blob
```
An upload belongs to one repository of one registry: its id used with another repository is
unknown there. Abandoned uploads are purged by garbage collection (`dockyard.registry.gc`).
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

from dockyard.core.ids import IdGenerator
from dockyard.registry.catalog import Catalog
from dockyard.registry.digests import parse_digest
from dockyard.registry.model import LAYER, Scope, layer_key, upload_key
from dockyard.registry.storage import BlobInfo, UploadUnknown
from dockyard.store import Conflict, Delete, Put, Versioned

__all__ = ["UploadNotFound", "Uploads"]


class UploadNotFound(LookupError):
    """No upload with this id in this repository."""


class Uploads:
    def __init__(self, catalog: Catalog, ids: IdGenerator) -> None:
        self.catalog = catalog
        self._ids = ids

    async def begin(self, scope: Scope, repository: str, *, api: bool = False) -> str:
        """Start an upload into an existing repository (`RepositoryNotFound`); its id."""
        await self.catalog.require_repository(scope, repository)
        upload_id = self._ids.uuid()
        await self.catalog.storage.begin(upload_id)
        doc: dict[str, Any] = {"repositoryName": repository, "startedAt": self.catalog.clock.now()}
        if api:
            doc.update(api=True, parts=0, smallPart=False)
        await self.catalog.store.commit(
            [Put(upload_key(scope, upload_id), doc, expected_revision=0, labels={"repository": repository})]
        )
        return upload_id

    async def get(self, scope: Scope, repository: str, upload_id: str) -> Versioned:
        """The upload's document; `UploadNotFound` unless it is an upload into `repository`."""
        found = await self.catalog.store.get(upload_key(scope, upload_id))
        if found is None or found.value.get("repositoryName") != repository:
            raise UploadNotFound(upload_id)
        return found

    async def size(self, scope: Scope, repository: str, upload_id: str) -> int:
        """Bytes received so far."""
        await self.get(scope, repository, upload_id)
        try:
            return await self.catalog.storage.upload_size(upload_id)
        except UploadUnknown:
            raise UploadNotFound(upload_id) from None

    async def append(
        self,
        scope: Scope,
        repository: str,
        upload_id: str,
        chunks: AsyncIterable[bytes],
        *,
        offset: int | None = None,
    ) -> int:
        """Write `chunks` at `offset` (None: at the end); returns the new size. Raises
        `OffsetMismatch` (with the current size) when `offset` is not the current size."""
        await self.get(scope, repository, upload_id)
        storage = self.catalog.storage
        try:
            start = await storage.upload_size(upload_id) if offset is None else offset
            return await storage.write(upload_id, start, chunks)
        except UploadUnknown:
            raise UploadNotFound(upload_id) from None

    async def digest(self, scope: Scope, repository: str, upload_id: str) -> str:
        """The sha256 digest of the bytes received so far."""
        await self.get(scope, repository, upload_id)
        try:
            return await self.catalog.storage.digest(upload_id)
        except UploadUnknown:
            raise UploadNotFound(upload_id) from None

    async def update(self, found: Versioned, doc: dict[str, Any]) -> bool:
        """Replace an upload's document (compare-and-swap); False when it changed meanwhile."""
        labels = {"repository": str(doc["repositoryName"])}
        try:
            await self.catalog.store.commit(
                [Put(found.key, doc, expected_revision=found.revision, labels=labels)]
            )
        except Conflict:
            return False
        return True

    async def finish(self, scope: Scope, repository: str, upload_id: str, digest: str) -> BlobInfo:
        """Make the upload the blob `digest` and let the repository use it. Raises `DigestError`
        (malformed digest; the upload stays) and `DigestMismatch` (the upload is dropped)."""
        parse_digest(digest)
        found = await self.get(scope, repository, upload_id)
        try:
            blob = await self.catalog.storage.commit(upload_id, digest)
        except UploadUnknown:
            raise UploadNotFound(upload_id) from None
        except ValueError:
            await self._forget(found)
            raise
        link = {"size": blob.size, "createdAt": self.catalog.clock.now()}
        await self.catalog.store.commit(
            [
                Put(layer_key(scope, repository, blob.digest), link, labels={"digest": blob.digest}),
                Delete(found.key),
            ]
        )
        return blob

    async def cancel(self, scope: Scope, repository: str, upload_id: str) -> None:
        """Abandon an upload; `UploadNotFound` when there is none."""
        found = await self.get(scope, repository, upload_id)
        await self.catalog.storage.abort(upload_id)
        await self._forget(found)

    async def _forget(self, found: Versioned) -> None:
        try:
            await self.catalog.store.commit([Delete(found.key, expected_revision=found.revision)])
        except Conflict:
            pass

    async def mount(self, scope: Scope, repository: str, digest: str, source: str | None) -> BlobInfo | None:
        """Link blob `digest` into `repository` from `source` (None: from any repository of the
        registry); None when the source may not use it or its bytes are gone."""
        await self.catalog.require_repository(scope, repository)
        if source is not None:
            blob = await self.catalog.blob_in_repository(scope, source, digest)
        else:
            users = await self.catalog.store.find_revisions(
                LAYER, "digest", digest, account_id=scope.account_id, region=scope.region
            )
            blob = await self.catalog.storage.stat(digest) if users else None
        if blob is None:
            return None
        await self.catalog.link_blob(scope, repository, blob)
        return blob
