"""Authenticated encryption of values at rest (secret values, SecureString parameters).

    sealer = Sealer(key)                                  # 32 bytes: AES-256-GCM
    token = sealer.seal(b"s3cr3t", context="ssm:123456789012:us-east-1:/db/pw:3")
    sealer.open(token, context="ssm:123456789012:us-east-1:/db/pw:3")   # b"s3cr3t"

A token is `base64(version byte | 96-bit random nonce | ciphertext and tag)`. The `context` is
authenticated but not stored: a token only opens under the context it was sealed with, so a
value copied onto another record (another secret, another version) fails to open instead of
being read as that record's value. Keys come from the server (`dockyard.server.secret_key`).
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["KEY_BYTES", "SealError", "Sealer"]

KEY_BYTES = 32
_VERSION = b"\x01"
_NONCE_BYTES = 12


class SealError(Exception):
    """A token is malformed, was sealed under another key or context, or was altered."""


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a sealing key has {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, context.encode())
        return base64.b64encode(_VERSION + nonce + sealed).decode("ascii")

    def open(self, token: str, *, context: str) -> bytes:
        try:
            raw = base64.b64decode(token.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise SealError("not a sealed value") from exc
        if len(raw) < 1 + _NONCE_BYTES + 16 or raw[:1] != _VERSION:
            raise SealError("not a sealed value")
        nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, context.encode())
        except InvalidTag as exc:
            raise SealError("the value does not open with this key and context") from exc

    def __repr__(self) -> str:  # never show key material
        return "Sealer(<key>)"
