"""How a manifest is put into a repository (the body of `Catalog.put_manifest`) and how an
index's children learn about their parents. See `dockyard.registry.catalog` for the flow."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockyard.registry.digests import digest_of, parse_digest
from dockyard.registry.manifests import MAX_MANIFEST_BYTES, ParsedManifest, parse_manifest
from dockyard.registry.model import (
    BlobsUnknown,
    DigestMismatchError,
    Image,
    ImageAlreadyExists,
    ManifestTooLarge,
    ReferencedImagesUnknown,
    Repository,
    Scope,
    TagImmutable,
    TooManyImages,
    image_key,
    tag_is_immutable,
    tag_key,
)
from dockyard.store import Conflict, Put, Versioned, Write

if TYPE_CHECKING:
    from dockyard.registry.catalog import Catalog

__all__ = ["PushResult", "image_labels", "put_manifest", "unlink_children"]


@dataclass(frozen=True, slots=True)
class PushResult:
    image: Image
    created: bool  # a new image (False: tags added to an image already there)
    tags: tuple[str, ...]  # the tags the push set


def image_labels(doc: dict[str, Any]) -> dict[str, str]:
    labels = {"repository": str(doc["repositoryName"]), "digest": str(doc["imageDigest"])}
    if doc.get("subjectManifestDigest"):
        labels["subject"] = f"{doc['repositoryName']}@{doc['subjectManifestDigest']}"
    return labels


async def put_manifest(
    catalog: Catalog,
    scope: Scope,
    repository: str,
    body: bytes,
    *,
    media_type: str | None,
    digest: str | None,
    tags: Sequence[str],
    strict: bool,
) -> PushResult:
    if len(body) > MAX_MANIFEST_BYTES:
        raise ManifestTooLarge(f"the manifest is larger than {MAX_MANIFEST_BYTES} bytes")
    algorithm = parse_digest(digest).algorithm if digest else "sha256"
    actual = digest_of(body, algorithm)
    if digest is not None and digest != actual:
        raise DigestMismatchError(
            f"The digest {digest} does not match the manifest's digest {actual}", digest, actual
        )
    parsed = parse_manifest(body, media_type)
    repo = await catalog.require_repository(scope, repository)
    missing = [
        d.digest
        for d, link in zip(
            parsed.blobs(),
            await asyncio.gather(*(catalog.blob_link(scope, repository, d.digest) for d in parsed.blobs())),
            strict=True,
        )
        if link is None
    ]
    if missing:
        raise BlobsUnknown(f"blob unknown to registry: {missing[0]}", missing)
    children = await catalog.gather_images(scope, repository, [c.digest for c in parsed.manifests])
    absent = [c.digest for c, found in zip(parsed.manifests, children, strict=True) if found is None]
    if absent:
        raise ReferencedImagesUnknown(f"manifest unknown to registry: {absent[0]}", absent)
    if parsed.is_index:
        size = max((c.size for c in children if c is not None), default=0)
    else:
        size = parsed.layers_size
    unique_tags = tuple(dict.fromkeys(tags))
    while True:
        try:
            return await _commit(
                catalog,
                scope,
                repo,
                actual,
                parsed,
                body,
                size,
                unique_tags,
                strict=strict,
                algorithm=algorithm,
            )
        except Conflict:
            continue


async def _commit(
    catalog: Catalog,
    scope: Scope,
    repo: Repository,
    digest: str,
    parsed: ParsedManifest,
    body: bytes,
    size: int,
    tags: tuple[str, ...],
    *,
    strict: bool,
    algorithm: str,
) -> PushResult:
    name = repo.name
    existing = await catalog.store.get(image_key(scope, name, digest))
    current_tags = await asyncio.gather(*(catalog.store.get(tag_key(scope, name, t)) for t in tags))
    doc = (
        copy.deepcopy(existing.value)
        if existing
        else _new_doc(catalog, scope, name, digest, parsed, body, size)
    )
    writes: list[Write] = []
    moved_from: dict[str, Versioned] = {}  # old image digest -> its document, tags being removed
    added: list[str] = []
    for tag, current in zip(tags, current_tags, strict=True):
        immutable = tag_is_immutable(repo.tag_mutability, repo.exclusion_filters, tag)
        if current is not None and immutable:
            raise TagImmutable(
                f"The image tag '{tag}' already exists in the '{name}' repository and cannot be "
                "overwritten because the repository is immutable.",
                tag,
            )
        if current is not None and current.value["imageDigest"] == digest:
            continue
        if current is not None:
            old_digest = str(current.value["imageDigest"])
            if old_digest not in moved_from:
                old = await catalog.store.get(image_key(scope, name, old_digest))
                if old is not None:
                    moved_from[old_digest] = Versioned(old.key, copy.deepcopy(old.value), old.revision)
            if old_digest in moved_from:
                old_doc = moved_from[old_digest].value
                old_doc["imageTags"] = [t for t in old_doc.get("imageTags") or [] if t != tag]
        writes.append(
            Put(
                tag_key(scope, name, tag),
                {"imageDigest": digest},
                expected_revision=current.revision if current else 0,
            )
        )
        added.append(tag)
    if strict and existing is not None and not added:
        shown = tags[0] if tags else "null"
        raise ImageAlreadyExists(
            f"Image with digest '{digest}' and tag '{shown}' already exists in the repository with "
            f"name '{name}' in registry with id '{scope.account_id}'",
            digest,
        )
    if existing is None:
        if await catalog.count_images(scope, name) >= catalog.settings.max_images:
            raise TooManyImages(
                f"The maximum number of images ({catalog.settings.max_images}) in the repository "
                f"'{name}' has been reached."
            )
        writes += await _link_children(catalog, scope, name, digest, parsed)
    doc["imageTags"] = [*[t for t in doc.get("imageTags") or [] if t not in added], *added]
    writes.append(
        Put(
            image_key(scope, name, digest),
            doc,
            expected_revision=existing.revision if existing else 0,
            labels=image_labels(doc),
        )
    )
    for old in moved_from.values():
        writes.append(Put(old.key, old.value, expected_revision=old.revision, labels=image_labels(old.value)))
    await catalog.storage.put(body, algorithm)  # only once every rule has passed
    revision = await catalog.store.commit(writes)
    return PushResult(Image(scope, doc, revision), existing is None, tuple(added))


def _new_doc(
    catalog: Catalog,
    scope: Scope,
    repository: str,
    digest: str,
    parsed: ParsedManifest,
    body: bytes,
    size: int,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "registryId": scope.account_id,
        "repositoryName": repository,
        "imageDigest": digest,
        "imageTags": [],
        "imageSizeInBytes": size,
        "imagePushedAt": catalog.clock.now(),
        "imageManifestMediaType": parsed.media_type,
    }
    if parsed.artifact_media_type:
        doc["artifactMediaType"] = parsed.artifact_media_type
    if parsed.subject is not None:
        doc["subjectManifestDigest"] = parsed.subject.digest
    internal: dict[str, Any] = {"manifestSize": len(body), "parents": []}
    if parsed.config is not None:
        internal["config"] = parsed.config.to_doc()
    if parsed.is_index:
        internal["manifests"] = [m.to_doc() for m in parsed.manifests]
    else:
        internal["layers"] = [layer.to_doc() for layer in parsed.layers]
    if parsed.artifact_type:
        internal["artifactType"] = parsed.artifact_type
    if parsed.annotations:
        internal["annotations"] = parsed.annotations
    doc["dockyard"] = internal
    return doc


async def _link_children(
    catalog: Catalog, scope: Scope, repository: str, digest: str, parsed: ParsedManifest
) -> list[Write]:
    """Writes adding `digest` to the parents of each child an index lists."""
    writes: list[Write] = []
    for child_digest in dict.fromkeys(c.digest for c in parsed.manifests):
        found = await catalog.store.get(image_key(scope, repository, child_digest))
        if found is None:
            raise ReferencedImagesUnknown(f"manifest unknown to registry: {child_digest}", [child_digest])
        doc = copy.deepcopy(found.value)
        internal = doc.setdefault("dockyard", {})
        internal["parents"] = sorted({*(internal.get("parents") or []), digest})
        writes.append(Put(found.key, doc, expected_revision=found.revision, labels=image_labels(doc)))
    return writes


async def unlink_children(catalog: Catalog, scope: Scope, repository: str, image: Image) -> list[Write]:
    """Writes taking a deleted index off the parents of its children."""
    writes: list[Write] = []
    for child_digest in dict.fromkeys(c.digest for c in image.manifests):
        if child_digest == image.digest:
            continue
        found = await catalog.store.get(image_key(scope, repository, child_digest))
        if found is None:
            continue
        doc = copy.deepcopy(found.value)
        internal = doc.setdefault("dockyard", {})
        internal["parents"] = [p for p in internal.get("parents") or [] if p != image.digest]
        writes.append(Put(found.key, doc, expected_revision=found.revision, labels=image_labels(doc)))
    return writes
