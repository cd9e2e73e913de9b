"""Paging for ECS List* operations: `maxResults` bounds and opaque `nextToken`s with ECS's errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dockyard.core.pagination import InvalidToken, paginate
from dockyard.services.ecs.errors import InvalidParameterException

__all__ = ["page"]

T = TypeVar("T")


def page(
    items: Sequence[T],
    request: dict[str, Any],
    *,
    key: Callable[[T], Any],
    default: int = 100,
    limit: int = 100,
) -> tuple[list[T], str | None]:
    """One page of `items` (sorted by `key`) for a request carrying `maxResults` / `nextToken`."""
    max_results = request.get("maxResults")
    if max_results is not None and not 1 <= max_results <= limit:
        raise InvalidParameterException(f"maxResults must be between 1 and {limit}.")
    try:
        return paginate(
            items, key=key, max_results=max_results, next_token=request.get("nextToken"), default=default
        )
    except InvalidToken as exc:
        raise InvalidParameterException("Invalid nextToken provided.") from exc
