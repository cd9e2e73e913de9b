"""ECR `ImageIdentifier`s: checking them and finding the images they name.

An identifier has an imageDigest, an imageTag or both; with both, the tag must point at the
digest. Batch operations report a bad identifier as a failure (code and reason as ECR words
them) instead of failing the call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dockyard.registry.model import Image, Scope
from dockyard.services.ecr.deps import Ecr

__all__ = ["Failure", "describe_id", "failure", "find", "not_found_message"]

_DIGEST = re.compile(r"[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+")


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    reason: str


def failure(image_id: dict[str, Any], problem: Failure) -> dict[str, Any]:
    """One `ImageFailure` entry."""
    return {"imageId": dict(image_id), "failureCode": problem.code, "failureReason": problem.reason}


def describe_id(image_id: dict[str, Any]) -> str:
    """How ECR's messages show an image id: {imageDigest:'x', imageTag:'null'}."""
    return (
        f"{{imageDigest:'{image_id.get('imageDigest') or 'null'}', "
        f"imageTag:'{image_id.get('imageTag') or 'null'}'}}"
    )


def not_found_message(image_id: dict[str, Any], repository: str, registry_id: str) -> str:
    return (
        f"The image with imageId {describe_id(image_id)} does not exist within the repository with "
        f"name '{repository}' in the registry with id '{registry_id}'"
    )


async def find(ecr: Ecr, scope: Scope, repository: str, image_id: dict[str, Any]) -> Image | Failure:
    """The image `image_id` names, or why there is none."""
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    if not digest and not tag:
        return Failure(
            "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null"
        )
    if digest and not _DIGEST.fullmatch(str(digest)):
        return Failure(
            "InvalidImageDigest",
            "Invalid request parameters: image digest should satisfy the regex "
            "'[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
        )
    catalog = ecr.catalog
    if tag:
        tagged = await catalog.tag_digest(scope, repository, str(tag))
        if tagged is None:
            return Failure("ImageNotFound", "Requested image not found")
        if digest and tagged != digest:
            return Failure(
                "ImageTagDoesNotMatchDigest", "Invalid request parameters: image tag and digest do not match"
            )
        digest = tagged
    image = await catalog.get_image(scope, repository, str(digest))
    if image is None:
        return Failure("ImageNotFound", "Requested image not found")
    return image
