"""Reading manifests: media types, descriptors, what a manifest references.

A manifest is kept as the exact bytes the client sent (its digest covers them); this module only
reads them to learn what they reference:

```
image manifest (Docker schema 2, OCI)     config + layers (blobs; `urls` = foreign, not stored)
index (Docker manifest list, OCI index)   manifests (child manifests in the same repository)
either (OCI 1.1)                          subject (the manifest it refers to; may be missing)
                                          artifactType
```
Unknown config, layer and artifact types are accepted as they are (attestations, signatures and
other artifacts use their own); only the manifest's own media type must be one of the four.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dockyard.registry.digests import DigestError, parse_digest

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "Descriptor",
    "INDEX_TYPES",
    "MANIFEST_TYPES",
    "MAX_MANIFEST_BYTES",
    "ManifestInvalid",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "ParsedManifest",
    "SCHEMA1_TYPES",
    "base_media_type",
    "parse_manifest",
]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
SCHEMA1_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)
MANIFEST_TYPES = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
INDEX_TYPES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # ECR's and registry:2's limit


class ManifestInvalid(ValueError):
    """The bytes are not a manifest Dockyard stores; the message says why."""


@dataclass(frozen=True, slots=True)
class Descriptor:
    digest: str
    media_type: str
    size: int
    urls: tuple[str, ...] = ()
    artifact_type: str | None = None
    platform: dict[str, Any] | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"digest": self.digest, "mediaType": self.media_type, "size": self.size}
        if self.urls:
            doc["urls"] = list(self.urls)
        if self.artifact_type:
            doc["artifactType"] = self.artifact_type
        if self.platform:
            doc["platform"] = self.platform
        if self.annotations:
            doc["annotations"] = self.annotations
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Descriptor:
        return cls(
            digest=str(doc["digest"]),
            media_type=str(doc.get("mediaType", "")),
            size=int(doc.get("size", 0)),
            urls=tuple(doc.get("urls") or ()),
            artifact_type=doc.get("artifactType"),
            platform=doc.get("platform"),
            annotations=dict(doc.get("annotations") or {}),
        )


@dataclass(frozen=True, slots=True)
class ParsedManifest:
    media_type: str
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    def blobs(self) -> list[Descriptor]:
        """The blobs that must be in the repository: config and layers, less foreign layers."""
        found = [self.config] if self.config is not None else []
        return found + [layer for layer in self.layers if not layer.urls]

    @property
    def artifact_media_type(self) -> str | None:
        """ECR's artifactMediaType: the artifactType, else the config's media type."""
        if self.artifact_type:
            return self.artifact_type
        return self.config.media_type if self.config is not None else None

    @property
    def layers_size(self) -> int:
        """ECR's imageSizeInBytes of an image manifest: its (compressed) layers."""
        return sum(layer.size for layer in self.layers)


def base_media_type(content_type: str | None) -> str:
    """A Content-Type without parameters ("a/b; charset=x" -> "a/b")."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_manifest(body: bytes, content_type: str | None) -> ParsedManifest:
    """Read a manifest sent with `content_type` (None or "" when not sent)."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestInvalid("the manifest is not valid JSON") from exc
    if not isinstance(document, dict):
        raise ManifestInvalid("the manifest is not a JSON object")
    declared = document.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise ManifestInvalid("mediaType must be a string")
    sent = base_media_type(content_type)
    if sent in ("", "application/json", "application/octet-stream"):
        sent = ""
    if declared and sent and declared != sent:
        raise ManifestInvalid(f"the manifest's mediaType {declared} does not match its Content-Type {sent}")
    media_type = declared or sent or _inferred(document)
    if media_type in SCHEMA1_TYPES or document.get("schemaVersion") == 1:
        raise ManifestInvalid("Docker image manifest schema 1 is not supported; push with schema 2 or OCI")
    if media_type not in MANIFEST_TYPES | INDEX_TYPES:
        raise ManifestInvalid(f"unsupported manifest media type {media_type!r}")
    if document.get("schemaVersion") != 2:
        raise ManifestInvalid("schemaVersion must be 2")
    artifact_type = document.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise ManifestInvalid("artifactType must be a string")
    subject = _descriptor(document["subject"], "subject") if document.get("subject") is not None else None
    annotations = _annotations(document.get("annotations"), "annotations")
    if media_type in INDEX_TYPES:
        children = document.get("manifests")
        if not isinstance(children, list):
            raise ManifestInvalid("an index needs a manifests list")
        return ParsedManifest(
            media_type,
            manifests=tuple(_descriptor(c, f"manifests[{i}]") for i, c in enumerate(children)),
            subject=subject,
            artifact_type=artifact_type,
            annotations=annotations,
        )
    if "config" not in document:
        raise ManifestInvalid("an image manifest needs a config descriptor")
    layers = document.get("layers", [])
    if not isinstance(layers, list):
        raise ManifestInvalid("layers must be a list")
    return ParsedManifest(
        media_type,
        config=_descriptor(document["config"], "config"),
        layers=tuple(_descriptor(layer, f"layers[{i}]") for i, layer in enumerate(layers)),
        subject=subject,
        artifact_type=artifact_type,
        annotations=annotations,
    )


def _inferred(document: dict[str, Any]) -> str:
    """The media type of an OCI manifest that leaves `mediaType` out (the spec allows it)."""
    if "manifests" in document:
        return OCI_INDEX
    if "config" in document:
        return OCI_MANIFEST
    raise ManifestInvalid("the manifest has no mediaType and is neither an image manifest nor an index")


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{where} is not a descriptor")
    digest, media_type, size = value.get("digest"), value.get("mediaType"), value.get("size")
    if not isinstance(digest, str):
        raise ManifestInvalid(f"{where} has no digest")
    try:
        parse_digest(digest)
    except DigestError as exc:
        raise ManifestInvalid(f"{where} has an invalid digest {digest!r}") from exc
    if not isinstance(media_type, str) or not media_type:
        raise ManifestInvalid(f"{where} has no mediaType")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestInvalid(f"{where} has no valid size")
    urls = value.get("urls") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ManifestInvalid(f"{where}.urls must be a list of strings")
    platform = value.get("platform")
    if platform is not None and not isinstance(platform, dict):
        raise ManifestInvalid(f"{where}.platform must be an object")
    artifact_type = value.get("artifactType")
    return Descriptor(
        digest=digest,
        media_type=media_type,
        size=size,
        urls=tuple(urls),
        artifact_type=artifact_type if isinstance(artifact_type, str) else None,
        platform=platform,
        annotations=_annotations(value.get("annotations"), f"{where}.annotations"),
    )


def _annotations(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ManifestInvalid(f"{where} must map strings to strings")
    return dict(value)
