"""Store keys, ARNs, names and lookups shared by the Secrets Manager handlers.

| kind                    | name          | document                                          |
|-------------------------|---------------|---------------------------------------------------|
| secretsmanager:secret   | secret name   | DescribeSecret members + `dockyard.versions`      |

A secret's ARN is `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random chars>`.
`SecretId` is the name, the full ARN or the ARN without its 6-character suffix (a partial ARN).
A secret scheduled for deletion stays until its `DeletedDate`; the first lookup after that date
removes it for good.
"""

from __future__ import annotations

import re

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import arn, parse_arn
from dockyard.core.errors import ValidationException
from dockyard.services.secretsmanager.deps import SecretsManager
from dockyard.services.secretsmanager.errors import InvalidRequestException, ResourceNotFoundException
from dockyard.store import Conflict, Delete, Key, Put, Versioned

__all__ = [
    "AWSCURRENT",
    "AWSPENDING",
    "AWSPREVIOUS",
    "MARKED_FOR_DELETION",
    "SECRET",
    "check_name",
    "find_secret",
    "get_live_secret",
    "get_secret",
    "key",
    "new_arn",
    "replace",
]

SECRET = "secretsmanager:secret"
AWSCURRENT = "AWSCURRENT"
AWSPREVIOUS = "AWSPREVIOUS"
AWSPENDING = "AWSPENDING"

MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion."
_NOT_FOUND = "Secrets Manager can't find the specified secret."
_INVALID_NAME = (
    "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
)
_NAME = re.compile(r"[A-Za-z0-9/_+=.@!-]+")
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SUFFIX = 6


def key(ctx: RequestContext, name: str) -> Key:
    return Key(ctx.account_id, ctx.region, SECRET, name)


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ValidationException(_INVALID_NAME)


def new_arn(sm: SecretsManager, ctx: RequestContext, name: str) -> str:
    """A fresh ARN for `name`: six random alphanumerics after the name, as AWS makes them."""
    number = int(sm.ids.hex32(), 16)
    suffix = ""
    for _ in range(_SUFFIX):
        number, digit = divmod(number, len(_ALPHABET))
        suffix += _ALPHABET[digit]
    return arn("secretsmanager", ctx.region, ctx.account_id, f"secret:{name}-{suffix}")


def _candidates(ctx: RequestContext, secret_id: str) -> list[tuple[str, str | None]]:
    """(name to look up, ARN the stored secret must have or None for any) for a SecretId."""
    if not secret_id.startswith("arn:"):
        check_name(secret_id)
        return [(secret_id, None)]
    parsed = parse_arn(secret_id)
    if (
        parsed is None
        or parsed.service != "secretsmanager"
        or parsed.region != ctx.region
        or parsed.account_id != ctx.account_id
        or not parsed.resource.startswith("secret:")
    ):
        return []
    rest = parsed.resource[len("secret:") :]
    found: list[tuple[str, str | None]] = []
    if len(rest) > _SUFFIX + 1 and rest[-_SUFFIX - 1] == "-":
        found.append((rest[: -_SUFFIX - 1], secret_id))  # the full ARN
    found.append((rest, "partial"))  # a partial ARN: the ARN without its suffix
    return found


async def find_secret(sm: SecretsManager, ctx: RequestContext, secret_id: str) -> Versioned | None:
    """The stored secret `secret_id` names (in any state), or None."""
    for name, wanted in _candidates(ctx, secret_id):
        found = await _get(sm, key(ctx, name))
        if found is None:
            continue
        stored = str(found.value["ARN"])
        if wanted is None or stored == wanted:
            return found
        if wanted == "partial" and stored[: -_SUFFIX - 1] == secret_id:
            return found
    return None


async def get_secret(sm: SecretsManager, ctx: RequestContext, secret_id: str) -> Versioned:
    """Like `find_secret`, but a missing secret is `ResourceNotFoundException`."""
    found = await find_secret(sm, ctx, secret_id)
    if found is None:
        raise ResourceNotFoundException(_NOT_FOUND)
    return found


async def get_live_secret(sm: SecretsManager, ctx: RequestContext, secret_id: str) -> Versioned:
    """Like `get_secret`, but a secret scheduled for deletion is `InvalidRequestException`."""
    found = await get_secret(sm, ctx, secret_id)
    if found.value.get("DeletedDate") is not None:
        raise InvalidRequestException(MARKED_FOR_DELETION)
    return found


async def _get(sm: SecretsManager, at: Key) -> Versioned | None:
    found = await sm.store.get(at)
    deleted = found.value.get("DeletedDate") if found is not None else None
    if found is not None and deleted is not None and deleted <= sm.clock.now():
        # The recovery window is over: the secret and all its versions are gone for good.
        try:
            await sm.store.commit([Delete(at, expected_revision=found.revision)])
        except Conflict:
            return await _get(sm, at)
        return None
    return found


async def replace(sm: SecretsManager, found: Versioned, doc: dict[str, object]) -> bool:
    """Write `doc` over `found`; False when someone else wrote first (re-read and retry)."""
    try:
        await sm.store.commit([Put(found.key, doc, expected_revision=found.revision)])
    except Conflict:
        return False
    return True
