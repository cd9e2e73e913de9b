"""EC2's `Filters` and `MaxResults`/`NextToken`, shared by every Describe operation.

A filter is `{Name, Values}`: a resource matches a filter when any of its values for `Name`
matches any of the filter's `Values` (`*` matches any run of characters, `?` one character,
`\\*` a literal star); it matches the request when it matches every filter. Each operation names
the filters it supports; `tag:<key>`, `tag-key` and `tag-value` work wherever resources have
tags. An unsupported name is refused (`InvalidParameterValue: The filter 'x' is invalid`).

Pages: without `MaxResults` everything is returned at once, as EC2 does; with it, a page and an
opaque `NextToken` that stays valid while resources come and go.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from dockyard.core.pagination import InvalidToken, paginate
from dockyard.services.ec2.errors import (
    InvalidPaginationToken,
    InvalidParameterCombination,
    InvalidParameterValue,
)

__all__ = ["Fields", "check_filters", "matches", "tag_fields", "page"]

T = TypeVar("T")

# filter name -> the resource's values for it
Fields = Callable[[str], Iterable[str]]


@lru_cache(maxsize=512)
def _pattern(value: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def check_filters(filters: Sequence[dict[str, Any]], supported: Iterable[str], *, tags: bool = True) -> None:
    known = set(supported)
    for item in filters:
        name = str(item.get("Name", ""))
        if name in known or (tags and (name.startswith("tag:") or name in ("tag-key", "tag-value"))):
            continue
        raise InvalidParameterValue(f"The filter '{name}' is invalid")


def matches(filters: Sequence[dict[str, Any]], fields: Fields) -> bool:
    for item in filters:
        patterns = [_pattern(str(v)) for v in item.get("Values", [])]
        values = [str(v) for v in fields(str(item.get("Name", "")))]
        if not any(p.fullmatch(v) for p in patterns for v in values):
            return False
    return True


def tag_fields(name: str, tags: Sequence[dict[str, str]]) -> list[str] | None:
    """Values for the tag filters, or None when `name` is not one."""
    if name.startswith("tag:"):
        wanted = name[4:]
        return [t["Value"] for t in tags if t["Key"] == wanted]
    if name == "tag-key":
        return [t["Key"] for t in tags]
    if name == "tag-value":
        return [t["Value"] for t in tags]
    return None


def page(
    items: Sequence[T],
    request: dict[str, Any],
    *,
    key: Callable[[T], Any],
    bounds: tuple[int, int] = (5, 1000),
    ids_member: str | None = None,
) -> tuple[list[T], str | None]:
    """One page of `items` (sorted by `key`) and the next token, checking `MaxResults` as EC2 does."""
    max_results = request.get("MaxResults")
    token = request.get("NextToken")
    if max_results is None:
        if not token:
            return list(items), None
        max_results = bounds[1]
    if ids_member and request.get(ids_member) and request.get("MaxResults") is not None:
        raise InvalidParameterCombination(
            f"The parameter {_wire(ids_member)} cannot be used with the parameter maxResults"
        )
    low, high = bounds
    if max_results < low or max_results > high:
        raise InvalidParameterValue(
            f"Value ( {max_results} ) for parameter maxResults is invalid. "
            f"Expecting a value between {low} and {high}."
        )
    try:
        return paginate(items, key=key, max_results=max_results, next_token=token)
    except InvalidToken:
        raise InvalidPaginationToken(f"Invalid value '{token}' for nextToken") from None


def _wire(member: str) -> str:
    """`InstanceIds` -> `instancesSet`: the wire name EC2 uses in this message."""
    return {"InstanceIds": "instancesSet"}.get(member, member[0].lower() + member[1:])
