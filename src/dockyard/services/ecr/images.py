"""Images: ListImages, DescribeImages, BatchGetImage, BatchDeleteImage.

DescribeImages shows every `ImageDetail` member an image document carries, so state other
modules record on images (scan status and findings summary, for instance) appears without this
module knowing about it. An index's children are images of their own (usually untagged).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.registry.model import Image, ImageNotFound, ImageReferencedByIndex, Scope
from dockyard.services.ecr.api import api
from dockyard.services.ecr.deps import Ecr
from dockyard.services.ecr.errors import ImageNotFoundException, InvalidParameterException
from dockyard.services.ecr.image_ids import Failure, failure, find, not_found_message
from dockyard.services.ecr.resources import repository, scope_of

__all__ = ["batch_delete_image", "batch_get_image", "describe_images", "list_images"]

T = TypeVar("T")


def _tag_status(request: dict[str, Any]) -> str:
    return str((request.get("filter") or {}).get("tagStatus") or "ANY")


def _matches(image: Image, status: str) -> bool:
    return status == "ANY" or (status == "TAGGED") == bool(image.tags)


def _page(items: Sequence[T], key: Callable[[T], Any], request: dict[str, Any]) -> tuple[list[T], str | None]:
    try:
        return paginate(
            items, key=key, max_results=request.get("maxResults"), next_token=request.get("nextToken")
        )
    except InvalidToken:
        raise InvalidParameterException("Invalid parameter at 'nextToken': the token is not valid") from None


@api.operation("ListImages")
async def list_images(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    status = _tag_status(request)
    ids: list[dict[str, str]] = []
    for image in await ecr.catalog.list_images(scope, repo.name):
        if not _matches(image, status):
            continue
        if image.tags:
            ids += [{"imageDigest": image.digest, "imageTag": tag} for tag in sorted(image.tags)]
        else:
            ids.append({"imageDigest": image.digest})
    page, token = _page(ids, lambda i: [i["imageDigest"], i.get("imageTag", "")], request)
    response: dict[str, Any] = {"imageIds": page}
    if token:
        response["nextToken"] = token
    return response


@api.operation("DescribeImages")
async def describe_images(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    wanted = request.get("imageIds")
    if wanted:
        details: dict[str, dict[str, Any]] = {}
        for image_id in wanted:
            found = await find(ecr, scope, repo.name, image_id)
            if isinstance(found, Failure):
                if found.code == "ImageNotFound":
                    raise ImageNotFoundException(not_found_message(image_id, repo.name, scope.account_id))
                raise InvalidParameterException(found.reason)
            details.setdefault(found.digest, found.detail())
        return {"imageDetails": list(details.values())}
    status = _tag_status(request)
    images = [i for i in await ecr.catalog.list_images(scope, repo.name) if _matches(i, status)]
    page, token = _page(images, lambda i: i.digest, request)
    response: dict[str, Any] = {"imageDetails": [i.detail() for i in page]}
    if token:
        response["nextToken"] = token
    return response


def _accepted(request: dict[str, Any]) -> set[str] | None:
    types = request.get("acceptedMediaTypes")
    return {str(t) for t in types} if types else None


@api.operation("BatchGetImage")
async def batch_get_image(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    accepted = _accepted(request)
    images: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for image_id in request["imageIds"]:
        found = await find(ecr, scope, repo.name, image_id)
        if isinstance(found, Failure):
            failures.append(failure(image_id, found))
            continue
        if accepted is not None and found.media_type not in accepted:
            reason = (
                f"The image's manifest media type {found.media_type} is not among the accepted media types"
            )
            failures.append(failure(image_id, Failure("ImageNotFound", reason)))
            continue
        manifest = await ecr.catalog.read_manifest(found)
        await ecr.catalog.record_pull(found)
        shown = {"imageDigest": found.digest}
        if image_id.get("imageTag"):
            shown["imageTag"] = str(image_id["imageTag"])
        images.append(
            {
                "registryId": scope.account_id,
                "repositoryName": repo.name,
                "imageId": shown,
                "imageManifest": manifest.decode("utf-8", errors="replace"),
                "imageManifestMediaType": found.media_type,
            }
        )
    return {"images": images, "failures": failures}


@api.operation("BatchDeleteImage")
async def batch_delete_image(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    deleted: list[dict[str, str]] = []
    failures: list[dict[str, Any]] = []
    for image_id in request["imageIds"]:
        found = await find(ecr, scope, repo.name, image_id)
        if isinstance(found, Failure):
            failures.append(failure(image_id, found))
            continue
        try:
            deleted += await _delete_one(ecr, scope, found, image_id)
        except ImageReferencedByIndex as exc:
            reason = "Requested image referenced by manifest list: [" + ", ".join(exc.parents) + "]"
            failures.append(failure(image_id, Failure("ImageReferencedByManifestList", reason)))
        except ImageNotFound:
            failures.append(failure(image_id, Failure("ImageNotFound", "Requested image not found")))
    return {"imageIds": deleted, "failures": failures}


async def _delete_one(ecr: Ecr, scope: Scope, image: Image, image_id: dict[str, Any]) -> list[dict[str, str]]:
    """Delete what `image_id` names: by tag only, that tag (the image goes with its last tag);
    by digest, the image and every tag. Returns the ids removed."""
    catalog = ecr.catalog
    tag = image_id.get("imageTag")
    if tag and not image_id.get("imageDigest") and len(image.tags) > 1:
        await catalog.untag(scope, image.repository, str(tag))
        return [{"imageDigest": image.digest, "imageTag": str(tag)}]
    if image.parents:
        raise ImageReferencedByIndex("referenced", image.digest, image.parents)
    await catalog.delete_image(scope, image.repository, image.digest)
    if tag:
        return [{"imageDigest": image.digest, "imageTag": str(tag)}]
    if image.tags:
        return [{"imageDigest": image.digest, "imageTag": t} for t in image.tags]
    return [{"imageDigest": image.digest}]
