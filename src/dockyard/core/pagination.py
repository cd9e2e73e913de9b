"""Opaque, stable pagination tokens.

A token encodes the sort key of the last item returned, so a page boundary survives inserts and
deletes between calls (unlike an offset) and a client cannot craft one to read outside its scope.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["InvalidToken", "paginate", "encode_token", "decode_token"]

T = TypeVar("T")


class InvalidToken(ValueError):
    pass


def encode_token(position: Any) -> str:
    raw = json.dumps({"after": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> Any:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return data["after"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidToken(token) from exc


def paginate(
    items: Sequence[T],
    *,
    key: Callable[[T], Any],
    max_results: int | None,
    next_token: str | None,
    default: int = 100,
) -> tuple[list[T], str | None]:
    """Return one page of `items` (already sorted by `key`) and the token for the next page."""
    start = 0
    if next_token:
        after = decode_token(next_token)
        if isinstance(after, list):
            after = tuple(after)
        start = len(items)
        for i, item in enumerate(items):
            k = key(item)
            if (tuple(k) if isinstance(k, list) else k) > after:
                start = i
                break
    limit = default if max_results is None else max_results
    page = list(items[start : start + limit])
    more = start + limit < len(items)
    token = encode_token(key(page[-1])) if more and page else None
    return page, token
