"""Errors of the /v2/ endpoints: `{"errors": [{"code", "message", "detail"}]}` with the status
registry:2 uses for each code, and the translation of the catalog's errors into them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from dockyard.registry.digests import DigestError
from dockyard.registry.manifests import ManifestInvalid
from dockyard.registry.model import (
    BlobsUnknown,
    CatalogError,
    DigestMismatchError,
    ImageNotFound,
    ImageReferencedByIndex,
    ManifestTooLarge,
    ReferencedImagesUnknown,
    RepositoryNotFound,
    TagImmutable,
    TooManyImages,
)

__all__ = ["API_VERSION", "RegistryError", "translate"]

API_VERSION = {"Docker-Distribution-API-Version": "registry/2.0"}

_STATUS = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 400,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "SIZE_INVALID": 400,
    "TAG_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 405,
    "TOOMANYREQUESTS": 429,
    "PAGINATION_NUMBER_INVALID": 400,
    "RANGE_INVALID": 416,
    "UNKNOWN": 500,
}


class RegistryError(Exception):
    """An error answer of the /v2/ endpoints."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        detail: Any = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = detail
        self.status = status or _STATUS[code]
        self.headers = dict(headers or {})

    def response(self, *, head: bool = False) -> web.Response:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            error["detail"] = self.detail
        body = orjson.dumps({"errors": [error]})
        headers = {**API_VERSION, "Content-Type": "application/json; charset=utf-8", **self.headers}
        if head:
            headers["Content-Length"] = str(len(body))
            return web.Response(status=self.status, headers=headers)
        return web.Response(status=self.status, body=body, headers=headers)


def translate(exc: Exception) -> RegistryError | None:
    """The /v2/ error for a catalog or validation error (None: not one of those)."""
    if isinstance(exc, RepositoryNotFound):
        return RegistryError("NAME_UNKNOWN", exc.message, detail={"name": exc.name})
    if isinstance(exc, BlobsUnknown):
        return RegistryError("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", detail=exc.digests[0])
    if isinstance(exc, ReferencedImagesUnknown):
        return RegistryError("MANIFEST_BLOB_UNKNOWN", "manifest unknown to registry", detail=exc.digests[0])
    if isinstance(exc, TagImmutable):
        return RegistryError("TAG_INVALID", exc.message, detail={"tag": exc.tag})
    if isinstance(exc, DigestMismatchError):
        return RegistryError(
            "DIGEST_INVALID",
            "provided digest did not match uploaded content",
            detail={"expected": exc.expected, "actual": exc.actual},
        )
    if isinstance(exc, ManifestTooLarge):
        return RegistryError("SIZE_INVALID", exc.message, status=413)
    if isinstance(exc, ImageNotFound):
        return RegistryError("MANIFEST_UNKNOWN", "manifest unknown", detail={"reference": exc.reference})
    if isinstance(exc, ImageReferencedByIndex):
        return RegistryError("DENIED", exc.message, detail={"parents": exc.parents})
    if isinstance(exc, TooManyImages):
        return RegistryError("DENIED", exc.message)
    if isinstance(exc, ManifestInvalid):
        return RegistryError("MANIFEST_INVALID", "manifest invalid", detail=str(exc))
    if isinstance(exc, DigestError):
        return RegistryError("DIGEST_INVALID", str(exc))
    if isinstance(exc, CatalogError):
        return RegistryError("DENIED", exc.message)
    return None
