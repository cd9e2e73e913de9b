"""The small images Dockyard's tests and docs run, built from local files only (no registry).

    dockyard/busybox:latest   FROM scratch: the host's static busybox, its applets linked in
                              /bin, a minimal /etc; CMD ["sh"]
    dockyard/hello:latest,:v1 FROM dockyard/busybox: an HTTP server (`nc -ll -e handler.sh`)
    dockyard/hello:v<N>       the same, answering with VERSION=<N> (for rolling deployments)

`build_context(name)` makes a build context tar in memory; `ensure_image(runtime, name)` builds
it unless an image with that tag already carries the context's content hash as the label
``dockyard.image.hash`` (so a changed handler script, or a rebuilt base, triggers a rebuild);
the image a rebuild replaces is removed unless something still uses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from dockyard.agent.runtime.docker import DockerRuntime
from dockyard.agent.runtime.protocol import RuntimeError_

__all__ = ["HASH_LABEL", "BuildContext", "build_context", "ensure_image", "image_tag"]

HASH_LABEL = "dockyard.image.hash"
BUSYBOX = "dockyard/busybox"
HELLO = "dockyard/hello"
_HOST_BUSYBOX = Path("/bin/busybox")
_DIRECTORIES = {
    "bin": 0o755,
    "etc": 0o755,
    "root": 0o700,
    "tmp": 0o1777,
    "usr": 0o755,
    "usr/bin": 0o755,
    "var": 0o755,
    "home": 0o755,
}


@dataclass(frozen=True, slots=True)
class BuildContext:
    tag: str  # the tag `ensure_image` returns
    extra_tags: tuple[str, ...]
    tar: bytes  # the build context: a Dockerfile and the files it copies
    content_hash: str  # covers the context and, transitively, its base image's context
    base: str | None  # the image name this one is built FROM, if it is one of ours


def _file(name: str) -> bytes:
    return resources.files("dockyard.images").joinpath("files", name).read_bytes()


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def _tar(build: Callable[[tarfile.TarFile], None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        build(tar)
    return buffer.getvalue()


def _applets(busybox: Path) -> list[str]:
    listed = subprocess.run([str(busybox), "--list"], check=True, capture_output=True, text=True).stdout
    return sorted({name for name in listed.split() if name and "/" not in name and name != "busybox"})


def _rootfs(busybox: Path) -> bytes:
    """The busybox root filesystem: the binary, one symlink per applet, /etc/passwd and group."""
    binary = busybox.read_bytes()

    def fill(tar: tarfile.TarFile) -> None:
        for directory, mode in _DIRECTORIES.items():
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, 0
            tar.addfile(info)
        _add(tar, "bin/busybox", binary, 0o755)
        for applet in [*_applets(busybox), "usr/bin/env"]:
            info = tarfile.TarInfo(applet if "/" in applet else f"bin/{applet}")
            info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, "/bin/busybox", 0o777, 0
            tar.addfile(info)
        _add(tar, "etc/passwd", _file("passwd"))
        _add(tar, "etc/group", _file("group"))

    return _tar(fill)


def _context(files: dict[str, tuple[bytes, int]]) -> bytes:
    def fill(tar: tarfile.TarFile) -> None:
        for name, (data, mode) in sorted(files.items()):
            _add(tar, name, data, mode)

    return _tar(fill)


def _digest(files: dict[str, tuple[bytes, int]], base_hash: str = "") -> str:
    digest = hashlib.sha256(base_hash.encode())
    for name, (data, mode) in sorted(files.items()):
        digest.update(f"\0{name}\0{mode:o}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def image_tag(name: str) -> str:
    """``busybox`` -> ``dockyard/busybox:latest``; ``hello:v2`` -> ``dockyard/hello:v2``."""
    repository, _, tag = name.removeprefix("dockyard/").partition(":")
    if repository not in ("busybox", "hello"):
        raise ValueError(f"unknown Dockyard image {name!r}: known are busybox, hello, hello:v<N>")
    if repository == "busybox" and tag not in ("", "latest"):
        raise ValueError(f"dockyard/busybox has only the tag latest, not {tag!r}")
    return f"dockyard/{repository}:{tag or 'latest'}"


def build_context(name: str, *, busybox: Path = _HOST_BUSYBOX) -> BuildContext:
    """The in-memory build context of one of Dockyard's images (see the module docstring)."""
    tag = image_tag(name)
    if tag.startswith(f"{BUSYBOX}:"):
        files = {
            "Dockerfile": (b'FROM scratch\nADD rootfs.tar /\nCMD ["sh"]\n', 0o644),
            "rootfs.tar": (_rootfs(busybox), 0o644),
        }
        return BuildContext(tag, (), _context(files), _digest(files), None)
    version = tag.rpartition(":")[2]
    version = "1" if version == "latest" else version.removeprefix("v")
    dockerfile = (
        f"FROM {BUSYBOX}:latest\n"
        "COPY handler.sh serve.sh /\n"
        f'ENV PORT=80 VERSION="{version}"\n'
        "EXPOSE 80\n"
        'CMD ["/bin/sh", "/serve.sh"]\n'
    )
    files = {
        "Dockerfile": (dockerfile.encode(), 0o644),
        "handler.sh": (_file("handler.sh"), 0o755),
        "serve.sh": (_file("serve.sh"), 0o755),
    }
    base = build_context("busybox", busybox=busybox)
    extra = tuple(t for t in (f"{HELLO}:latest", f"{HELLO}:v1") if t != tag) if version == "1" else ()
    return BuildContext(tag, extra, _context(files), _digest(files, base.content_hash), f"{BUSYBOX}:latest")


async def ensure_image(runtime: DockerRuntime, name: str, *, busybox: Path = _HOST_BUSYBOX) -> str:
    """Build `name` (and its base) unless already built from the same content; its tag."""
    context = build_context(name, busybox=busybox)
    if context.base is not None:
        await ensure_image(runtime, context.base, busybox=busybox)
    labels = await runtime.image_labels(context.tag)
    if labels is not None and labels.get(HASH_LABEL) == context.content_hash:
        for extra in context.extra_tags:
            extra_labels = await runtime.image_labels(extra)
            if extra_labels is None or extra_labels.get(HASH_LABEL) != context.content_hash:
                break
        else:
            return context.tag
    previous = await runtime.image_id(context.tag)
    built = await runtime.build(
        context.tar, context.tag, extra_tags=context.extra_tags, labels={HASH_LABEL: context.content_hash}
    )
    if previous is not None and previous != built:
        with contextlib.suppress(RuntimeError_):  # still used by a container, or tagged elsewhere
            await runtime.remove_image(previous)
    return context.tag
