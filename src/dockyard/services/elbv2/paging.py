"""`Marker` / `PageSize` paging of the Describe operations (NextMarker is opaque and stable)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dockyard.core.pagination import InvalidToken, paginate
from dockyard.services.elbv2.errors import ValidationError

__all__ = ["page"]

T = TypeVar("T")
_DEFAULT_PAGE = 400


def page(
    items: Sequence[T], request: dict[str, Any], *, key: Callable[[T], Any]
) -> tuple[list[T], dict[str, str]]:
    """One page of `items` (sorted by `key`) and `{"NextMarker": ...}` when more follow."""
    try:
        found, marker = paginate(
            items,
            key=key,
            max_results=request.get("PageSize"),
            next_token=request.get("Marker"),
            default=_DEFAULT_PAGE,
        )
    except InvalidToken:
        raise ValidationError(f"The marker '{request.get('Marker')}' is not valid") from None
    return found, ({"NextMarker": marker} if marker else {})
