"""Pull-through cache: pulling `<prefix>/<repo>:<tag>` fetches the image from an upstream
registry, stores it in a repository of that name (created on first pull) and serves it from then on.

```
/v2/ manifest GET <prefix>/<repo>/manifests/<ref> --> before_pull(scope, name, ref)
   rule: the longest ecrRepositoryPrefix that `name` starts with (`ROOT` matches every name)
   ref a digest already here, or a tag checked upstream less than a day ago -> nothing to do
   else: GET upstream /v2/<upstream prefix>/<repo>/manifests/<ref>   (401 -> Basic or Bearer
         token flow with the rule's credentials) -> index children, then each image's config and
         layers streamed into blob storage -> create the repository -> put_manifest(tags=[ref])
```
Rules are documents (kind `ecr:pull-through-rule`, name = ecrRepositoryPrefix); tag checks are
remembered per `<repo>:<tag>` (kind `ecr:pull-through-sync`). Credentials come from the rule's
Secrets Manager secret ({"username", "accessToken"}) through `SecretReader`.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from dockyard.core.clock import Clock
from dockyard.registry.auth import TokenSigner, basic_credentials
from dockyard.registry.catalog import Catalog
from dockyard.registry.digests import is_digest
from dockyard.registry.manifests import INDEX_TYPES, MANIFEST_TYPES, SCHEMA1_TYPES, parse_manifest
from dockyard.registry.model import CatalogError, RepositoryAlreadyExists, Scope
from dockyard.store import Key, Put, Store, Versioned

__all__ = [
    "PullThroughCache",
    "RULE",
    "SYNC",
    "SecretMissing",
    "SecretReader",
    "UpstreamError",
    "middleware",
    "rule_for",
    "upstream_base",
]

log = logging.getLogger(__name__)

RULE = "ecr:pull-through-rule"
SYNC = "ecr:pull-through-sync"
_RECHECK = 86400.0  # a tag is looked up upstream again at most once a day
_ACCEPT = ", ".join(sorted(MANIFEST_TYPES | INDEX_TYPES))
_CHUNK = 1024 * 1024
_MANIFEST_PATH = re.compile(r"/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)")
SecretReader = Callable[[Scope, str], Awaitable[dict[str, str]]]


class UpstreamError(Exception):
    """The upstream registry could not give what was asked (the message says why)."""


class SecretMissing(UpstreamError):
    """The rule's credential secret does not exist (or holds no username and accessToken)."""


def upstream_base(url: str) -> str:
    """`https://host` for a bare host, `http://` for loopback hosts; a given scheme is kept."""
    if "://" in url:
        return url.rstrip("/")
    host = url.rstrip("/").split("/")[0].rsplit(":", 1)[0].strip("[]")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return f"{'http' if loopback else 'https'}://{url.rstrip('/')}"


async def rule_for(store: Store, scope: Scope, repository: str) -> tuple[Versioned, str] | None:
    """The rule covering `repository` and the repository's name upstream, or None."""
    best: tuple[Versioned, str] | None = None
    for rule in await store.list(RULE, account_id=scope.account_id, region=scope.region):
        prefix = rule.key.name
        if prefix == "ROOT":
            rest = repository
        elif repository.startswith(prefix.rstrip("/") + "/"):
            rest = repository[len(prefix.rstrip("/")) + 1 :]
        else:
            continue
        if best is None or len(prefix) > len(best[0].key.name) or best[0].key.name == "ROOT":
            upstream_prefix = str(rule.value.get("upstreamRepositoryPrefix") or "ROOT")
            path = rest if upstream_prefix == "ROOT" else f"{upstream_prefix.rstrip('/')}/{rest}"
            best = (rule, path)
    return best


class _Upstream:
    """One conversation with an upstream registry about one repository."""

    def __init__(
        self, session: aiohttp.ClientSession, base: str, repository: str, auth: tuple[str, str] | None
    ):
        self.session, self.base, self.repository, self.auth = session, base, repository, auth
        self._header: str | None = None

    async def _authorize(self, challenge: str) -> None:
        scheme, _, params = challenge.partition(" ")
        if scheme.lower() == "basic":
            if self.auth is None:
                raise UpstreamError("the upstream registry requires credentials")
            self._header = "Basic " + base64.b64encode(":".join(self.auth).encode()).decode()
            return
        values = dict(re.findall(r'(\w+)="([^"]*)"', params))
        if scheme.lower() != "bearer" or "realm" not in values:
            raise UpstreamError(f"unsupported upstream challenge: {challenge}")
        query = {k: v for k, v in values.items() if k in ("service", "scope")}
        query.setdefault("scope", f"repository:{self.repository}:pull")
        basic = aiohttp.BasicAuth(*self.auth) if self.auth else None
        async with self.session.get(f"{values['realm']}?{urlencode(query)}", auth=basic) as response:
            if response.status != 200:
                raise UpstreamError(f"the upstream token service answered {response.status}")
            body = await response.json(content_type=None)
        self._header = f"Bearer {body.get('token') or body.get('access_token')}"

    async def get(self, path: str, *, accept: str | None = None) -> aiohttp.ClientResponse:
        url = f"{self.base}/v2/{self.repository}/{path}"
        for _ in range(2):
            headers = {"Accept": accept} if accept else {}
            if self._header:
                headers["Authorization"] = self._header
            response = await self.session.get(url, headers=headers)
            if response.status == 401 and self._header is None and "WWW-Authenticate" in response.headers:
                challenge = response.headers["WWW-Authenticate"]
                response.release()
                await self._authorize(challenge)
                continue
            if response.status != 200:
                response.release()
                raise UpstreamError(f"GET {url} answered {response.status}")
            return response
        raise UpstreamError(f"GET {url}: the upstream registry refused the credentials")


class PullThroughCache:
    def __init__(self, catalog: Catalog, clock: Clock, secrets_reader: SecretReader | None = None) -> None:
        self._catalog = catalog
        self._clock = clock
        self._secrets = secrets_reader
        self._locks: dict[tuple[Scope, str, str], asyncio.Lock] = {}

    async def before_pull(self, scope: Scope, repository: str, reference: str) -> None:
        """Fetch `repository:reference` from upstream when a rule covers it and it is due.
        Failures are logged; the pull then answers from what is stored (404 when nothing)."""
        match = await rule_for(self._catalog.store, scope, repository)
        if match is None:
            return
        lock = self._locks.setdefault((scope, repository, reference), asyncio.Lock())
        async with lock:
            try:
                await self._refresh(scope, repository, reference, *match)
            except (TimeoutError, UpstreamError, aiohttp.ClientError, CatalogError, ValueError) as exc:
                log.warning("pull-through %s:%s: %s", repository, reference, exc)

    async def validate(self, scope: Scope, rule: dict[str, Any]) -> str | None:
        """None when the upstream registry answers /v2/ with the rule's credentials, else why not."""
        try:
            auth = await self.credentials(scope, rule)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                upstream = _Upstream(session, upstream_base(str(rule["upstreamRegistryUrl"])), "", auth)
                async with session.get(f"{upstream.base}/v2/") as response:
                    if response.status == 401 and "WWW-Authenticate" in response.headers:
                        await upstream._authorize(response.headers["WWW-Authenticate"])
                        headers = {"Authorization": upstream._header or ""}
                        async with session.get(f"{upstream.base}/v2/", headers=headers) as again:
                            return (
                                None
                                if again.status == 200
                                else f"The upstream registry answered {again.status}."
                            )
                    return (
                        None
                        if response.status == 200
                        else f"The upstream registry answered {response.status}."
                    )
        except UpstreamError as exc:
            return f"{str(exc)[:1].upper()}{str(exc)[1:]}."
        except (TimeoutError, aiohttp.ClientError) as exc:
            return f"The upstream registry could not be reached: {exc}"

    async def credentials(self, scope: Scope, rule: dict[str, Any]) -> tuple[str, str] | None:
        arn = rule.get("credentialArn")
        if not arn:
            return None
        if self._secrets is None:
            raise UpstreamError("no secrets reader to resolve the rule's credentials")
        secret = await self._secrets(scope, str(arn))
        return str(secret.get("username", "")), str(secret.get("accessToken", ""))

    async def _refresh(
        self, scope: Scope, repository: str, reference: str, rule: Versioned, path: str
    ) -> None:
        catalog, now = self._catalog, self._clock.now()
        sync_key = Key(scope.account_id, scope.region, SYNC, f"{repository}:{reference}")
        if is_digest(reference):
            if await catalog.get_image(scope, repository, reference) is not None:
                return
        else:
            synced = await catalog.store.get(sync_key)
            if synced is not None and now - float(synced.value["syncedAt"]) < _RECHECK:
                if await catalog.tag_digest(scope, repository, reference) is not None:
                    return
        auth = await self.credentials(scope, rule.value)
        base = upstream_base(str(rule.value["upstreamRegistryUrl"]))
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600, sock_read=60)) as session:
            upstream = _Upstream(session, base, path, auth)
            if await catalog.get_repository(scope, repository) is None:
                try:
                    await catalog.create_repository(scope, repository)
                except RepositoryAlreadyExists:
                    pass
            digest = await self._fetch_manifest(scope, repository, upstream, reference, top=True)
        await catalog.store.commit([Put(sync_key, {"syncedAt": now, "imageDigest": digest})])
        log.info("pull-through %s:%s <- %s/%s (%s)", repository, reference, base, path, digest)

    async def _fetch_manifest(
        self, scope: Scope, repository: str, upstream: _Upstream, ref: str, *, top: bool
    ) -> str:
        catalog = self._catalog
        async with await upstream.get(f"manifests/{ref}", accept=_ACCEPT) as response:
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            body = await response.read()
        if media_type in SCHEMA1_TYPES:
            raise UpstreamError(f"{ref}: schema 1 manifests are not supported")
        parsed = parse_manifest(body, media_type or None)
        for child in parsed.manifests:
            if await catalog.get_image(scope, repository, child.digest) is None:
                await self._fetch_manifest(scope, repository, upstream, child.digest, top=False)
        for blob in parsed.blobs():
            if await catalog.blob_in_repository(scope, repository, blob.digest) is not None:
                continue
            info = await catalog.storage.stat(blob.digest)
            if info is None:
                upload = secrets.token_hex(16)
                await catalog.storage.begin(upload)
                try:
                    async with await upstream.get(f"blobs/{blob.digest}") as response:
                        await catalog.storage.write(upload, 0, response.content.iter_chunked(_CHUNK))
                    info = await catalog.storage.commit(upload, blob.digest)
                except BaseException:
                    await catalog.storage.abort(upload)
                    raise
            await catalog.link_blob(scope, repository, info)
        tags = [ref] if top and not is_digest(ref) else []
        result = await catalog.put_manifest(scope, repository, body, media_type=media_type or None, tags=tags)
        return result.image.digest


def middleware(cache: PullThroughCache, signer: TokenSigner) -> Any:
    """An aiohttp middleware that lets the cache fetch a manifest before /v2/ serves it.

    It only reads the caller's registry from a valid token; answering (and refusing) the request
    stays with the /v2/ endpoints."""

    @web.middleware
    async def pull_through(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method in ("GET", "HEAD"):
            match = _MANIFEST_PATH.fullmatch(request.path)
            credentials = basic_credentials(request.headers.get("Authorization")) if match else None
            found = signer.verify(credentials[1]) if credentials and credentials[0] == "AWS" else None
            if match is not None and found is not None:
                await cache.before_pull(found.scope, match.group("name"), match.group("ref"))
        response: web.StreamResponse = await handler(request)
        return response

    return pull_through
