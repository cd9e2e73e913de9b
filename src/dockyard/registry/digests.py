"""Digests, repository names and tags: the grammar of the OCI distribution spec.

A digest is `algorithm ":" encoded`. Dockyard stores sha256 and sha512 content; any other
well-formed algorithm is refused as unsupported, and anything malformed is invalid (both are
DIGEST_INVALID on the wire). Names and tags follow the spec's regular expressions, which are also
ECR's `RepositoryName` pattern.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "ALGORITHMS",
    "Digest",
    "DigestError",
    "Hasher",
    "MAX_NAME",
    "digest_of",
    "is_digest",
    "new_hasher",
    "parse_digest",
    "valid_name",
    "valid_tag",
]

#: Hash lengths (hex digits) of the algorithms Dockyard stores.
ALGORITHMS = {"sha256": 64, "sha512": 128}
MAX_NAME = 256  # ECR's RepositoryName maximum

_DIGEST = re.compile(r"([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)")
_NAME_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*")
_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")


class DigestError(ValueError):
    """A digest that is malformed (`unsupported` False) or names an algorithm Dockyard lacks."""

    def __init__(self, value: str, *, unsupported: bool = False) -> None:
        reason = "unsupported digest algorithm" if unsupported else "invalid digest"
        super().__init__(f"{reason}: {value[:200]!r}")
        self.value = value
        self.unsupported = unsupported


class Hasher(Protocol):
    def update(self, data: bytes | bytearray, /) -> None: ...

    def hexdigest(self) -> str: ...

    def copy(self) -> Hasher: ...


@dataclass(frozen=True, slots=True)
class Digest:
    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def parse_digest(value: str) -> Digest:
    """The digest in `value`; `DigestError` when malformed or not sha256/sha512."""
    match = _DIGEST.fullmatch(value)
    if match is None:
        raise DigestError(value)
    algorithm, encoded = match.groups()
    length = ALGORITHMS.get(algorithm)
    if length is None:
        raise DigestError(value, unsupported=True)
    if len(encoded) != length or not re.fullmatch(r"[0-9a-f]+", encoded):
        raise DigestError(value)
    return Digest(algorithm, encoded)


def is_digest(value: str) -> bool:
    """Whether `value` looks like a digest reference (has a ':'), as opposed to a tag."""
    return ":" in value


def new_hasher(algorithm: str = "sha256") -> Hasher:
    return hashlib.new(algorithm)


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def valid_name(name: str) -> bool:
    """A repository name the spec (and ECR) accepts: lowercase components joined by '/'."""
    return 2 <= len(name) <= MAX_NAME and _NAME.fullmatch(name) is not None


def valid_tag(tag: str) -> bool:
    return _TAG.fullmatch(tag) is not None
