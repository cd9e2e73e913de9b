"""The /v2/ front door: authenticate, take the path apart, call the endpoint, shape errors.

```
/v2/                                         base (200 once authenticated)
/v2/_catalog                                 repositories of the token's registry
/v2/<name>/blobs/uploads/[<id>]              upload sessions      (http_blobs)
/v2/<name>/blobs/<digest>                    blobs                (http_blobs)
/v2/<name>/manifests/<tag|digest>            manifests            (http_manifests)
/v2/<name>/tags/list                         tags                 (http_manifests)
/v2/<name>/referrers/<digest>                referrers            (http_manifests)
```
Names contain '/', so the path is matched on its suffix and everything before it is the name.
Every request needs a token from GetAuthorizationToken as its Basic password (401 otherwise);
the token names the registry (account and Region) the request works in. A request whose Host is
an ECR-style `<account>.dkr.ecr.<region>.<domain>` must use a token of that registry.

On the public host (`dockyard.registry.public`) paths are `/v2/<alias>/<name>/...` in the
alias's public registry: reads of public repositories need no credentials, writes need a token
of the repository's account, and 401s carry a Bearer challenge.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from dockyard.core.clock import Clock
from dockyard.registry.auth import TokenSigner, basic_credentials, challenge
from dockyard.registry.catalog import Catalog
from dockyard.registry.digests import valid_name
from dockyard.registry.http_errors import API_VERSION, RegistryError, translate
from dockyard.registry.model import Scope
from dockyard.registry.public import alias_account, bearer_challenge, public_scope, verify_header
from dockyard.registry.uploads import Uploads

__all__ = ["RegistryHttp", "V2Request"]

log = logging.getLogger(__name__)

_ROUTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?P<name>.+)/blobs/uploads/?(?P<arg>[^/]*)"), "uploads"),
    (re.compile(r"(?P<name>.+)/blobs/(?P<arg>[^/]+)"), "blobs"),
    (re.compile(r"(?P<name>.+)/manifests/(?P<arg>[^/]+)"), "manifests"),
    (re.compile(r"(?P<name>.+)/tags/list"), "tags"),
    (re.compile(r"(?P<name>.+)/referrers/(?P<arg>[^/]+)"), "referrers"),
]
_ECR_HOST = re.compile(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.")


@dataclass(frozen=True, slots=True)
class V2Request:
    """One /v2/ request, authenticated and taken apart."""

    http: web.Request
    scope: Scope
    principal: str
    name: str  # the repository ("" for the base and _catalog endpoints)
    arg: str  # the digest, tag or upload id after the endpoint's keyword ("" when none)
    prefix: str = ""  # what comes before `name` in paths: "<alias>/" on the public host

    @property
    def head(self) -> bool:
        return self.http.method == "HEAD"

    @property
    def path_name(self) -> str:
        """The repository as named in URLs (Location and Link headers)."""
        return self.prefix + self.name


Endpoint = Callable[["RegistryHttp", V2Request], Awaitable[web.StreamResponse]]


class RegistryHttp:
    """The /v2/ endpoints over a catalog, upload sessions and token checks."""

    def __init__(
        self,
        catalog: Catalog,
        uploads: Uploads,
        signer: TokenSigner,
        clock: Clock,
        *,
        public_host: str | None = None,
    ) -> None:
        self.catalog = catalog
        self.uploads = uploads
        self.signer = signer
        self.clock = clock
        self.public_host = public_host.lower() if public_host else None
        self._endpoints: dict[tuple[str, str], Endpoint] = {}

    def endpoint(self, kind: str, *methods: str) -> Callable[[Endpoint], Endpoint]:
        def register(fn: Endpoint) -> Endpoint:
            for method in methods:
                self._endpoints[(kind, method)] = fn
            return fn

        return register

    def install(self, app: web.Application) -> None:
        from dockyard.registry import http_blobs, http_manifests

        http_blobs.register(self)
        http_manifests.register(self)
        app.router.add_route("*", "/v2", self.handle)
        app.router.add_route("*", "/v2/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        head = request.method == "HEAD"
        try:
            response = await self._dispatch(request)
        except RegistryError as exc:
            response = exc.response(head=head)
        except ConnectionError:  # the client went away mid-body: what arrived is kept, resumable
            log.info("registry request %s %s: the client went away", request.method, request.path)
            response = RegistryError("BLOB_UPLOAD_INVALID", "the request body ended early").response(
                head=head
            )
        except Exception as exc:
            failure = translate(exc)
            if failure is None:
                log.exception("registry request %s %s failed", request.method, request.path)
                failure = RegistryError("UNKNOWN", "internal error")
            response = failure.response(head=head)
        if not response.prepared:
            response.headers.update(API_VERSION)
        return response

    def _authenticate(self, request: web.Request) -> tuple[Scope, str]:
        credentials = basic_credentials(request.headers.get("Authorization"))
        found = self.signer.verify(credentials[1]) if credentials and credentials[0] == "AWS" else None
        host = request.host
        if found is not None:
            ecr_host = _ECR_HOST.match(host)
            if ecr_host is None or ecr_host.groups() == (found.scope.account_id, found.scope.region):
                return found.scope, found.principal
        message = "authentication required" if credentials is None else "Your authorization token is invalid."
        raise RegistryError(
            "UNAUTHORIZED",
            message,
            headers={"WWW-Authenticate": challenge(request.scheme, host)},
        )

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if self.public_host is not None and request.host.lower() == self.public_host:
            return await self._dispatch_public(request)
        scope, principal = self._authenticate(request)
        tail = request.match_info.get("tail", "")
        if tail in ("", "/"):
            if request.method not in ("GET", "HEAD"):
                raise RegistryError("UNSUPPORTED", "The operation is unsupported.")
            return web.json_response({}, headers=API_VERSION)
        if tail.rstrip("/") == "_catalog":
            kind, name, arg = "catalog", "", ""
        else:
            kind, name, arg = _parse(tail)
        endpoint = self._endpoints.get((kind, request.method))
        if endpoint is None:
            raise RegistryError("UNSUPPORTED", "The operation is unsupported.")
        return await endpoint(self, V2Request(request, scope, principal, name, arg))

    async def _dispatch_public(self, request: web.Request) -> web.StreamResponse:
        """A request on the public host: anonymous reads of public repositories, writes with a
        token of the repository's account."""
        found = verify_header(self.signer, request.headers.get("Authorization"))
        credentials = found if not isinstance(found, bool) else None
        tail = request.match_info.get("tail", "")
        read = request.method in ("GET", "HEAD")
        if found is False:
            raise self._public_challenge(request, "Your authorization token is invalid.")
        if tail in ("", "/"):
            if credentials is None:
                raise self._public_challenge(request, "authentication required")
            if not read:
                raise RegistryError("UNSUPPORTED", "The operation is unsupported.")
            return web.json_response({}, headers=API_VERSION)
        if tail.rstrip("/") == "_catalog":
            raise RegistryError("UNSUPPORTED", "The operation is unsupported.")
        kind, path_name, arg = _parse(tail)
        alias, _, name = path_name.partition("/")
        account = alias_account(alias)
        if account is None or not name:
            raise RegistryError(
                "NAME_UNKNOWN",
                "repository name not known to registry",
                status=404,
                detail={"name": path_name},
            )
        writes = not read or kind == "uploads"
        if writes and credentials is None:
            raise self._public_challenge(
                request, "authentication required", f"repository:{path_name}:push,pull"
            )
        if writes and credentials is not None and credentials.scope.account_id != account:
            raise RegistryError(
                "DENIED",
                f"User: {credentials.principal} is not authorized to push to repository '{name}' in "
                f"the registry with id '{account}'",
                status=403,
            )
        endpoint = self._endpoints.get((kind, request.method))
        if endpoint is None:
            raise RegistryError("UNSUPPORTED", "The operation is unsupported.")
        principal = credentials.principal if credentials is not None else "anonymous"
        return await endpoint(
            self, V2Request(request, public_scope(account), principal, name, arg, f"{alias}/")
        )

    def _public_challenge(self, request: web.Request, message: str, scope: str = "aws") -> RegistryError:
        return RegistryError(
            "UNAUTHORIZED",
            message,
            headers={"WWW-Authenticate": bearer_challenge(request.scheme, request.host, scope)},
        )


def _parse(tail: str) -> tuple[str, str, str]:
    """(endpoint kind, repository name, argument) of a path below /v2/."""
    for pattern, kind in _ROUTES:
        match = pattern.fullmatch(tail)
        if match is None:
            continue
        name = match.group("name")
        if not valid_name(name):
            raise RegistryError("NAME_INVALID", "invalid repository name", detail={"name": name[:300]})
        arg = match.groupdict().get("arg") or ""
        return kind, name, arg
    raise RegistryError("NAME_UNKNOWN", "repository name not known to registry", status=404)
