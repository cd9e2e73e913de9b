"""Reading who is calling and where: the SigV4 credential scope.

Permissive mode (the loopback default) trusts the scope: any access key maps to the default
account and the region comes from the scope. Signature verification belongs with strict auth.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["CredentialScope", "credential_scope"]

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True, slots=True)
class CredentialScope:
    access_key: str
    date: str
    region: str
    service: str


def credential_scope(headers: Mapping[str, str], query: Mapping[str, str]) -> CredentialScope | None:
    """The scope from an `Authorization` header or a presigned URL's `X-Amz-Credential`."""
    auth = headers.get("Authorization", "")
    match = _CREDENTIAL.search(auth)
    if match is None and "X-Amz-Credential" in query:
        match = _CREDENTIAL.search("Credential=" + query["X-Amz-Credential"])
    if match is None:
        return None
    return CredentialScope(*match.groups())
