"""Pagination tokens of the event reads (no I/O).

GetLogEvents tokens name a position in a stream, (timestamp, event id), in AWS's shape:
`f/<56 digits>/s` to read forward from it, `b/<56 digits>/s` to read backward. FilterLogEvents
tokens are opaque (the position to go on from). Event ids are the same 56 digits, so they are
unique, stable and ordered as the events are.
"""

from __future__ import annotations

import re

from dockyard.core.pagination import InvalidToken, decode_token, encode_token
from dockyard.services.logs.event_reads import Position

__all__ = ["InvalidToken", "decode_filter", "encode_filter", "event_id", "parse_stream_token", "stream_token"]

_STREAM_TOKEN = re.compile(r"([fb])/(\d{56})(?:/s)?")


def _digits(position: Position) -> str:
    ts, ident = position
    return f"{max(ts, 0):024d}{max(ident, 0):032d}"


def event_id(position: Position) -> str:
    return _digits(position)


def stream_token(direction: str, position: Position) -> str:
    return f"{direction}/{_digits(position)}/s"


def parse_stream_token(token: str) -> tuple[str, Position]:
    match = _STREAM_TOKEN.fullmatch(token)
    if match is None:
        raise InvalidToken(token)
    digits = match.group(2)
    return match.group(1), (int(digits[:24]), int(digits[24:]))


def encode_filter(position: Position) -> str:
    return encode_token(list(position))


def decode_filter(token: str) -> Position:
    value = decode_token(token)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        raise InvalidToken(token)
    return (value[0], value[1])
