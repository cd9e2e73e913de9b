"""Identifier generation behind a seam, so tests can make ids predictable."""

from __future__ import annotations

import secrets
import uuid
from typing import Protocol

__all__ = ["IdGenerator", "RandomIds"]


class IdGenerator(Protocol):
    def hex32(self) -> str:
        """32 lowercase hex digits: task and container-instance ids."""
        ...

    def uuid(self) -> str: ...

    def digits(self, n: int) -> str:
        """`n` decimal digits, the first non-zero (deployment ids and the like)."""
        ...


class RandomIds:
    def hex32(self) -> str:
        return secrets.token_hex(16)

    def uuid(self) -> str:
        return str(uuid.uuid4())

    def digits(self, n: int) -> str:
        first = str(secrets.randbelow(9) + 1)
        return first + "".join(str(secrets.randbelow(10)) for _ in range(n - 1))
