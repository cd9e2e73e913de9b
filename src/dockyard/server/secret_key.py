"""The server's key for values at rest: one random key per data directory.

`<data dir>/secrets.key` holds 32 random bytes, created on first start with mode 0600 (and made
0600 again if someone loosened it). Without a data directory (the in-memory store of tests) the
key is random per process, like the store itself. Back the file up with the database: secret
values and SecureString parameters cannot be read without it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from dockyard.core.sealing import KEY_BYTES

__all__ = ["KEY_FILE", "load_or_create_key"]

log = logging.getLogger(__name__)

KEY_FILE = "secrets.key"


def load_or_create_key(data_dir: Path | None) -> bytes:
    if data_dir is None:
        return os.urandom(KEY_BYTES)
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    try:
        key = os.urandom(KEY_BYTES)
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    log.info("created the key for values at rest in %s", path)
    return key


def _read(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); setting it to 0600", path, mode)
        path.chmod(0o600)
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise SystemExit(f"dockyard: {path} is not a key ({len(key)} bytes, expected {KEY_BYTES})")
    return key
