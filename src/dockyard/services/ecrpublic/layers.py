"""The API push path into public repositories: InitiateLayerUpload, UploadLayerPart,
CompleteLayerUpload, BatchCheckLayerAvailability and PutImage.

Each is ECR's own handler (`dockyard.services.ecr.layers`, `.put_image`) run in the public
registry: the same upload sessions, blob links and `Catalog.put_manifest`, so an image pushed
this way is pulled anonymously from the public host, and one pushed with docker is seen here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ecr import layers as ecr_layers
from dockyard.services.ecr import put_image as ecr_put_image
from dockyard.services.ecrpublic.api import api
from dockyard.services.ecrpublic.deps import EcrPublic, public_context

__all__ = [
    "batch_check_layer_availability",
    "complete_layer_upload",
    "initiate_layer_upload",
    "put_image",
    "upload_layer_part",
]


@api.operation("InitiateLayerUpload")
async def initiate_layer_upload(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> Mapping[str, Any]:
    return await ecr_layers.initiate_layer_upload(ecr.ecr, *public_context(ctx, request))


@api.operation("UploadLayerPart")
async def upload_layer_part(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> Mapping[str, Any]:
    return await ecr_layers.upload_layer_part(ecr.ecr, *public_context(ctx, request))


@api.operation("CompleteLayerUpload")
async def complete_layer_upload(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> Mapping[str, Any]:
    return await ecr_layers.complete_layer_upload(ecr.ecr, *public_context(ctx, request))


@api.operation("BatchCheckLayerAvailability")
async def batch_check_layer_availability(
    ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]
) -> Mapping[str, Any]:
    return await ecr_layers.batch_check_layer_availability(ecr.ecr, *public_context(ctx, request))


@api.operation("PutImage")
async def put_image(ecr: EcrPublic, ctx: RequestContext, request: dict[str, Any]) -> Mapping[str, Any]:
    return await ecr_put_image.put_image(ecr.ecr, *public_context(ctx, request))
