"""What the registry benchmark stands on: generated OCI layouts, the CNCF registry, RSS sampling.

- `write_layout` writes an OCI image layout of fresh random layers. Each layer is a real tar (one
  file of random bytes) wrapped in gzip *stored* blocks (level 0): clients see an already
  compressed layer and copy it as it is (skopeo would otherwise gzip an uncompressed tar on the
  way: that measures its compressor, not the registry), while `docker load` still reads it. The
  bytes are an AES-CTR keystream under a fresh random key (3 GB/s, where os.urandom gives
  ~0.2 GB/s), so no two runs share a blob and nothing dedupes.
- `CncfRegistry` runs Debian's `docker-registry` (the CNCF distribution registry 2.8.2) as the
  baseline: its own config file, filesystem storage in a temporary directory, 127.0.0.1 on a free
  port, no auth, access log off; stopped by its pid.
- `RssSampler` reads a process's VmRSS every 50 ms in a thread, for a bounded time;
  `cpu_seconds` reads its CPU time.
- `HttpTarget` is the small keep-alive client (a raw socket) the latency loop times requests with.

The JSON documents (`oci_config`, `oci_manifest`, `oci_index`, `cncf_config`), `tar_header`,
`encode_request`, `parse_head`, `app_layer_sizes`, `mb_per_s` and `peak_above` are pure, for the unit tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import Process, free_port, http_ok, rss_kib, wait_until

__all__ = [
    "BLOB_INFO_CACHES",
    "CncfRegistry",
    "HttpTarget",
    "LAYER_GZIP",
    "Layer",
    "Layout",
    "MiB",
    "OCI_CONFIG",
    "OCI_MANIFEST",
    "RssSampler",
    "app_layer_sizes",
    "cncf_config",
    "cpu_seconds",
    "encode_request",
    "forget_blob_info",
    "mb_per_s",
    "oci_config",
    "oci_index",
    "oci_manifest",
    "parse_head",
    "peak_above",
    "tar_header",
    "write_layout",
]

MiB = 1024 * 1024
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
_BLOCK = 4 * MiB
# skopeo remembers where it saw each blob and mounts from there instead of uploading
# (reference/registry.md §5.2): root's cache, and a user's (containers/image's rootless path)
BLOB_INFO_CACHES = (
    Path("/var/lib/containers/cache/blob-info-cache-v1.boltdb"),
    Path.home() / ".local/share/containers/cache/blob-info-cache-v1.boltdb",
)

# -- pure helpers ----------------------------------------------------------------------------------


def mb_per_s(size: int, seconds: float) -> float:
    """Throughput in MB/s (10^6 bytes), NaN for a non-positive time."""
    return size / 1e6 / seconds if seconds > 0 else float("nan")


def peak_above(idle_kib: int, samples_kib: Sequence[int]) -> float:
    """The highest RSS sample above the idle RSS, in MiB (0 when it never rose)."""
    return max([0, *(s - idle_kib for s in samples_kib)]) / 1024


def app_layer_sizes() -> list[int]:
    """The 8 layers of the ~250 MB "app" image, largest first (bytes of random content)."""
    return [size * 1_000_000 for size in (80, 64, 40, 28, 20, 10, 6, 2)]


def tar_header(name: str, size: int) -> bytes:
    """The 512-byte ustar header of a regular file `name` of `size` bytes (mode 0644, epoch 0)."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _descriptor(media_type: str, digest: str, size: int) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest, "size": size}


def oci_config(diff_ids: Sequence[str]) -> dict[str, Any]:
    """An image config whose root filesystem is the given uncompressed layer digests."""
    return {
        "created": "1970-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "bench_registry"} for _ in diff_ids],
    }


def oci_manifest(config: tuple[str, int], layers: Sequence[tuple[str, int]]) -> dict[str, Any]:
    """An OCI image manifest for a config (digest, size) and gzip layers (digest, size)."""
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _descriptor(OCI_CONFIG, *config),
        "layers": [_descriptor(LAYER_GZIP, *layer) for layer in layers],
    }


def oci_index(manifest: tuple[str, int], tag: str) -> dict[str, Any]:
    """An OCI layout's index.json naming one manifest by `tag`."""
    descriptor = _descriptor(OCI_MANIFEST, *manifest)
    descriptor["annotations"] = {"org.opencontainers.image.ref.name": tag}
    return {"schemaVersion": 2, "manifests": [descriptor]}


def cncf_config(root: Path, port: int) -> str:
    """The CNCF registry's config: Debian's shipped one without auth and the health check, with
    storage under `root`, on 127.0.0.1:`port`, and quiet logs (no access log)."""
    config = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}, "fields": {"service": "registry"}},
        "storage": {
            "cache": {"blobdescriptor": "inmemory"},
            "filesystem": {"rootdirectory": str(root)},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"127.0.0.1:{port}", "headers": {"X-Content-Type-Options": ["nosniff"]}},
    }
    return json.dumps(config, indent=2) + "\n"  # YAML is a superset of JSON


# -- OCI layouts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layer:
    digest: str  # of the gzip blob
    size: int  # of the gzip blob
    diff_id: str  # of the tar inside


@dataclass(frozen=True, slots=True)
class Layout:
    path: Path
    tag: str
    layers: tuple[Layer, ...]
    manifest_digest: str
    config_digest: str

    @property
    def layer_bytes(self) -> int:
        return sum(layer.size for layer in self.layers)

    @property
    def oci_ref(self) -> str:
        return f"oci:{self.path}:{self.tag}"


def _keystream() -> Any:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    return Cipher(algorithms.AES(os.urandom(32)), modes.CTR(os.urandom(16))).encryptor()


def _write_blob(blobs: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return f"sha256:{digest}", len(data)


def _write_layer(blobs: Path, name: str, size: int) -> Layer:
    """A gzip (stored blocks) tar holding one file of `size` random bytes, hashed on the way:
    this thread makes and packs the bytes while a worker hashes and writes the previous block."""
    random = _keystream()
    zeros = bytes(_BLOCK)
    gzip = zlib.compressobj(0, zlib.DEFLATED, 31)
    tar_hash, blob_hash = hashlib.sha256(), hashlib.sha256()
    staging = blobs / f".{name}.partial"
    with open(staging, "wb") as out, ThreadPoolExecutor(1) as worker:
        pending: Future[None] | None = None

        def store(packed: bytes) -> None:
            blob_hash.update(packed)
            out.write(packed)

        def emit(tar_bytes: bytes, *, last: bool = False) -> None:
            nonlocal pending
            tar_hash.update(tar_bytes)
            packed = gzip.compress(tar_bytes) + (gzip.flush() if last else b"")
            if pending is not None:
                pending.result()  # at most two blocks in flight
            pending = worker.submit(store, packed)

        emit(tar_header(name, size))
        left = size
        while left > 0:
            step = min(_BLOCK, left)
            emit(random.update(zeros[:step]))
            left -= step
        emit(bytes(-size % 512 + 1024), last=True)  # pad to a block, then the end-of-archive blocks
        assert pending is not None
        pending.result()
        written = out.tell()
    digest = blob_hash.hexdigest()
    staging.rename(blobs / digest)
    return Layer(f"sha256:{digest}", written, f"sha256:{tar_hash.hexdigest()}")


def write_layout(path: Path, sizes: Sequence[int], tag: str = "latest") -> Layout:
    """An OCI image layout at `path` with one fresh random layer per entry of `sizes`."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    layers = tuple(_write_layer(blobs, f"layer{i}.bin", size) for i, size in enumerate(sizes))
    config = _write_blob(blobs, _canonical(oci_config([layer.diff_id for layer in layers])))
    manifest_doc = oci_manifest(config, [(layer.digest, layer.size) for layer in layers])
    manifest = _write_blob(blobs, _canonical(manifest_doc))
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (path / "index.json").write_bytes(_canonical(oci_index(manifest, tag)))
    return Layout(path, tag, layers, manifest[0], config[0])


def _canonical(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def forget_blob_info() -> None:
    """Delete skopeo's blob-info caches so the next copy uploads instead of mounting."""
    for cache in BLOB_INFO_CACHES:
        try:
            cache.unlink()
        except FileNotFoundError:
            pass


# -- the CNCF registry -----------------------------------------------------------------------------


class CncfRegistry:
    """Debian's `docker-registry` (distribution 2.8.2) on 127.0.0.1:<free port>, storage in `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.process: Process | None = None

    @staticmethod
    def binary() -> str | None:
        return shutil.which("docker-registry")

    @staticmethod
    def version() -> str:
        binary = CncfRegistry.binary()
        if binary is None:
            return "not installed"
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
        return (out.stdout or out.stderr).strip()

    def start(self, *, timeout: float = 30.0) -> None:
        binary = self.binary()
        if binary is None:
            raise RuntimeError("docker-registry is not installed (scripts/system-deps.sh --test)")
        root = self.workdir / "storage"
        root.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.yml"
        config.write_text(cncf_config(root, self.port))
        process = Process([binary, "serve", str(config)], self.workdir / "registry.log")
        self.process = process
        url = f"http://{self.host}/v2/"
        if (
            not wait_until(lambda: http_ok(url) or not process.alive(), timeout=timeout)
            or not process.alive()
        ):
            raise RuntimeError(f"docker-registry did not start:\n{process.output()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


# -- measuring -------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (from /proc/<pid>/stat; None if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler:
    """VmRSS of `pid` every `interval` seconds in a thread, for at most `limit` seconds."""

    def __init__(self, pid: int, *, interval: float = 0.05, limit: float = 600.0) -> None:
        self.pid = pid
        self.interval = interval
        self.limit = limit
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.limit
        while not self._stop.is_set() and time.monotonic() < deadline:
            rss = rss_kib(self.pid)
            if rss is None:
                return
            self.samples.append(rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5.0)


def encode_request(method: str, path: str, host: str, headers: Mapping[str, str]) -> bytes:
    """An HTTP/1.1 request without a body, keeping the connection alive."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse_head(head: bytes) -> tuple[int, int | None]:
    """(status, Content-Length or None) of a response's status line and headers."""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return status, length


class HttpTarget:
    """One keep-alive connection to a registry, for timing single requests.

    A raw socket with the request bytes made in advance and only the status line and
    Content-Length parsed: http.client's header parsing alone costs more (~0.5 ms on this VM)
    than a registry's answer, and the client shares the machine's two cores with the server."""

    def __init__(self, host: str, headers: Mapping[str, str]) -> None:
        address, port = host.rsplit(":", 1)
        self.host = host
        self.headers = dict(headers)
        self.sock = socket.create_connection((address, int(port)), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._pending = b""

    def request(self, method: str, path: str, headers: Mapping[str, str] | None = None) -> bytes:
        """The bytes of a request to this server, for `time`."""
        return encode_request(method, path, self.host, {**self.headers, **(headers or {})})

    def time(self, request: bytes, *, head: bool) -> float:
        """Seconds from sending `request` to having read the whole response (it must be 200)."""
        started = time.perf_counter()
        self.sock.sendall(request)
        data = self._pending
        while b"\r\n\r\n" not in data:
            data += self._recv()
        head_bytes, _, data = data.partition(b"\r\n\r\n")
        status, length = parse_head(head_bytes)
        body = 0 if head else length
        if body is None:
            raise RuntimeError(f"a response without Content-Length: {head_bytes[:300]!r}")
        while len(data) < body:
            data += self._recv()
        elapsed = time.perf_counter() - started
        self._pending = data[body:]
        if status != 200:
            raise RuntimeError(f"{request.split(b' HTTP')[0]!r}: {status} {head_bytes[:300]!r}")
        return elapsed

    def _recv(self) -> bytes:
        chunk = self.sock.recv(256 * 1024)
        if not chunk:
            raise RuntimeError(f"{self.host} closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()
