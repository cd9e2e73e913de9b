"""Layer download URLs (GetDownloadUrlForLayer): signed, expiring links served by this server.

ECR answers with a presigned S3 URL; Dockyard answers with

    <endpoint>/_dockyard/ecr/layers/<base64url {a, r, n, d, e}>.<base64url HMAC-SHA256>

which anyone holding it can GET (with Range) until it expires, an hour after it was made, as
long as the repository still has the layer. A bad or expired link is a 403, as S3's would be.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from aiohttp import web

from dockyard.core.clock import Clock
from dockyard.registry.catalog import Catalog
from dockyard.registry.http_blobs import BlobFileResponse
from dockyard.registry.model import Scope

__all__ = ["DOWNLOAD_LIFETIME", "DownloadLinks"]

DOWNLOAD_LIFETIME = 3600.0
_PATH = "/_dockyard/ecr/layers/"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class DownloadLinks:
    def __init__(self, catalog: Catalog, secret_key: bytes, clock: Clock, *, endpoint: str) -> None:
        self._catalog = catalog
        self._key = hmac.new(secret_key, b"dockyard layer downloads v1", hashlib.sha256).digest()
        self._clock = clock
        self._endpoint = endpoint.rstrip("/")

    def url(self, scope: Scope, repository: str, digest: str) -> str:
        """A link to `repository`'s layer `digest`, good for an hour."""
        claims = {
            "a": scope.account_id,
            "r": scope.region,
            "n": repository,
            "d": digest,
            "e": int(self._clock.now() + DOWNLOAD_LIFETIME),
        }
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{self._endpoint}{_PATH}{body}.{self._sign(body)}"

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def _claims(self, token: str) -> dict[str, Any] | None:
        body, _, signature = token.partition(".")
        if not hmac.compare_digest(self._sign(body), signature):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(claims, dict) or float(claims.get("e", 0)) <= self._clock.now():
            return None
        return claims

    def install(self, app: web.Application) -> None:
        app.router.add_get(_PATH + "{token}", self.serve)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        claims = self._claims(request.match_info["token"])
        if claims is None:
            return web.Response(status=403, text="Request has expired or its signature does not match.\n")
        scope = Scope(str(claims["a"]), str(claims["r"]))
        digest = str(claims["d"])
        blob = await self._catalog.blob_in_repository(scope, str(claims["n"]), digest)
        path = self._catalog.blob_path(digest)
        if blob is None or path is None:
            return web.Response(status=404, text="The layer no longer exists.\n")
        headers = {"Content-Type": "application/octet-stream", "Docker-Content-Digest": digest}
        return BlobFileResponse(path, digest, headers)
