"""Images of public repositories: DescribeImages, DescribeImageTags, BatchDeleteImage.

These read and change the same catalog images the /v2/ endpoints serve; BatchDeleteImage is
ECR's own handler run in the public registry (the same identifiers, failures and rules).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.registry.model import Image, Repository, Scope
from dockyard.services.ecr import images as ecr_images
from dockyard.services.ecr.image_ids import Failure, find, not_found_message
from dockyard.services.ecrpublic.api import api
from dockyard.services.ecrpublic.deps import EcrPublic, public_context, scope_of
from dockyard.services.ecrpublic.errors import (
    ImageNotFoundException,
    InvalidParameterException,
    translated,
)

__all__ = ["batch_delete_image", "describe_image_tags", "describe_images", "image_detail"]

T = TypeVar("T")
_DETAIL = (
    "registryId",
    "repositoryName",
    "imageDigest",
    "imageTags",
    "imageSizeInBytes",
    "imagePushedAt",
    "imageManifestMediaType",
    "artifactMediaType",
)
_REFERENCED = (
    "imageDigest",
    "imageSizeInBytes",
    "imagePushedAt",
    "imageManifestMediaType",
    "artifactMediaType",
)


def image_detail(image: Image) -> dict[str, Any]:
    """ECR Public's `ImageDetail` of an image."""
    shown = image.detail()
    return {k: shown[k] for k in _DETAIL if k in shown}


def _page(items: Sequence[T], key: Callable[[T], Any], request: dict[str, Any]) -> tuple[list[T], str | None]:
    try:
        return paginate(
            items, key=key, max_results=request.get("maxResults"), next_token=request.get("nextToken")
        )
    except InvalidToken:
        raise InvalidParameterException("Invalid parameter at 'nextToken': the token is not valid") from None


async def _repository(ecr: EcrPublic, scope: Scope, name: str) -> Repository:
    with translated(name, scope.account_id):
        return await ecr.catalog.require_repository(scope, name)


@api.operation("DescribeImages")
async def describe_images(ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await _repository(ecr, scope, str(request["repositoryName"]))
    wanted = request.get("imageIds")
    if wanted:
        details: dict[str, dict[str, Any]] = {}
        for image_id in wanted:
            found = await find(ecr.ecr, scope, repo.name, image_id)
            if isinstance(found, Failure):
                if found.code == "ImageNotFound":
                    raise ImageNotFoundException(not_found_message(image_id, repo.name, scope.account_id))
                raise InvalidParameterException(found.reason)
            details.setdefault(found.digest, image_detail(found))
        return {"imageDetails": list(details.values())}
    images = await ecr.catalog.list_images(scope, repo.name)
    page, token = _page(images, lambda i: i.digest, request)
    response: dict[str, Any] = {"imageDetails": [image_detail(i) for i in page]}
    if token:
        response["nextToken"] = token
    return response


@api.operation("DescribeImageTags")
async def describe_image_tags(ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    """Each tag with the image it names; a tag's createdAt is when its image was pushed."""
    scope = scope_of(ctx, request)
    repo = await _repository(ecr, scope, str(request["repositoryName"]))
    rows: list[dict[str, Any]] = []
    for image in await ecr.catalog.list_images(scope, repo.name):
        shown = image.detail()
        referenced = {k: shown[k] for k in _REFERENCED if k in shown}
        rows += [{"imageTag": t, "createdAt": image.pushed_at, "imageDetail": referenced} for t in image.tags]
    rows.sort(key=lambda r: str(r["imageTag"]))
    page, token = _page(rows, lambda r: r["imageTag"], request)
    response: dict[str, Any] = {"imageTagDetails": page}
    if token:
        response["nextToken"] = token
    return response


@api.operation("BatchDeleteImage")
async def batch_delete_image(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> Mapping[str, Any]:
    public_ctx, public_request = public_context(ctx, request)
    scope = scope_of(ctx, request)
    await _repository(ecr, scope, str(request["repositoryName"]))
    return await ecr_images.batch_delete_image(ecr.ecr, public_ctx, public_request)
