"""The Docker Engine HTTP transport: one aiohttp session over the engine's Unix socket.

Owns API version negotiation (``GET /version``, then every path is prefixed with
``/v<min(engine, 1.41)>``), request helpers that decode JSON, streaming helpers for the
engine's newline-delimited JSON progress streams, and the mapping of engine errors onto the
runtime's exceptions:

    404 "No such image..."           -> ImageNotFound
    404 "...No such container..."    -> ContainerNotFound
    404 (anything else)              -> the caller's `not_found`, else RuntimeError_
    "port is already allocated" /
    "address already in use"         -> PortInUse
    anything else >= 400             -> RuntimeError_(engine message)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, BinaryIO

import aiohttp

from dockyard.agent.runtime.protocol import ContainerNotFound, ImageNotFound, PortInUse, RuntimeError_

__all__ = ["MAX_API_VERSION", "DockerClient", "engine_error", "iter_json_stream"]

MAX_API_VERSION = "1.41"
_PORT_IN_USE = ("port is already allocated", "address already in use")

Params = Mapping[str, str] | Sequence[tuple[str, str]] | None


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def engine_error(status: int, message: str, *, not_found: type[RuntimeError_] | None = None) -> RuntimeError_:
    """The runtime exception for an engine error response (classified by message first)."""
    lowered = message.lower()
    if any(marker in lowered for marker in _PORT_IN_USE):
        return PortInUse(message)
    if status == 404:
        if "no such image" in lowered or "reference does not exist" in lowered:
            return ImageNotFound(message)
        if "no such container" in lowered:
            return ContainerNotFound(message)
        if not_found is not None:
            return not_found(message)
    return RuntimeError_(message or f"docker engine answered HTTP {status}")


async def _error_message(resp: aiohttp.ClientResponse) -> str:
    body = await resp.read()
    try:
        doc = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        return str(doc["message"])
    return body.decode("utf-8", "replace").strip()


async def iter_json_stream(resp: aiohttp.ClientResponse) -> AsyncGenerator[dict[str, Any], None]:
    """The JSON objects of a newline-delimited engine stream (pull, build, events)."""
    buffer = b""
    async for chunk in resp.content.iter_any():
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield json.loads(line)
    if buffer.strip():
        yield json.loads(buffer)


class DockerClient:
    """Low-level access to the engine. Sessions are created lazily on the running loop."""

    def __init__(self, socket_path: str = "/var/run/docker.sock") -> None:
        self.socket_path = socket_path
        self._session: aiohttp.ClientSession | None = None
        self._prefix: str | None = None
        self._version_doc: dict[str, Any] | None = None
        self._lock = asyncio.Lock()
        self._open: set[aiohttp.ClientResponse] = set()  # responses being read (streams included)
        self.closed = False

    async def _ready(self) -> tuple[aiohttp.ClientSession, str]:
        if self._session is not None and self._prefix is not None:
            return self._session, self._prefix
        async with self._lock:
            if self.closed:
                raise RuntimeError_("the Docker runtime is closed")
            if self._session is None:
                connector = aiohttp.UnixConnector(path=self.socket_path, limit=0)
                self._session = aiohttp.ClientSession(
                    base_url="http://docker",
                    connector=connector,
                    timeout=aiohttp.ClientTimeout(total=None, connect=30),
                )
            if self._prefix is None:
                async with self._session.get("/version") as resp:
                    if resp.status >= 400:
                        raise engine_error(resp.status, await _error_message(resp))
                    doc = await resp.json()
                engine = str(doc.get("ApiVersion") or MAX_API_VERSION)
                chosen = min(engine, MAX_API_VERSION, key=_version_tuple)
                self._version_doc = doc
                self._prefix = f"/v{chosen}"
            return self._session, self._prefix

    async def version(self) -> dict[str, Any]:
        await self._ready()
        assert self._version_doc is not None
        return dict(self._version_doc)

    async def api_version(self) -> str:
        _, prefix = await self._ready()
        return prefix[2:]

    @asynccontextmanager
    async def open(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json_body: Any = None,
        data: BinaryIO | None = None,
        headers: Mapping[str, str] | None = None,
        not_found: type[RuntimeError_] | None = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A raw response for streaming; engine errors are raised before the body is read."""
        session, prefix = await self._ready()
        try:
            async with session.request(
                method, prefix + path, params=params, json=json_body, data=data, headers=headers
            ) as resp:
                if resp.status >= 400 and resp.status not in ok_statuses:
                    raise engine_error(resp.status, await _error_message(resp), not_found=not_found)
                self._open.add(resp)
                try:
                    yield resp
                finally:
                    self._open.discard(resp)
        except aiohttp.ClientError as exc:  # connection lost, payload cut short
            if self.closed:
                raise RuntimeError_("the Docker runtime is closed") from exc
            raise RuntimeError_(f"cannot talk to the Docker engine at {self.socket_path}: {exc}") from exc

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json_body: Any = None,
        not_found: type[RuntimeError_] | None = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> tuple[int, Any]:
        """One request: the status and the decoded JSON body (None when empty)."""
        async with self.open(
            method, path, params=params, json_body=json_body, not_found=not_found, ok_statuses=ok_statuses
        ) as resp:
            body = await resp.read()
            if not body.strip():
                return resp.status, None
            try:
                return resp.status, json.loads(body)
            except ValueError:
                return resp.status, body.decode("utf-8", "replace")

    async def close(self) -> None:
        """Ends open streams (their readers see the runtime closed) and the session."""
        self.closed = True
        for resp in list(self._open):
            resp.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
