"""ECR authorization tokens and the registry's Basic-auth challenge.

GetAuthorizationToken hands out `base64("AWS:" + password)`; the password is

    dky1.<base64url {"a": account, "r": region, "p": principal, "e": expiry}>.<base64url HMAC-SHA256>

signed with a key derived from the server's secret key (`server/secret_key.py`), so tokens
survive a restart, cannot be forged, and carry no ':' (`aws ecr get-login-password` splits the
decoded token on it). A token is good for 12 hours, like ECR's, and names the registry (account
and Region) every /v2/ request made with it works in.

Clients send credentials only after a 401, so every protected endpoint answers one carrying
`WWW-Authenticate: Basic realm="<scheme>://<host>/",service="ecr.amazonaws.com"`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from dockyard.core.clock import Clock
from dockyard.registry.model import Scope

__all__ = [
    "TOKEN_LIFETIME",
    "Credentials",
    "TokenSigner",
    "authorization_token",
    "basic_credentials",
    "challenge",
]

TOKEN_LIFETIME = 12 * 3600.0
_PREFIX = "dky1"
_CACHE = 4096


@dataclass(frozen=True, slots=True)
class Credentials:
    scope: Scope
    principal: str
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Mints and checks registry passwords with a key derived from the server's secret key."""

    def __init__(self, secret_key: bytes, clock: Clock) -> None:
        self._key = hmac.new(secret_key, b"dockyard registry tokens v1", hashlib.sha256).digest()
        self._clock = clock
        self._verified: dict[str, Credentials] = {}

    def mint(self, scope: Scope, principal: str) -> tuple[str, float]:
        """A password for `scope`'s registry and the epoch time it expires."""
        expires_at = self._clock.now() + TOKEN_LIFETIME
        claims = {"a": scope.account_id, "r": scope.region, "p": principal, "e": round(expires_at, 3)}
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{_PREFIX}.{body}.{self._sign(body)}", expires_at

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def verify(self, password: str) -> Credentials | None:
        """The credentials a password carries, or None when forged, malformed or expired."""
        found = self._verified.get(password)
        if found is None:
            found = self._check(password)
            if found is None:
                return None
            if len(self._verified) >= _CACHE:
                self._verified.clear()
            self._verified[password] = found
        if found.expires_at <= self._clock.now():
            return None
        return found

    def _check(self, password: str) -> Credentials | None:
        parts = password.split(".")
        if len(parts) != 3 or parts[0] != _PREFIX:
            return None
        if not hmac.compare_digest(self._sign(parts[1]), parts[2]):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
            return Credentials(
                Scope(str(claims["a"]), str(claims["r"])), str(claims["p"]), float(claims["e"])
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None


def authorization_token(password: str) -> str:
    """ECR's authorizationToken: base64 of `AWS:<password>`."""
    return base64.b64encode(f"AWS:{password}".encode()).decode()


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) from an `Authorization: Basic ...` header, or None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def challenge(scheme: str, host: str) -> str:
    """The `WWW-Authenticate` value of a 401 for requests to `host`."""
    return f'Basic realm="{scheme}://{host}/",service="ecr.amazonaws.com"'
