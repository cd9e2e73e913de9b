"""Request members several Secrets Manager operations share: the secret value, the client request
token that becomes a version id, and tags; checked with Secrets Manager's errors and messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dockyard.core.tags import TagError, check_tags
from dockyard.services.secretsmanager.documents import Value
from dockyard.services.secretsmanager.errors import InvalidParameterException, InvalidRequestException

__all__ = ["check_secret_tags", "merge_secret_tags", "require_token", "value_of"]

_BOTH = "You can't specify both a binary secret value and a string secret value in the same secret."
_NO_TOKEN = "You must provide a ClientRequestToken value. We recommend a UUID-type value."


def value_of(request: Mapping[str, Any]) -> Value | None:
    """The secret value a request carries (SecretString or SecretBinary), or None."""
    string, binary = request.get("SecretString"), request.get("SecretBinary")
    if string is not None and binary is not None:
        raise InvalidParameterException(_BOTH)
    if string is not None:
        return "string", str(string).encode()
    if binary is not None:
        return "binary", bytes(binary)
    return None


def require_token(request: Mapping[str, Any]) -> str:
    """The ClientRequestToken (the new version's id); the SDKs and the CLI always send one."""
    token = request.get("ClientRequestToken")
    if not token:
        raise InvalidRequestException(_NO_TOKEN)
    return str(token)


def check_secret_tags(tags: Iterable[Mapping[str, str]], *, existing: int = 0) -> list[dict[str, str]]:
    """`[{Key, Value}]` checked against the common tag rules; InvalidParameterException if not."""
    listed = [{"Key": str(t["Key"]), "Value": str(t.get("Value", ""))} for t in tags]
    try:
        check_tags([{"key": t["Key"], "value": t["Value"]} for t in listed], existing=existing)
    except TagError as exc:
        raise InvalidParameterException(str(exc)) from exc
    return listed


def merge_secret_tags(
    current: list[dict[str, str]], new: Iterable[Mapping[str, str]]
) -> list[dict[str, str]]:
    merged = {t["Key"]: t["Value"] for t in current}
    for tag in new:
        merged[tag["Key"]] = tag["Value"]
    return [{"Key": k, "Value": v} for k, v in merged.items()]
