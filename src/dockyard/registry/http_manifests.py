"""/v2/ manifests, tags, referrers and the catalog.

```
HEAD|GET   manifests/<tag|digest>      200, the exact bytes pushed; 404 MANIFEST_UNKNOWN (also when
                                       Accept excludes the stored media type)
PUT        manifests/<tag|digest>      201 (+ ?tag=a&tag=b on a digest); checks in Catalog.put_manifest
DELETE     manifests/<tag|digest>      202: a tag is removed; a digest deletes the image and its tags
GET        tags/list?n=&last=          lexical order, Link to the next page
GET        referrers/<digest>          an OCI index of the manifests whose subject it is
GET        _catalog?n=&last=           repositories of the registry
```
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from multidict import CIMultiDict

from dockyard.registry.digests import DigestError, is_digest, parse_digest, valid_tag
from dockyard.registry.http_errors import API_VERSION, RegistryError
from dockyard.registry.http_routes import RegistryHttp, V2Request
from dockyard.registry.manifests import MAX_MANIFEST_BYTES, OCI_INDEX, base_media_type

__all__ = ["register"]


def register(http: RegistryHttp) -> None:
    http.endpoint("manifests", "GET", "HEAD")(get_manifest)
    http.endpoint("manifests", "PUT")(put_manifest)
    http.endpoint("manifests", "DELETE")(delete_manifest)
    http.endpoint("tags", "GET")(list_tags)
    http.endpoint("referrers", "GET")(referrers)
    http.endpoint("catalog", "GET")(catalog)


def _reference(ref: str, *, for_put: bool = False) -> tuple[str | None, str | None]:
    """(digest, tag) named by a manifest reference; one of them is None."""
    if is_digest(ref):
        try:
            return str(parse_digest(ref)), None
        except DigestError as exc:
            raise RegistryError("DIGEST_INVALID", "provided digest is invalid", detail=ref[:200]) from exc
    if valid_tag(ref):
        return None, ref
    if for_put:
        raise RegistryError("TAG_INVALID", "manifest tag did not match URI", detail={"tag": ref[:200]})
    raise RegistryError("MANIFEST_UNKNOWN", "manifest unknown", detail={"reference": ref[:200]})


def _acceptable(request: web.Request, media_type: str) -> bool:
    accepted = [
        base_media_type(part) for part in request.headers.getall("Accept", []) for part in part.split(",")
    ]
    accepted = [a for a in accepted if a]
    return not accepted or media_type in accepted or "*/*" in accepted


async def get_manifest(http: RegistryHttp, req: V2Request) -> web.StreamResponse:
    _reference(req.arg)
    catalog = http.catalog
    await catalog.require_repository(req.scope, req.name)
    image = await catalog.resolve(req.scope, req.name, req.arg)
    if image is None:
        raise RegistryError("MANIFEST_UNKNOWN", "manifest unknown", detail={"reference": req.arg})
    if not _acceptable(req.http, image.media_type):
        raise RegistryError(
            "MANIFEST_UNKNOWN",
            f"The manifest is a {image.media_type}, which the Accept header does not include",
            detail={"reference": req.arg},
        )
    headers = {
        **API_VERSION,
        "Content-Type": image.media_type,
        "Docker-Content-Digest": image.digest,
        "ETag": f'"{image.digest}"',
    }
    if req.head:
        headers["Content-Length"] = str(image.manifest_size)
        return web.Response(status=200, headers=headers)
    body = await catalog.read_manifest(image)
    await catalog.record_pull(image)
    return web.Response(status=200, body=body, headers=headers)


async def _read_limited(request: web.Request) -> bytes:
    declared = request.content_length
    if declared is not None and declared > MAX_MANIFEST_BYTES:
        raise RegistryError("SIZE_INVALID", f"manifest larger than {MAX_MANIFEST_BYTES} bytes", status=413)
    body = bytearray()
    async for chunk in request.content.iter_chunked(256 * 1024):
        body += chunk
        if len(body) > MAX_MANIFEST_BYTES:
            raise RegistryError(
                "SIZE_INVALID", f"manifest larger than {MAX_MANIFEST_BYTES} bytes", status=413
            )
    return bytes(body)


async def put_manifest(http: RegistryHttp, req: V2Request) -> web.StreamResponse:
    digest, tag = _reference(req.arg, for_put=True)
    extra = req.http.query.getall("tag", [])
    for name in extra:
        if not valid_tag(name):
            raise RegistryError("TAG_INVALID", "invalid tag", detail={"tag": name[:200]})
    await http.catalog.require_repository(req.scope, req.name)
    body = await _read_limited(req.http)
    result = await http.catalog.put_manifest(
        req.scope,
        req.name,
        body,
        media_type=req.http.headers.get("Content-Type"),
        digest=digest,
        tags=[tag] if tag else extra,
    )
    image = result.image
    headers: CIMultiDict[str] = CIMultiDict(
        {
            **API_VERSION,
            "Location": f"/v2/{req.path_name}/manifests/{image.digest}",
            "Docker-Content-Digest": image.digest,
            "Content-Length": "0",
        }
    )
    if image.subject:
        headers["OCI-Subject"] = image.subject
    if digest is not None:
        for name in extra:
            headers.add("OCI-Tag", name)
    return web.Response(status=201, headers=headers)


async def delete_manifest(http: RegistryHttp, req: V2Request) -> web.StreamResponse:
    digest, tag = _reference(req.arg)
    await http.catalog.require_repository(req.scope, req.name)
    if tag is not None:
        await http.catalog.untag(req.scope, req.name, tag)
    else:
        assert digest is not None
        await http.catalog.delete_image(req.scope, req.name, digest)
    return web.Response(status=202, headers={**API_VERSION, "Content-Length": "0"})


def _page(request: web.Request, names: list[str]) -> tuple[list[str], int | None]:
    """The page of `names` (sorted) that `n` and `last` select, and `n`."""
    raw = request.query.get("n")
    limit: int | None = None
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            limit = -1
        if limit < 0:
            raise RegistryError("PAGINATION_NUMBER_INVALID", "invalid number of results requested")
    last = request.query.get("last")
    if last is not None:
        names = [n for n in names if n > last]
    if limit is None:
        return names, None
    page = names[:limit]
    return page, limit if len(names) > limit and limit > 0 else None


def _json(body: Any, headers: dict[str, str]) -> web.Response:
    return web.Response(
        status=200,
        body=orjson.dumps(body),
        headers={**API_VERSION, "Content-Type": "application/json", **headers},
    )


async def list_tags(http: RegistryHttp, req: V2Request) -> web.StreamResponse:
    await http.catalog.require_repository(req.scope, req.name)
    page, more = _page(req.http, await http.catalog.list_tags(req.scope, req.name))
    headers = {}
    if more is not None and page:
        headers["Link"] = f'</v2/{req.path_name}/tags/list?n={more}&last={page[-1]}>; rel="next"'
    return _json({"name": req.path_name, "tags": page}, headers)


async def referrers(http: RegistryHttp, req: V2Request) -> web.StreamResponse:
    try:
        digest = str(parse_digest(req.arg))
    except DigestError as exc:
        raise RegistryError("DIGEST_INVALID", "provided digest is invalid", detail=req.arg[:200]) from exc
    await http.catalog.require_repository(req.scope, req.name)
    wanted = req.http.query.get("artifactType")
    manifests = []
    for image in sorted(await http.catalog.referrers(req.scope, req.name, digest), key=lambda i: i.digest):
        artifact_type = image.doc.get("dockyard", {}).get("artifactType") or image.artifact_type
        if wanted is not None and artifact_type != wanted:
            continue
        descriptor: dict[str, Any] = {
            "mediaType": image.media_type,
            "digest": image.digest,
            "size": image.manifest_size,
        }
        if artifact_type:
            descriptor["artifactType"] = artifact_type
        annotations = image.doc.get("dockyard", {}).get("annotations")
        if annotations:
            descriptor["annotations"] = annotations
        manifests.append(descriptor)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    headers = {"Content-Type": OCI_INDEX}
    if wanted is not None:
        headers["OCI-Filters-Applied"] = "artifactType"
    response = _json(index, {})
    response.headers.update(headers)
    return response


async def catalog(http: RegistryHttp, req: V2Request) -> web.StreamResponse:
    names = [r.name for r in await http.catalog.list_repositories(req.scope)]
    page, more = _page(req.http, names)
    headers = {}
    if more is not None and page:
        headers["Link"] = f'</v2/_catalog?n={more}&last={page[-1]}>; rel="next"'
    return _json({"repositories": page}, headers)
