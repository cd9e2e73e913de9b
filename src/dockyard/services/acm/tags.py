"""Certificate tags: AddTagsToCertificate, RemoveTagsFromCertificate, ListTagsForCertificate.

ACM tags have an optional value; a certificate holds at most 50. Removing a tag given with a
value removes it only when the value matches.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.tags import MAX_TAGS
from dockyard.services.acm.api import api
from dockyard.services.acm.deps import Acm
from dockyard.services.acm.errors import InvalidTagException, TooManyTagsException
from dockyard.services.acm.resources import get
from dockyard.store import Conflict, Put

__all__ = [
    "add_tags_to_certificate",
    "checked_tags",
    "list_tags_for_certificate",
    "remove_tags_from_certificate",
]

Tag = dict[str, str]


def _tag(raw: dict[str, Any]) -> Tag:
    tag = {"Key": str(raw["Key"])}
    if raw.get("Value") is not None:
        tag["Value"] = str(raw["Value"])
    return tag


def checked_tags(given: list[dict[str, Any]], *, existing: list[Tag]) -> list[Tag]:
    """`existing` with `given` added (a key given again takes the new value), or ACM's error."""
    merged = {t["Key"]: t for t in existing}
    for raw in given:
        tag = _tag(raw)
        if tag["Key"].lower().startswith("aws:"):
            raise InvalidTagException("Tags beginning with aws: are reserved and cannot be used.")
        merged[tag["Key"]] = tag
    if len(merged) > MAX_TAGS:
        raise TooManyTagsException("the TagSet: exceeds the maximum of 50 tags per resource.")
    return list(merged.values())


async def _update(acm: Acm, ctx: RequestContext, arn: str, change: Any) -> None:
    while True:
        found = await get(acm, ctx, arn)
        doc = dict(found.value)
        internal = dict(doc.get("dockyard") or {})
        internal["Tags"] = change(list(internal.get("Tags") or []))
        doc["dockyard"] = internal
        try:
            await acm.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        except Conflict:
            continue
        return


@api.operation("AddTagsToCertificate")
async def add_tags_to_certificate(acm: Acm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    given = list(request["Tags"])
    await _update(acm, ctx, str(request["CertificateArn"]), lambda tags: checked_tags(given, existing=tags))
    return {}


@api.operation("RemoveTagsFromCertificate")
async def remove_tags_from_certificate(
    acm: Acm, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    removals = [_tag(t) for t in request["Tags"]]

    def remove(tags: list[Tag]) -> list[Tag]:
        def gone(tag: Tag) -> bool:
            return any(
                r["Key"] == tag["Key"] and ("Value" not in r or r["Value"] == tag.get("Value"))
                for r in removals
            )

        return [t for t in tags if not gone(t)]

    await _update(acm, ctx, str(request["CertificateArn"]), remove)
    return {}


@api.operation("ListTagsForCertificate")
async def list_tags_for_certificate(acm: Acm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found = await get(acm, ctx, str(request["CertificateArn"]))
    return {"Tags": list((found.value.get("dockyard") or {}).get("Tags") or [])}
