"""ListSecrets: the secrets of the caller's account and Region, filtered, sorted and paginated.

Filters (Secrets Manager's search): `name`, `tag-key`, `tag-value`, `primary-region` and
`owning-service` match by prefix, case-sensitive; `description` by prefix, not case-sensitive;
`all` looks at the name, the description and the tags, not case-sensitive. A value starting with
`!` negates. Values of one filter are alternatives; several filters must all match. Secrets
scheduled for deletion are left out unless IncludePlannedDeletion. Secrets are listed by
CreatedDate (or SortBy), ascending unless SortOrder is `desc`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.services.secretsmanager.api import api
from dockyard.services.secretsmanager.deps import SecretsManager
from dockyard.services.secretsmanager.documents import Document, list_entry
from dockyard.services.secretsmanager.errors import InvalidNextTokenException
from dockyard.services.secretsmanager.resources import SECRET, find_secret

__all__ = ["list_secrets", "matches"]

_BAD_TOKEN = "The NextToken value is invalid."
_SORT_KEYS = {
    "created-date": "CreatedDate",
    "last-accessed-date": "LastAccessedDate",
    "last-changed-date": "LastChangedDate",
    "name": "Name",
}


def _attributes(doc: Document, key: str) -> tuple[list[str], bool]:
    """(the values a filter key looks at, whether it ignores case)."""
    tags = doc.get("Tags") or []
    if key == "name":
        return [str(doc["Name"])], False
    if key == "description":
        return [str(doc.get("Description") or "")], True
    if key == "tag-key":
        return [t["Key"] for t in tags], False
    if key == "tag-value":
        return [t["Value"] for t in tags], False
    if key == "all":
        found = [str(doc["Name"]), str(doc.get("Description") or "")]
        return [*found, *(t["Key"] for t in tags), *(t["Value"] for t in tags)], True
    return [], False  # primary-region, owning-service: Dockyard secrets have neither


def _prefix_of(value: str, attributes: Iterable[str], fold: bool) -> bool:
    if fold:
        value = value.lower()
        return any(a.lower().startswith(value) for a in attributes)
    return any(a.startswith(value) for a in attributes)


def matches(doc: Document, filters: Sequence[dict[str, Any]]) -> bool:
    for flt in filters:
        attributes, fold = _attributes(doc, str(flt["Key"]))
        values = [str(v) for v in flt.get("Values", [])]
        wanted = [v for v in values if not v.startswith("!")]
        unwanted = [v[1:] for v in values if v.startswith("!")]
        if wanted and not any(_prefix_of(v, attributes, fold) for v in wanted):
            return False
        if any(_prefix_of(v, attributes, fold) for v in unwanted):
            return False
    return True


@api.operation("ListSecrets")
async def list_secrets(sm: SecretsManager, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    include_deleted = bool(request.get("IncludePlannedDeletion"))
    filters = list(request.get("Filters") or [])
    found: list[Document] = []
    for stored in await sm.store.list(SECRET, account_id=ctx.account_id, region=ctx.region):
        current = await find_secret(sm, ctx, stored.key.name)  # drops secrets whose window is over
        if current is None:
            continue
        doc = current.value
        if doc.get("DeletedDate") is not None and not include_deleted:
            continue
        if matches(doc, filters):
            found.append(doc)
    member = _SORT_KEYS[str(request.get("SortBy") or "created-date")]
    descending = request.get("SortOrder") == "desc"
    sort_key = _sort_key(member, descending)
    found.sort(key=sort_key)
    try:
        page, token = paginate(
            found, key=sort_key, max_results=request.get("MaxResults"), next_token=request.get("NextToken")
        )
    except InvalidToken as exc:
        raise InvalidNextTokenException(_BAD_TOKEN) from exc
    response: dict[str, Any] = {"SecretList": [list_entry(doc) for doc in page]}
    if token:
        response["NextToken"] = token
    return response


def _sort_key(member: str, descending: bool) -> Callable[[Document], tuple[Any, ...]]:
    """A key that sorts ascending in the wanted order and ends with the name, so that pages are
    stable (the pagination token holds the last key)."""

    def key(doc: Document) -> tuple[Any, ...]:
        value = doc.get(member)
        if member == "Name":
            return (str(value),) if not descending else tuple(-ord(c) for c in str(value)) + (1 << 30,)
        number = float(value or 0.0)
        return (-number if descending else number, str(doc["Name"]))

    return key
