"""The registry's records in the store, their read-only views, and the catalog's errors.

Every document is scoped by (account, region) like any AWS resource:

```
kind            name              value
ecr:repository  <repo>            ECR `Repository` members (but repositoryUri) + dockyard{tags, policy}
ecr:image       <repo>@<digest>   ECR `ImageDetail` members + dockyard{manifestSize, config, layers
                                  | manifests, parents, artifactType, annotations}
ecr:tag         <repo>:<tag>      {imageDigest}: one document per tag (unique; moved by CAS)
ecr:layer       <repo>@<digest>   {size, createdAt, unreferencedSince?}: the repository may use the blob
ecr:upload      <upload id>       {repositoryName, startedAt, api, parts, smallPart}: an upload
ecr:registry    registry          registry-wide settings, e.g. replicationConfiguration
```

Image documents carry ECR's public member names at the top level, so anything another module
writes there under an `ImageDetail` member name (`imageScanStatus`, `imageScanFindingsSummary`,
`imageStatus`, ...) is returned by DescribeImages as it is. Labels: images `repository` and
`subject` = `<repo>@<subject digest>` (referrers); layers `digest` (which repositories use a
blob); uploads `repository`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dockyard.registry.manifests import Descriptor
from dockyard.store import Key, Versioned

__all__ = [
    "BlobsUnknown",
    "CatalogError",
    "DigestMismatchError",
    "IMAGE",
    "Image",
    "ImageAlreadyExists",
    "ImageNotFound",
    "ImageReferencedByIndex",
    "LAYER",
    "ManifestTooLarge",
    "REGISTRY",
    "REPOSITORY",
    "ReferencedImagesUnknown",
    "Repository",
    "RepositoryAlreadyExists",
    "RepositoryNotEmpty",
    "RepositoryNotFound",
    "Scope",
    "TAG",
    "TagImmutable",
    "TooManyImages",
    "UPLOAD",
    "image_key",
    "layer_key",
    "repository_key",
    "tag_is_immutable",
    "tag_key",
    "upload_key",
]

REPOSITORY = "ecr:repository"
IMAGE = "ecr:image"
TAG = "ecr:tag"
LAYER = "ecr:layer"
UPLOAD = "ecr:upload"
REGISTRY = "ecr:registry"


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose registry: an account in a region (ECR registries are regional)."""

    account_id: str
    region: str


def repository_key(scope: Scope, name: str) -> Key:
    return Key(scope.account_id, scope.region, REPOSITORY, name)


def image_key(scope: Scope, repository: str, digest: str) -> Key:
    return Key(scope.account_id, scope.region, IMAGE, f"{repository}@{digest}")


def tag_key(scope: Scope, repository: str, tag: str) -> Key:
    return Key(scope.account_id, scope.region, TAG, f"{repository}:{tag}")


def layer_key(scope: Scope, repository: str, digest: str) -> Key:
    return Key(scope.account_id, scope.region, LAYER, f"{repository}@{digest}")


def upload_key(scope: Scope, upload_id: str) -> Key:
    return Key(scope.account_id, scope.region, UPLOAD, upload_id)


# -- views ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Repository:
    """A repository as stored (`doc`, `revision` for compare-and-swap) with typed accessors."""

    scope: Scope
    doc: dict[str, Any]
    revision: int

    @classmethod
    def of(cls, found: Versioned) -> Repository:
        return cls(Scope(found.key.account_id, found.key.region), found.value, found.revision)

    @property
    def name(self) -> str:
        return str(self.doc["repositoryName"])

    @property
    def arn(self) -> str:
        return str(self.doc["repositoryArn"])

    @property
    def created_at(self) -> float:
        return float(self.doc["createdAt"])

    @property
    def tag_mutability(self) -> str:
        return str(self.doc.get("imageTagMutability", "MUTABLE"))

    @property
    def exclusion_filters(self) -> list[dict[str, str]]:
        return list(self.doc.get("imageTagMutabilityExclusionFilters") or [])

    @property
    def scan_on_push(self) -> bool:
        return bool((self.doc.get("imageScanningConfiguration") or {}).get("scanOnPush", False))

    @property
    def policy(self) -> str | None:
        text = self.doc.get("dockyard", {}).get("policy")
        return str(text) if text is not None else None

    @property
    def tags(self) -> list[dict[str, str]]:
        return list(self.doc.get("dockyard", {}).get("tags") or [])

    def uri(self, host: str) -> str:
        return f"{host}/{self.name}"

    def describe(self, host: str) -> dict[str, Any]:
        """The ECR `Repository` shape (repositoryUri made for `host`)."""
        out = {k: v for k, v in self.doc.items() if k != "dockyard"}
        out["repositoryUri"] = self.uri(host)
        return out


@dataclass(frozen=True, slots=True)
class Image:
    """An image (a manifest) in a repository, as stored, with typed accessors."""

    scope: Scope
    doc: dict[str, Any]
    revision: int

    @classmethod
    def of(cls, found: Versioned) -> Image:
        return cls(Scope(found.key.account_id, found.key.region), found.value, found.revision)

    @property
    def repository(self) -> str:
        return str(self.doc["repositoryName"])

    @property
    def digest(self) -> str:
        return str(self.doc["imageDigest"])

    @property
    def media_type(self) -> str:
        return str(self.doc["imageManifestMediaType"])

    @property
    def artifact_type(self) -> str | None:
        value = self.doc.get("artifactMediaType")
        return str(value) if value is not None else None

    @property
    def tags(self) -> list[str]:
        return list(self.doc.get("imageTags") or [])

    @property
    def pushed_at(self) -> float:
        return float(self.doc["imagePushedAt"])

    @property
    def last_pull(self) -> float | None:
        value = self.doc.get("lastRecordedPullTime")
        return float(value) if value is not None else None

    @property
    def size(self) -> int:
        """ECR's imageSizeInBytes."""
        return int(self.doc.get("imageSizeInBytes", 0))

    @property
    def manifest_size(self) -> int:
        return int(self._internal.get("manifestSize", 0))

    @property
    def config(self) -> Descriptor | None:
        config = self._internal.get("config")
        return Descriptor.from_doc(config) if config else None

    @property
    def layers(self) -> list[Descriptor]:
        return [Descriptor.from_doc(d) for d in self._internal.get("layers") or []]

    @property
    def manifests(self) -> list[Descriptor]:
        """An index's children (empty for an image manifest)."""
        return [Descriptor.from_doc(d) for d in self._internal.get("manifests") or []]

    @property
    def subject(self) -> str | None:
        value = self.doc.get("subjectManifestDigest")
        return str(value) if value is not None else None

    @property
    def parents(self) -> list[str]:
        """Digests of the indexes in this repository that list this manifest."""
        return list(self._internal.get("parents") or [])

    @property
    def is_index(self) -> bool:
        return "manifests" in self._internal

    @property
    def _internal(self) -> dict[str, Any]:
        internal: dict[str, Any] = self.doc.get("dockyard") or {}
        return internal

    def detail(self) -> dict[str, Any]:
        """The ECR `ImageDetail` shape (every public member the document carries)."""
        out = {k: v for k, v in self.doc.items() if k != "dockyard"}
        if not out.get("imageTags"):
            out.pop("imageTags", None)
        return out


# -- tag mutability ----------------------------------------------------------------------------------


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def tag_is_immutable(mutability: str, filters: list[dict[str, str]], tag: str) -> bool:
    """Whether `tag` may not be moved or re-pushed under `mutability` and its exclusion filters."""
    matched = any(_wildcard(f["filter"]).fullmatch(tag) for f in filters)
    if mutability == "IMMUTABLE":
        return True
    if mutability == "IMMUTABLE_WITH_EXCLUSION":
        return not matched
    if mutability == "MUTABLE_WITH_EXCLUSION":
        return matched
    return False


# -- errors -------------------------------------------------------------------------------------------


@dataclass
class CatalogError(Exception):
    """A rule of the registry refused a change; the wire layers map each kind to their error."""

    message: str

    def __post_init__(self) -> None:
        super().__init__(self.message)


@dataclass
class RepositoryNotFound(CatalogError):
    name: str = ""


@dataclass
class RepositoryAlreadyExists(CatalogError):
    name: str = ""


@dataclass
class RepositoryNotEmpty(CatalogError):
    name: str = ""


@dataclass
class ImageNotFound(CatalogError):
    reference: str = ""


@dataclass
class TagImmutable(CatalogError):
    tag: str = ""


@dataclass
class ImageAlreadyExists(CatalogError):
    digest: str = ""


@dataclass
class DigestMismatchError(CatalogError):
    expected: str = ""
    actual: str = ""


@dataclass
class BlobsUnknown(CatalogError):
    """Blobs (config, layers) a manifest names are not in the repository."""

    digests: list[str] = field(default_factory=list)


@dataclass
class ReferencedImagesUnknown(CatalogError):
    """Manifests an index lists are not in the repository."""

    digests: list[str] = field(default_factory=list)


@dataclass
class ImageReferencedByIndex(CatalogError):
    digest: str = ""
    parents: list[str] = field(default_factory=list)


@dataclass
class TooManyImages(CatalogError):
    pass


@dataclass
class ManifestTooLarge(CatalogError):
    pass
