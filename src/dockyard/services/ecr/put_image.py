"""PutImage: the API form of a manifest push, through the same `Catalog.put_manifest` as the
v2 PUT (so immutability, blob and child checks are the same), plus PutImage's own rule that a
push changing nothing is ImageAlreadyExistsException."""

from __future__ import annotations

import json
import re
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ecr.api import api
from dockyard.services.ecr.deps import Ecr
from dockyard.services.ecr.errors import InvalidParameterException, translated
from dockyard.services.ecr.resources import scope_of

__all__ = ["put_image"]

_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,299}")


def _media_type(request: dict[str, Any]) -> str:
    given = request.get("imageManifestMediaType")
    if given:
        return str(given)
    try:
        declared = json.loads(str(request["imageManifest"])).get("mediaType")
    except (ValueError, AttributeError):
        declared = None
    if not isinstance(declared, str) or not declared:
        raise InvalidParameterException(
            "Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: 'image "
            "manifest mediatype not provided in manifest or parameter'"
        )
    return declared


@api.operation("PutImage")
async def put_image(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    tag = request.get("imageTag")
    if tag is not None and not _TAG.fullmatch(str(tag)):
        raise InvalidParameterException(
            "Invalid parameter at 'imageTag' failed to satisfy constraint: 'must satisfy regular "
            "expression '[a-zA-Z0-9_][a-zA-Z0-9._-]{0,299}''"
        )
    manifest = str(request["imageManifest"])
    media_type = _media_type(request)
    with translated(name, scope.account_id):
        result = await ecr.catalog.put_manifest(
            scope,
            name,
            manifest.encode(),
            media_type=media_type,
            digest=request.get("imageDigest"),
            tags=[str(tag)] if tag else [],
            strict=True,
        )
    image_id = {"imageDigest": result.image.digest}
    if tag:
        image_id["imageTag"] = str(tag)
    return {
        "image": {
            "registryId": scope.account_id,
            "repositoryName": name,
            "imageId": image_id,
            "imageManifest": manifest,
            "imageManifestMediaType": result.image.media_type,
        }
    }
