"""/v2/<name>/blobs/...: blob reads and deletes, and upload sessions.

```
HEAD|GET   blobs/<digest>              200 (206 with Range; sendfile), 404 BLOB_UNKNOWN
DELETE     blobs/<digest>              202 (only while no image of the repository uses it)
POST       blobs/uploads/              202 session | ?digest= 201 monolithic | ?mount=&from= 201
PATCH      blobs/uploads/<id>          202 (Content-Range optional: start must be the size, else 416)
PUT        blobs/uploads/<id>?digest=  201 (the body, if any, is the last chunk)
GET        blobs/uploads/<id>          204 with Range          DELETE  blobs/uploads/<id>  204
```
Bodies stream through `Uploads.append` in bounded buffers; nothing here holds a blob in memory.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from aiohttp import web

from dockyard.registry.digests import DigestError, parse_digest
from dockyard.registry.http_errors import API_VERSION, RegistryError
from dockyard.registry.http_routes import RegistryHttp, V2Request
from dockyard.registry.storage import DigestMismatch, OffsetMismatch
from dockyard.registry.uploads import UploadNotFound

__all__ = ["BlobFileResponse", "register"]

_CHUNK = 1024 * 1024
_CONTENT_RANGE = re.compile(r"(?:bytes[ =])?(\d+)-(\d+)(?:/(?:\d+|\*))?")


class BlobFileResponse(web.FileResponse):
    """aiohttp's FileResponse (sendfile, Range, 416) with the blob's digest as its ETag."""

    def __init__(self, path: Any, digest: str, headers: dict[str, str]) -> None:
        super().__init__(path, headers=headers)
        self._digest_etag = f'"{digest}"'

    @property
    def etag(self) -> Any:
        return self._digest_etag

    @etag.setter
    def etag(self, value: Any) -> None:
        self.headers["ETag"] = self._digest_etag


def register(http: RegistryHttp) -> None:
    http.endpoint("blobs", "GET", "HEAD")(get_blob)
    http.endpoint("blobs", "DELETE")(delete_blob)
    http.endpoint("uploads", "POST")(start_upload)
    http.endpoint("uploads", "PATCH")(patch_upload)
    http.endpoint("uploads", "PUT")(finish_upload)
    http.endpoint("uploads", "GET")(upload_status)
    http.endpoint("uploads", "DELETE")(cancel_upload)


def _digest(value: str) -> str:
    try:
        return str(parse_digest(value))
    except DigestError as exc:
        message = "unsupported digest algorithm" if exc.unsupported else "provided digest is invalid"
        raise RegistryError("DIGEST_INVALID", message, detail=value[:200]) from exc


# -- blobs ---------------------------------------------------------------------------------------


async def get_blob(http: RegistryHttp, req: V2Request) -> web.StreamResponse:
    digest = _digest(req.arg)
    catalog = http.catalog
    await catalog.require_repository(req.scope, req.name)
    blob = await catalog.blob_in_repository(req.scope, req.name, digest)
    if blob is None:
        raise RegistryError("BLOB_UNKNOWN", "blob unknown to registry", detail=digest)
    headers = {
        **API_VERSION,
        "Docker-Content-Digest": digest,
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
        "ETag": f'"{digest}"',
        "Cache-Control": "max-age=31536000",
    }
    if req.head:
        headers["Content-Length"] = str(blob.size)
        return web.Response(status=200, headers=headers)
    path = catalog.blob_path(digest)
    if path is not None:
        return BlobFileResponse(path, digest, headers)
    return await _stream_blob(http, req, digest, blob.size, headers)


async def _stream_blob(
    http: RegistryHttp, req: V2Request, digest: str, size: int, headers: dict[str, str]
) -> web.StreamResponse:
    """Serve a blob from a backend without local files (Range handled here)."""
    start, end = 0, size - 1
    status = 200
    try:
        ranged = req.http.http_range
    except ValueError:
        raise RegistryError(
            "RANGE_INVALID", "invalid range", headers={"Content-Range": f"bytes */{size}"}
        ) from None
    if ranged.start is not None or ranged.stop is not None:
        start = ranged.start if ranged.start is not None else 0
        if start < 0:
            start = max(size + start, 0)
        end = min((ranged.stop if ranged.stop is not None else size) - 1, size - 1)
        if start >= size:
            raise RegistryError(
                "RANGE_INVALID", "invalid range", headers={"Content-Range": f"bytes */{size}"}
            )
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = end - start + 1
    await response.prepare(req.http)
    async for chunk in http.catalog.read_blob(digest, start, end - start + 1):
        await response.write(chunk)
    await response.write_eof()
    return response


async def delete_blob(http: RegistryHttp, req: V2Request) -> web.StreamResponse:
    digest = _digest(req.arg)
    catalog = http.catalog
    await catalog.require_repository(req.scope, req.name)
    link = await catalog.blob_link(req.scope, req.name, digest)
    if link is None:
        raise RegistryError("BLOB_UNKNOWN", "blob unknown to registry", detail=digest)
    for image in await catalog.list_images(req.scope, req.name):
        used = [d.digest for d in image.layers] + ([image.config.digest] if image.config else [])
        if digest in used:
            raise RegistryError(
                "UNSUPPORTED",
                f"The blob is used by image {image.digest}; delete the image first.",
                status=405,
            )
    await catalog.store.delete(link.key, expected_revision=link.revision)
    return web.Response(status=202, headers={**API_VERSION, "Content-Length": "0"})


# -- uploads -------------------------------------------------------------------------------------


def _location(req: V2Request, upload_id: str) -> str:
    return f"/v2/{req.path_name}/blobs/uploads/{upload_id}"


def _range(size: int) -> str:
    return f"0-{max(size - 1, 0)}"


def _session(req: V2Request, upload_id: str, size: int, status: int) -> web.Response:
    return web.Response(
        status=status,
        headers={
            **API_VERSION,
            "Location": _location(req, upload_id),
            "Range": _range(size),
            "Docker-Upload-UUID": upload_id,
            "Content-Length": "0",
        },
    )


def _created(req: V2Request, digest: str) -> web.Response:
    return web.Response(
        status=201,
        headers={
            **API_VERSION,
            "Location": f"/v2/{req.path_name}/blobs/{digest}",
            "Docker-Content-Digest": digest,
            "Content-Length": "0",
        },
    )


def _body(req: V2Request) -> AsyncIterator[bytes]:
    return req.http.content.iter_chunked(_CHUNK)


async def start_upload(http: RegistryHttp, req: V2Request) -> web.StreamResponse:
    query = req.http.query
    await http.catalog.require_repository(req.scope, req.name)
    mount = query.get("mount")
    if mount is not None:
        try:
            digest = str(parse_digest(mount))
        except DigestError:
            digest = ""
        if digest:
            blob = await http.uploads.mount(req.scope, req.name, digest, query.get("from"))
            if blob is not None:
                return _created(req, digest)
    upload_id = await http.uploads.begin(req.scope, req.name)
    if "digest" in query:
        digest = _digest(query["digest"])
        return await _complete(http, req, upload_id, digest, with_body=True)
    return _session(req, upload_id, 0, 202)


def _content_range(req: V2Request) -> int | None:
    """The start offset a PATCH names in Content-Range (None when it names none)."""
    value = req.http.headers.get("Content-Range")
    if not value:
        return None
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if match is None:
        raise RegistryError("RANGE_INVALID", "invalid Content-Range", detail=value[:100])
    start, end = int(match.group(1)), int(match.group(2))
    if end < start:
        raise RegistryError("RANGE_INVALID", "invalid Content-Range", detail=value[:100])
    return start


async def _append(http: RegistryHttp, req: V2Request, offset: int | None) -> int:
    try:
        return await http.uploads.append(req.scope, req.name, req.arg, _body(req), offset=offset)
    except OffsetMismatch as exc:
        raise RegistryError(
            "RANGE_INVALID",
            "the chunk does not start where the upload ends",
            status=416,
            headers={
                "Location": _location(req, req.arg),
                "Range": _range(exc.size),
                "Docker-Upload-UUID": req.arg,
            },
        ) from None
    except UploadNotFound:
        raise _unknown_upload(req) from None


def _unknown_upload(req: V2Request) -> RegistryError:
    return RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", detail={"uuid": req.arg})


async def patch_upload(http: RegistryHttp, req: V2Request) -> web.StreamResponse:
    await http.catalog.require_repository(req.scope, req.name)
    size = await _append(http, req, _content_range(req))
    return _session(req, req.arg, size, 202)


async def finish_upload(http: RegistryHttp, req: V2Request) -> web.StreamResponse:
    await http.catalog.require_repository(req.scope, req.name)
    value = req.http.query.get("digest")
    if value is None:
        raise RegistryError("DIGEST_INVALID", "a digest parameter is required to finish an upload")
    digest = _digest(value)
    return await _complete(http, req, req.arg, digest, with_body=True, offset=_content_range(req))


async def _complete(
    http: RegistryHttp,
    req: V2Request,
    upload_id: str,
    digest: str,
    *,
    with_body: bool,
    offset: int | None = None,
) -> web.StreamResponse:
    target = replace(req, arg=upload_id)
    if with_body and req.http.body_exists:
        await _append(http, target, offset)
    try:
        await http.uploads.finish(req.scope, req.name, upload_id, digest)
    except UploadNotFound:
        raise _unknown_upload(target) from None
    except DigestMismatch as exc:
        raise RegistryError(
            "DIGEST_INVALID",
            "provided digest did not match uploaded content",
            detail={"expected": exc.expected, "actual": exc.actual},
        ) from None
    return _created(req, digest)


async def upload_status(http: RegistryHttp, req: V2Request) -> web.StreamResponse:
    await http.catalog.require_repository(req.scope, req.name)
    try:
        size = await http.uploads.size(req.scope, req.name, req.arg)
    except UploadNotFound:
        raise _unknown_upload(req) from None
    return _session(req, req.arg, size, 204)


async def cancel_upload(http: RegistryHttp, req: V2Request) -> web.StreamResponse:
    await http.catalog.require_repository(req.scope, req.name)
    try:
        await http.uploads.cancel(req.scope, req.name, req.arg)
    except UploadNotFound:
        raise _unknown_upload(req) from None
    return web.Response(status=204, headers={**API_VERSION, "Content-Length": "0"})
