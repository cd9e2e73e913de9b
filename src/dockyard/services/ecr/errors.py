"""ECR's modelled exceptions (names, statuses and faults from the botocore model), and how the
registry catalog's errors become them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dockyard.aws.errors import modeled
from dockyard.core.errors import AwsError
from dockyard.registry.digests import DigestError
from dockyard.registry.manifests import ManifestInvalid
from dockyard.registry.model import (
    BlobsUnknown,
    CatalogError,
    DigestMismatchError,
    ImageAlreadyExists,
    ImageNotFound,
    ManifestTooLarge,
    ReferencedImagesUnknown,
    RepositoryAlreadyExists,
    RepositoryNotEmpty,
    RepositoryNotFound,
    TagImmutable,
    TooManyImages,
)

__all__ = [
    "EmptyUploadException",
    "ImageAlreadyExistsException",
    "ImageDigestDoesNotMatchException",
    "ImageNotFoundException",
    "ImageTagAlreadyExistsException",
    "InvalidLayerException",
    "InvalidLayerPartException",
    "InvalidParameterException",
    "InvalidTagParameterException",
    "LayerAlreadyExistsException",
    "LayerPartTooSmallException",
    "LayersNotFoundException",
    "LimitExceededException",
    "ReferencedImagesNotFoundException",
    "RepositoryAlreadyExistsException",
    "RepositoryNotEmptyException",
    "RepositoryNotFoundException",
    "RepositoryPolicyNotFoundException",
    "TooManyTagsException",
    "UploadNotFoundException",
    "translated",
]

EmptyUploadException = modeled("ecr", "EmptyUploadException")
ImageAlreadyExistsException = modeled("ecr", "ImageAlreadyExistsException")
ImageDigestDoesNotMatchException = modeled("ecr", "ImageDigestDoesNotMatchException")
ImageNotFoundException = modeled("ecr", "ImageNotFoundException")
ImageTagAlreadyExistsException = modeled("ecr", "ImageTagAlreadyExistsException")
InvalidLayerException = modeled("ecr", "InvalidLayerException")
InvalidLayerPartException = modeled("ecr", "InvalidLayerPartException")
InvalidParameterException = modeled("ecr", "InvalidParameterException")
InvalidTagParameterException = modeled("ecr", "InvalidTagParameterException")
LayerAlreadyExistsException = modeled("ecr", "LayerAlreadyExistsException")
LayerPartTooSmallException = modeled("ecr", "LayerPartTooSmallException")
LayersNotFoundException = modeled("ecr", "LayersNotFoundException")
LimitExceededException = modeled("ecr", "LimitExceededException")
ReferencedImagesNotFoundException = modeled("ecr", "ReferencedImagesNotFoundException")
RepositoryAlreadyExistsException = modeled("ecr", "RepositoryAlreadyExistsException")
RepositoryNotEmptyException = modeled("ecr", "RepositoryNotEmptyException")
RepositoryNotFoundException = modeled("ecr", "RepositoryNotFoundException")
RepositoryPolicyNotFoundException = modeled("ecr", "RepositoryPolicyNotFoundException")
TooManyTagsException = modeled("ecr", "TooManyTagsException")
UploadNotFoundException = modeled("ecr", "UploadNotFoundException")

_DIRECT: list[tuple[type[CatalogError], type[AwsError]]] = [
    (RepositoryNotFound, RepositoryNotFoundException),
    (RepositoryAlreadyExists, RepositoryAlreadyExistsException),
    (RepositoryNotEmpty, RepositoryNotEmptyException),
    (ImageNotFound, ImageNotFoundException),
    (TagImmutable, ImageTagAlreadyExistsException),
    (ImageAlreadyExists, ImageAlreadyExistsException),
    (TooManyImages, LimitExceededException),
    (ManifestTooLarge, InvalidParameterException),
]


def to_aws(exc: CatalogError, *, repository: str, registry_id: str) -> AwsError:
    """The ECR exception for a catalog error, worded as ECR words it."""
    where = f"repository with name '{repository}' in the registry with id '{registry_id}'"
    if isinstance(exc, BlobsUnknown):
        return LayersNotFoundException(
            f"Layers with digests '{exc.digests}' required for pushing image into {where} do not exist"
        )
    if isinstance(exc, ReferencedImagesUnknown):
        return ReferencedImagesNotFoundException(
            f"Manifests with digests '{exc.digests}' required for pushing image into {where} do not exist"
        )
    if isinstance(exc, DigestMismatchError):
        return ImageDigestDoesNotMatchException(
            f"Invalid parameter at 'imageDigest' failed to satisfy constraint: 'The provided digest "
            f"{exc.expected} does not match the digest of the image manifest {exc.actual}'"
        )
    for source, target in _DIRECT:
        if isinstance(exc, source):
            return target(exc.message)
    return InvalidParameterException(exc.message)


@contextmanager
def translated(repository: str, registry_id: str) -> Iterator[None]:
    """Raise catalog and manifest errors inside the block as the ECR exceptions for them."""
    try:
        yield
    except CatalogError as exc:
        raise to_aws(exc, repository=repository, registry_id=registry_id) from None
    except ManifestInvalid as exc:
        raise InvalidParameterException(
            f"Invalid parameter at 'imageManifest' failed to satisfy constraint: '{exc}'"
        ) from None
    except DigestError as exc:
        raise InvalidParameterException(f"Invalid parameter: {exc}") from None


# -- lifecycle policies, image scanning and the pull-through cache ----------------------------------

LifecyclePolicyNotFoundException = modeled("ecr", "LifecyclePolicyNotFoundException")
LifecyclePolicyPreviewInProgressException = modeled("ecr", "LifecyclePolicyPreviewInProgressException")
LifecyclePolicyPreviewNotFoundException = modeled("ecr", "LifecyclePolicyPreviewNotFoundException")
PullThroughCacheRuleAlreadyExistsException = modeled("ecr", "PullThroughCacheRuleAlreadyExistsException")
PullThroughCacheRuleNotFoundException = modeled("ecr", "PullThroughCacheRuleNotFoundException")
ScanNotFoundException = modeled("ecr", "ScanNotFoundException")
SecretNotFoundException = modeled("ecr", "SecretNotFoundException")
UnableToAccessSecretException = modeled("ecr", "UnableToAccessSecretException")
UnsupportedImageTypeException = modeled("ecr", "UnsupportedImageTypeException")
UnsupportedUpstreamRegistryException = modeled("ecr", "UnsupportedUpstreamRegistryException")

__all__ += [
    "LifecyclePolicyNotFoundException",
    "LifecyclePolicyPreviewInProgressException",
    "LifecyclePolicyPreviewNotFoundException",
    "PullThroughCacheRuleAlreadyExistsException",
    "PullThroughCacheRuleNotFoundException",
    "ScanNotFoundException",
    "SecretNotFoundException",
    "UnableToAccessSecretException",
    "UnsupportedImageTypeException",
    "UnsupportedUpstreamRegistryException",
]
