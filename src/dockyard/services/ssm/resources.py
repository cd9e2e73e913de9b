"""Store keys and lookups shared by the Parameter Store handlers.

| kind           | name                                | document                          |
|----------------|-------------------------------------|-----------------------------------|
| ssm:parameter  | parameter name (`/prod/db/pw`, `x`) | Name, ARN + `dockyard.history/tags`|
"""

from __future__ import annotations

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ssm.deps import Ssm
from dockyard.services.ssm.documents import Entry, history
from dockyard.services.ssm.errors import ParameterNotFound, ParameterVersionNotFound
from dockyard.services.ssm.names import Reference, parse_reference
from dockyard.store import Conflict, Key, Put, Versioned

__all__ = ["PARAMETER", "find", "key", "lookup", "pick", "replace", "resolve"]

PARAMETER = "ssm:parameter"


def key(ctx: RequestContext, name: str) -> Key:
    return Key(ctx.account_id, ctx.region, PARAMETER, name)


async def find(ssm: Ssm, ctx: RequestContext, reference: Reference) -> Versioned | None:
    for name in reference.names:
        found = await ssm.store.get(key(ctx, name))
        if found is not None:
            return found
    return None


def pick(found: Versioned, reference: Reference) -> Entry:
    """The version of `found` the reference's selector names (the current one without one)."""
    entries = history(found.value)
    name = found.value["Name"]
    if reference.version is not None:
        for entry in entries:
            if entry["Version"] == reference.version:
                return entry
        raise ParameterVersionNotFound(
            f"Systems Manager could not find version {reference.version} of {name}. "
            "Verify the version and try again."
        )
    if reference.label is not None:
        for entry in entries:
            if reference.label in (entry.get("Labels") or []):
                return entry
        raise ParameterVersionNotFound(
            f"Systems Manager could not find label {reference.label} of {name}. "
            "Verify the label and try again."
        )
    return entries[-1]


async def lookup(ssm: Ssm, ctx: RequestContext, value: str) -> tuple[Versioned, Reference]:
    """The parameter a Name (name or ARN, maybe with a selector) refers to, or ParameterNotFound."""
    reference = resolve(ctx, value)
    found = await find(ssm, ctx, reference) if reference is not None else None
    if found is None or reference is None:
        raise ParameterNotFound("")
    return found, reference


def resolve(ctx: RequestContext, value: str) -> Reference | None:
    return parse_reference(value, region=ctx.region, account_id=ctx.account_id)


async def replace(ssm: Ssm, found: Versioned, doc: dict[str, object]) -> bool:
    """Write `doc` over `found`; False when someone else wrote first (re-read and retry)."""
    try:
        await ssm.store.commit([Put(found.key, doc, expected_revision=found.revision)])
    except Conflict:
        return False
    return True
