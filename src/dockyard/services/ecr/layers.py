"""Layers over the API: InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload,
BatchCheckLayerAvailability, GetDownloadUrlForLayer.

These are the same upload sessions and blob links as the /v2/ endpoints
(`dockyard.registry.uploads`): a layer uploaded here can be pulled with docker, and one pushed
with docker is available here. Parts arrive in order; every part but the last must be at least
5 MiB (checked when the upload completes, as ECR does).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.registry.model import Scope
from dockyard.registry.storage import OffsetMismatch
from dockyard.registry.uploads import UploadNotFound
from dockyard.services.ecr.api import api
from dockyard.services.ecr.deps import Ecr
from dockyard.services.ecr.errors import (
    EmptyUploadException,
    InvalidLayerException,
    InvalidLayerPartException,
    LayerAlreadyExistsException,
    LayerPartTooSmallException,
    LayersNotFoundException,
    UploadNotFoundException,
    translated,
)
from dockyard.services.ecr.resources import repository, scope_of

__all__ = [
    "batch_check_layer_availability",
    "complete_layer_upload",
    "get_download_url_for_layer",
    "initiate_layer_upload",
    "upload_layer_part",
]

PART_SIZE = 10 * 1024 * 1024  # what InitiateLayerUpload suggests
MIN_PART = 5 * 1024 * 1024  # every part but the last
_SHA256 = re.compile(r"sha256:[a-f0-9]{64}")


def _not_found(upload_id: str, name: str, scope: Scope) -> AwsError:
    return UploadNotFoundException(
        f"Upload with id '{upload_id}' could not be found for the repository with name '{name}' in the "
        f"registry with id '{scope.account_id}'"
    )


@api.operation("InitiateLayerUpload")
async def initiate_layer_upload(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    with translated(name, scope.account_id):
        upload_id = await ecr.registry.uploads.begin(scope, name, api=True)
    return {"uploadId": upload_id, "partSize": PART_SIZE}


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


@api.operation("UploadLayerPart")
async def upload_layer_part(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    upload_id = str(request["uploadId"])
    uploads = ecr.registry.uploads
    data = bytes(request["layerPartBlob"])
    first, last = int(request["partFirstByte"]), int(request["partLastByte"])
    try:
        found = await uploads.get(scope, repo.name, upload_id)
        size = await uploads.size(scope, repo.name, upload_id)
        if first != size or last - first + 1 != len(data):
            raise OffsetMismatch(size)
        await uploads.append(scope, repo.name, upload_id, _one(data), offset=first)
    except UploadNotFound:
        raise _not_found(upload_id, repo.name, scope) from None
    except OffsetMismatch as exc:
        raise InvalidLayerPartException(
            f"The layer part for upload with id '{upload_id}' in the repository with name '{repo.name}' in "
            f"the registry with id '{scope.account_id}' must start at byte {exc.size} and hold "
            "partLastByte - partFirstByte + 1 bytes",
            registryId=scope.account_id,
            repositoryName=repo.name,
            uploadId=upload_id,
            lastValidByteReceived=exc.size - 1,
        ) from None
    doc = dict(found.value)
    previous = doc.get("lastPartSize")
    doc["parts"] = int(doc.get("parts", 0)) + 1
    doc["smallPart"] = bool(doc.get("smallPart")) or (previous is not None and int(previous) < MIN_PART)
    doc["lastPartSize"] = len(data)
    await uploads.update(found, doc)
    return {
        "registryId": scope.account_id,
        "repositoryName": repo.name,
        "uploadId": upload_id,
        "lastByteReceived": last,
    }


@api.operation("CompleteLayerUpload")
async def complete_layer_upload(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    upload_id = str(request["uploadId"])
    uploads = ecr.registry.uploads
    where = f"the repository with name '{repo.name}' in the registry with id '{scope.account_id}'"
    try:
        found = await uploads.get(scope, repo.name, upload_id)
        size = await uploads.size(scope, repo.name, upload_id)
        if size == 0:
            raise EmptyUploadException(
                f"The upload with id '{upload_id}' for {where} contains no layer parts"
            )
        if found.value.get("smallPart"):
            raise LayerPartTooSmallException(
                f"Layer parts of the upload with id '{upload_id}' for {where} must be at least {MIN_PART} "
                "bytes, except the last"
            )
        actual = await uploads.digest(scope, repo.name, upload_id)
        if actual not in [str(d) for d in request["layerDigests"]]:
            raise InvalidLayerException(
                f"None of the provided layer digests match the calculated layer digest: {actual}"
            )
        if await ecr.catalog.blob_link(scope, repo.name, actual) is not None:
            await uploads.cancel(scope, repo.name, upload_id)
            raise LayerAlreadyExistsException(f"The layer '{actual}' already exists in {where}")
        await uploads.finish(scope, repo.name, upload_id, actual)
    except UploadNotFound:
        raise _not_found(upload_id, repo.name, scope) from None
    return {
        "registryId": scope.account_id,
        "repositoryName": repo.name,
        "uploadId": upload_id,
        "layerDigest": actual,
    }


@api.operation("BatchCheckLayerAvailability")
async def batch_check_layer_availability(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    layers: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for digest in (str(d) for d in request["layerDigests"]):
        if not _SHA256.fullmatch(digest):
            failures.append(
                {
                    "layerDigest": digest,
                    "failureCode": "InvalidLayerDigest",
                    "failureReason": f"Invalid layer digest '{digest}'",
                }
            )
            continue
        blob = await ecr.catalog.blob_in_repository(scope, repo.name, digest)
        if blob is None:
            failures.append(
                {
                    "layerDigest": digest,
                    "failureCode": "MissingLayerDigest",
                    "failureReason": f"Layer digest '{digest}' could not be found",
                }
            )
            continue
        layers.append({"layerDigest": digest, "layerAvailability": "AVAILABLE", "layerSize": blob.size})
    return {"layers": layers, "failures": failures}


@api.operation("GetDownloadUrlForLayer")
async def get_download_url_for_layer(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    digest = str(request["layerDigest"])
    if await ecr.catalog.blob_in_repository(scope, repo.name, digest) is None:
        raise LayersNotFoundException(
            f"The layer with digest {digest} does not exist within the repository with name "
            f"'{repo.name}' in the registry with id '{scope.account_id}'"
        )
    return {"downloadUrl": ecr.registry.downloads.url(scope, repo.name, digest), "layerDigest": digest}
