"""Public repositories (Amazon ECR Public): where they live, their names, and anonymous pulls.

A public repository is an ordinary catalog repository in the account's *public registry*: the
scope `(account, "ecr-public")`, which no Region's private registry shares, so its names can
never collide with private ones and the private ECR API never lists it. Like public.ecr.aws it is
served on a host of its own, so the private host keeps ECR's Basic challenge untouched:

```
private:  <registry host>/<name>                 e.g. 127.0.0.1:4566/team/web   (Basic)
public:   <public host>/<alias>/<name>           e.g. localhost:4566/a123456789012/web (Bearer)
```
The public host defaults to `localhost:<port>` when the registry host is `127.0.0.1:<port>`
(and the other way round), else `public.<registry host>`; `RegistrySettings.public_host` sets
it. The registry alias is `a<account id>` (ECR Public aliases start with a letter).

On the public host, GET/HEAD of manifests, blobs, tags and referrers of a public repository
need no credentials at all. Everything else (pushes, deletes, and the `/v2/` ping) needs a
registry token of the repository's account (from ECR Public's or ECR's GetAuthorizationToken):

```
GET /v2/ (no credentials) -> 401 WWW-Authenticate: Bearer realm="<scheme>://<public host>/token/",
                                                         service="ecr-public",scope="aws"
GET /token/?scope=...      no credentials -> an anonymous token (pulls only)
                           Basic AWS:<password> -> the password itself as the bearer token
                           (a bad password -> 401, so `docker login` checks it)
then every request carries `Authorization: Bearer <token>` (Basic AWS:<password> works too)
```
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs

from aiohttp import web

from dockyard.core.clock import Clock
from dockyard.registry.auth import TOKEN_LIFETIME, Credentials, TokenSigner, basic_credentials
from dockyard.registry.model import Scope

__all__ = [
    "ANONYMOUS_TOKEN",
    "PUBLIC_REGION",
    "alias_account",
    "bearer_challenge",
    "default_alias",
    "public_host",
    "public_scope",
    "registry_arn",
    "repository_arn",
    "repository_uri",
    "token_endpoint",
    "verify_header",
]

PUBLIC_REGION = "ecr-public"
ANONYMOUS_TOKEN = "anonymous"  # what /token/ hands a client without credentials
_ALIAS = re.compile(r"a(\d{12})")
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def public_scope(account_id: str) -> Scope:
    """The public registry of an account."""
    return Scope(account_id, PUBLIC_REGION)


def default_alias(account_id: str) -> str:
    """The registry alias of an account's public registry."""
    return f"a{account_id}"


def alias_account(alias: str) -> str | None:
    """The account whose public registry has `alias`, or None."""
    match = _ALIAS.fullmatch(alias)
    return match.group(1) if match else None


def public_host(registry_host: str) -> str:
    """The default host of public repositories for a registry host."""
    name, sep, port = registry_host.rpartition(":")
    if not sep or name == "" or "]" in port:
        name, port = registry_host, ""
    suffix = f":{port}" if port else ""
    if name == "localhost":
        return f"127.0.0.1{suffix}"
    if name in _LOOPBACK:
        return f"localhost{suffix}"
    return f"public.{registry_host}"


def repository_uri(host: str, account_id: str, name: str) -> str:
    return f"{host}/{default_alias(account_id)}/{name}"


def repository_arn(account_id: str, name: str) -> str:
    return f"arn:aws:ecr-public::{account_id}:repository/{name}"


def registry_arn(account_id: str) -> str:
    return f"arn:aws:ecr-public::{account_id}:registry/{account_id}"


def bearer_challenge(scheme: str, host: str, scope: str = "aws") -> str:
    """The `WWW-Authenticate` value of a 401 on the public host."""
    return f'Bearer realm="{scheme}://{host}/token/",service="ecr-public",scope="{scope}"'


def verify_header(signer: TokenSigner, header: str | None) -> Credentials | None | bool:
    """What an Authorization header proves: credentials, None (no credentials, or the anonymous
    token), or False (credentials that are forged, malformed or expired)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        token = value.strip()
        if token == ANONYMOUS_TOKEN:
            return None
        return signer.verify(token) or False
    basic = basic_credentials(header)
    if basic is None or basic[0] != "AWS":
        return False
    return signer.verify(basic[1]) or False


def token_endpoint(
    signer: TokenSigner, clock: Clock
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """`GET|POST /token/`: the Bearer realm of the public host (docker's token flow)."""

    async def token(request: web.Request) -> web.StreamResponse:
        password: str | None = None
        header = request.headers.get("Authorization")
        basic = basic_credentials(header)
        if basic is not None:
            password = basic[1] if basic[0] == "AWS" else ""
        elif request.method == "POST":
            form = parse_qs((await request.read()).decode(errors="replace"))
            if form.get("grant_type") == ["password"]:
                password = (form.get("password") or [""])[0] if form.get("username") == ["AWS"] else ""
        if password is None:
            value = ANONYMOUS_TOKEN
        elif signer.verify(password) is not None:
            value = password
        else:
            return web.json_response(
                {"errors": [{"code": "DENIED", "message": "Your authorization token is invalid."}]},
                status=401,
            )
        issued = datetime.fromtimestamp(clock.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return web.json_response(
            {"token": value, "access_token": value, "expires_in": int(TOKEN_LIFETIME), "issued_at": issued}
        )

    return token
