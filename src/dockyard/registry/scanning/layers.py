"""Read the files a scan needs out of an image's layers, streaming, with whiteouts applied.

```
layer 1 (tar | tar+gzip) --tarfile stream--> keep wanted files --+
layer 2 ...                 whiteouts delete from lower layers --+--> {path: bytes} (the top view)
```

Each layer is read once, front to back (`tarfile` stream mode: nothing is buffered but the files
kept). A layer's whiteouts (`.wh.<name>` removes `<name>`, `.wh..wh..opq` empties its directory)
apply to the layers below it, never to its own files. Only the files the inventory reads are kept:
os-release, the dpkg and apk databases, Python distribution metadata, and a note that an RPM
database exists. Symbolic links among the wanted files (`etc/os-release -> ../usr/lib/os-release`)
are followed in the final view.
"""

from __future__ import annotations

import io
import posixpath
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

__all__ = ["ImageFiles", "UnsupportedLayer", "read_layers", "wanted"]

_MAX_FILE = 64 * 1024 * 1024
_MAX_METADATA = 64 * 1024  # headers come first; the long description after them is not needed
_EXACT = frozenset(
    {
        "etc/os-release",
        "usr/lib/os-release",
        "var/lib/dpkg/status",
        "lib/apk/db/installed",
        "var/lib/rpm/Packages",
        "var/lib/rpm/Packages.db",
        "var/lib/rpm/rpmdb.sqlite",
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
    }
)
_PATTERNS = (
    re.compile(r"var/lib/dpkg/status\.d/[^/]+"),
    re.compile(r"(?:.*/)?[^/]+\.dist-info/METADATA"),
    re.compile(r"(?:.*/)?[^/]+\.egg-info(?:/PKG-INFO)?"),
)
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class UnsupportedLayer(ValueError):
    """A layer the scanner cannot read (for example zstd-compressed)."""


@dataclass
class ImageFiles:
    """The wanted files of the image's final filesystem, by path without a leading slash."""

    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # wanted path -> resolved link target

    def read(self, path: str) -> bytes | None:
        for _ in range(8):
            if path in self.files:
                return self.files[path]
            if path not in self.links:
                return None
            path = self.links[path]
        return None

    def paths(self) -> list[str]:
        return sorted(set(self.files) | set(self.links))


def _normal(name: str) -> str:
    return posixpath.normpath("/" + name).lstrip("/")


def wanted(path: str) -> bool:
    return path in _EXACT or any(p.fullmatch(path) for p in _PATTERNS)


def _peekable(stream: IO[bytes]) -> io.BufferedReader:
    if isinstance(stream, io.BufferedReader):
        return stream
    return io.BufferedReader(stream)  # type: ignore[arg-type]


def _under(path: str, directory: str) -> bool:
    return directory == "" or path.startswith(directory + "/")


def _apply(view: ImageFiles, layer: ImageFiles, deleted: list[str], opaque: list[str]) -> None:
    for table in (view.files, view.links):
        for path in list(table):
            if any(path == d or _under(path, d) for d in deleted) or any(_under(path, d) for d in opaque):
                del table[path]
    for path, data in layer.files.items():
        view.links.pop(path, None)
        view.files[path] = data
    for path, target in layer.links.items():
        view.files.pop(path, None)
        view.links[path] = target


def _read_layer(stream: IO[bytes]) -> tuple[ImageFiles, list[str], list[str]]:
    reader = _peekable(stream)
    if reader.peek(4)[:4] == _ZSTD_MAGIC:
        raise UnsupportedLayer("zstd-compressed layers are not supported by Dockyard's scanner")
    layer = ImageFiles()
    deleted: list[str] = []
    opaque: list[str] = []
    try:
        archive = tarfile.open(fileobj=reader, mode="r|*")
    except tarfile.TarError as exc:
        raise UnsupportedLayer(f"a layer is not a tar archive: {exc}") from exc
    with archive:
        for member in archive:
            path = _normal(member.name)
            directory, base = posixpath.split(path)
            if base == ".wh..wh..opq":
                opaque.append(directory)
                continue
            if base.startswith(".wh."):
                deleted.append(posixpath.join(directory, base[4:]))
                continue
            if not wanted(path):
                continue
            if member.issym():
                target = member.linkname
                resolved = _normal(target if target.startswith("/") else posixpath.join(directory, target))
                layer.links[path] = resolved
            elif member.islnk():
                source = layer.files.get(_normal(member.linkname))
                if source is not None:
                    layer.files[path] = source
            elif member.isfile() and member.size <= _MAX_FILE:
                handle = archive.extractfile(member)
                if handle is None:
                    continue
                python = path.endswith(("/METADATA", "/PKG-INFO", ".egg-info"))
                layer.files[path] = handle.read(_MAX_METADATA) if python else handle.read()
    return layer, deleted, opaque


def read_layers(layers: Iterable[IO[bytes]]) -> ImageFiles:
    """The wanted files of the filesystem the layers make, bottom layer first."""
    view = ImageFiles()
    for stream in layers:
        layer, deleted, opaque = _read_layer(stream)
        _apply(view, layer, deleted, opaque)
    return view
