"""`DockerRuntime`: the `ContainerRuntime` protocol over the Docker Engine HTTP API.

Talks to the engine's Unix socket with one shared aiohttp session (see `_docker_client`), at
API version ``min(engine, 1.41)``; documents are translated by `_docker_convert`. Beyond the
protocol it offers what image building, cleanup and tests need: `build`, `remove_image`,
`image_labels`, `connect_network`, `network_id`, `networks` and `volumes` (by label), `api_version`.

Streams (``events``, ``logs(follow=True)``) are async generators holding one engine
connection each; leaving them (``break`` inside ``contextlib.aclosing``, or cancellation)
releases the connection, and `close()` ends them (an event stream then simply stops).
"""

from __future__ import annotations

import asyncio
import builtins
import json
import math
import os
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, TypeVar

from dockyard.agent.runtime._docker_client import DockerClient, iter_json_stream
from dockyard.agent.runtime._docker_convert import container_state, create_body, runtime_event, since_param
from dockyard.agent.runtime._docker_images import DockerImages, quote_name
from dockyard.agent.runtime._docker_logs import LogDemuxer
from dockyard.agent.runtime.log_frames import read_frames
from dockyard.agent.runtime.protocol import (
    ContainerNotFound,
    ContainerRuntime,
    ContainerSpec,
    ContainerState,
    ExitStatus,
    LogFrame,
    RegistryAuth,
    RuntimeError_,
    RuntimeEvent,
)
from dockyard.core.clock import Clock, SystemClock

__all__ = ["DockerRuntime"]

_T = TypeVar("_T")

_DEFAULT_SOCKET = "/var/run/docker.sock"


def _label_filters(labels: Mapping[str, str]) -> str:
    return json.dumps({"label": [f"{key}={value}" for key, value in sorted(labels.items())]})


class DockerRuntime:
    """A `ContainerRuntime` backed by a local Docker engine."""

    def __init__(self, socket_path: str = _DEFAULT_SOCKET, *, clock: Clock | None = None) -> None:
        self._client = DockerClient(socket_path)
        self._images = DockerImages(self._client)
        self._clock: Clock = clock or SystemClock()
        self._network_locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def from_env(cls, *, clock: Clock | None = None) -> DockerRuntime:
        """Honours ``DOCKER_HOST=unix:///path``; otherwise the default socket."""
        host = os.environ.get("DOCKER_HOST", "")
        return cls(
            host.removeprefix("unix://") if host.startswith("unix://") else _DEFAULT_SOCKET, clock=clock
        )

    async def close(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> DockerRuntime:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def version(self) -> Mapping[str, Any]:
        return await self._client.version()

    async def api_version(self) -> str:
        """The API version in use: ``min(engine's ApiVersion, 1.41)``."""
        return await self._client.api_version()

    # images ---------------------------------------------------------------------------------

    async def image_id(self, image: str) -> str | None:
        return await self._images.image_id(image)

    async def image_labels(self, image: str) -> Mapping[str, str] | None:
        """The labels of a local image (None when the image is not present)."""
        return await self._images.image_labels(image)

    async def image_digest(self, image: str) -> str | None:
        return await self._images.image_digest(image)

    async def pull(self, image: str, *, auth: RegistryAuth | None = None) -> str:
        return await self._images.pull(image, auth=auth)

    async def build(
        self,
        context_tar: bytes,
        tag: str,
        *,
        extra_tags: Sequence[str] = (),
        labels: Mapping[str, str] | None = None,
    ) -> str:
        """Build an image from an in-memory tar context (``Dockerfile`` at its root); its id."""
        return await self._images.build(context_tar, tag, extra_tags=extra_tags, labels=labels)

    async def remove_image(self, image: str, *, force: bool = False) -> None:
        await self._images.remove_image(image, force=force)

    # containers -----------------------------------------------------------------------------

    async def create(self, spec: ContainerSpec) -> str:
        _, doc = await self._client.call(
            "POST", "/containers/create", params={"name": spec.name}, json_body=create_body(spec)
        )
        return str(doc["Id"])

    async def start(self, container_id: str) -> None:
        await self._client.call(
            "POST", f"/containers/{container_id}/start", not_found=ContainerNotFound, ok_statuses=(304,)
        )

    async def wait(self, container_id: str) -> ExitStatus:
        """Waits until the container is not running (returns at once for a stopped one)."""
        _, doc = await self._client.call(
            "POST",
            f"/containers/{container_id}/wait",
            params={"condition": "not-running"},
            not_found=ContainerNotFound,
        )
        error = ((doc or {}).get("Error") or {}).get("Message") or ""
        try:
            oom_killed = (await self.inspect(container_id)).oom_killed
        except ContainerNotFound:
            oom_killed = False
        return ExitStatus(exit_code=int(doc["StatusCode"]), oom_killed=oom_killed, error=error)

    async def stop(self, container_id: str, *, timeout: float) -> None:
        await self._client.call(
            "POST",
            f"/containers/{container_id}/stop",
            params={"t": str(max(0, math.ceil(timeout)))},
            not_found=ContainerNotFound,
            ok_statuses=(304,),
        )

    async def kill(self, container_id: str, *, signal: str = "SIGKILL") -> None:
        await self._client.call(
            "POST", f"/containers/{container_id}/kill", params={"signal": signal}, not_found=ContainerNotFound
        )

    async def remove(self, container_id: str, *, force: bool = False) -> None:
        """Removes the container and its anonymous volumes."""
        await self._client.call(
            "DELETE",
            f"/containers/{container_id}",
            params={"force": "1" if force else "0", "v": "1"},
            not_found=ContainerNotFound,
        )

    async def inspect(self, container_id: str) -> ContainerState:
        _, doc = await self._client.call(
            "GET", f"/containers/{container_id}/json", not_found=ContainerNotFound
        )
        return container_state(doc)

    async def list(self, *, labels: Mapping[str, str]) -> list[ContainerState]:
        params = {"all": "1", "filters": _label_filters(labels)}
        _, found = await self._client.call("GET", "/containers/json", params=params)

        async def one(container_id: str) -> ContainerState | None:
            try:
                return await self.inspect(container_id)
            except ContainerNotFound:  # removed since the listing
                return None

        states = await asyncio.gather(*(one(str(c["Id"])) for c in found or ()))
        return [state for state in states if state is not None]

    def events(self, *, labels: Mapping[str, str]) -> AsyncIterator[RuntimeEvent]:
        # `since` is taken now, not when iteration starts, so nothing between the call and the
        # first `__anext__` is lost (the engine replays its recent events from `since`).
        return self._until_closed(self._events(labels, since=self._clock.now()))

    async def _until_closed(self, stream: AsyncGenerator[_T, None]) -> AsyncIterator[_T]:
        """`stream`, ending quietly once the runtime is closed. Other failures (the engine went
        away) are raised: the consumer decides whether to reconnect."""
        try:
            async with aclosing(stream) as items:
                async for item in items:
                    yield item
        except RuntimeError_:
            if not self._client.closed:
                raise

    async def _events(self, labels: Mapping[str, str], *, since: float) -> AsyncGenerator[RuntimeEvent, None]:
        filters = {"type": ["container"], "label": [f"{k}={v}" for k, v in sorted(labels.items())]}
        params = {"since": f"{since:.9f}", "filters": json.dumps(filters)}
        async with self._client.open("GET", "/events", params=params) as resp:
            async with aclosing(iter_json_stream(resp)) as messages:
                async for message in messages:
                    if message.get("Type", "container") == "container":
                        yield runtime_event(message)

    def logs(
        self, container_id: str, *, since: float | None = None, follow: bool = False
    ) -> AsyncIterator[bytes]:
        """Output lines of stdout and stderr, without their trailing newline."""
        return self._until_closed(self._logs(container_id, since=since, follow=follow))

    async def _logs(
        self, container_id: str, *, since: float | None, follow: bool
    ) -> AsyncGenerator[bytes, None]:
        _, doc = await self._client.call(
            "GET", f"/containers/{container_id}/json", not_found=ContainerNotFound
        )
        multiplexed = not (doc.get("Config") or {}).get("Tty", False)
        # Follow streams carry timestamps so the tail the engine drops can be re-read (_docker_logs).
        demuxer = LogDemuxer(multiplexed=multiplexed, timestamps=follow and multiplexed)
        params = {"stdout": "1", "stderr": "1", "follow": "1" if follow else "0"}
        params["timestamps"] = "1" if demuxer.timestamps else "0"
        if since is not None:
            params["since"] = f"{since:.9f}"
        path = f"/containers/{container_id}/logs"
        async with self._client.open("GET", path, params=params, not_found=ContainerNotFound) as resp:
            async for chunk in resp.content.iter_any():
                for line in demuxer.feed(chunk):
                    yield line
        if demuxer.timestamps:
            demuxer.begin_replay()
            params["follow"] = "0"
            if demuxer.last_timestamp is not None:
                params["since"] = since_param(demuxer.last_timestamp)
            try:
                async with self._client.open("GET", path, params=params, not_found=ContainerNotFound) as resp:
                    for line in demuxer.feed(await resp.read()):
                        yield line
            except ContainerNotFound:  # removed as its stream ended: nothing more to read
                pass
        for line in demuxer.flush():
            yield line

    def log_frames(
        self, container_id: str, *, since: str | None = None, follow: bool = False
    ) -> AsyncIterator[LogFrame]:
        """Timestamped output messages (for awslogs shipping; see `log_frames`)."""
        return self._until_closed(read_frames(self._client, container_id, since=since, follow=follow))

    async def stats(self, container_id: str) -> Mapping[str, Any]:
        _, doc = await self._client.call(
            "GET",
            f"/containers/{container_id}/stats",
            params={"stream": "false"},
            not_found=ContainerNotFound,
        )
        return dict(doc)

    # networks -------------------------------------------------------------------------------

    async def network_id(self, name: str) -> str | None:
        """The id of the network called exactly `name`, if any."""
        params = {"filters": json.dumps({"name": [name]})}
        _, found = await self._client.call("GET", "/networks", params=params)
        return next((str(n["Id"]) for n in found or () if n.get("Name") == name), None)

    async def ensure_network(self, name: str, *, subnet: str, gateway: str, labels: Mapping[str, str]) -> str:
        lock = self._network_locks.setdefault(name, asyncio.Lock())
        async with lock:
            existing = await self.network_id(name)
            if existing is not None:
                return existing
            body = {
                "Name": name,
                "Driver": "bridge",
                "CheckDuplicate": True,
                "IPAM": {"Driver": "default", "Config": [{"Subnet": subnet, "Gateway": gateway}]},
                "Labels": dict(labels),
            }
            try:
                _, doc = await self._client.call("POST", "/networks/create", json_body=body)
            except RuntimeError_:
                # Another process may be creating it: the engine then answers with a name conflict
                # or, as the subnet is taken, "Pool overlaps with other one", possibly before the
                # network is listed. Look for it for a moment before giving up.
                for _ in range(20):
                    existing = await self.network_id(name)
                    if existing is not None:
                        return existing
                    await self._clock.sleep(0.05)
                raise
            return str(doc["Id"])

    async def networks(self, *, labels: Mapping[str, str]) -> builtins.list[str]:
        """The names of the networks carrying every one of `labels`."""
        _, found = await self._client.call("GET", "/networks", params={"filters": _label_filters(labels)})
        return [str(n["Name"]) for n in found or ()]

    async def remove_network(self, name: str) -> None:
        """Removes the network; a network that does not exist is not an error."""
        await self._client.call("DELETE", f"/networks/{quote_name(name)}", ok_statuses=(404,))

    async def connect_network(
        self, network: str, container_id: str, *, ip_address: str | None = None, aliases: Sequence[str] = ()
    ) -> None:
        """Attach a container to a further network, optionally at a fixed address."""
        endpoint: dict[str, Any] = {"Aliases": list(aliases)}
        if ip_address:
            endpoint["IPAMConfig"] = {"IPv4Address": ip_address}
        await self._client.call(
            "POST",
            f"/networks/{quote_name(network)}/connect",
            json_body={"Container": container_id, "EndpointConfig": endpoint},
        )

    # volumes --------------------------------------------------------------------------------

    async def create_volume(
        self,
        name: str,
        *,
        driver: str = "local",
        driver_opts: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        body = {
            "Name": name,
            "Driver": driver,
            "DriverOpts": dict(driver_opts or {}),
            "Labels": dict(labels or {}),
        }
        _, doc = await self._client.call("POST", "/volumes/create", json_body=body)
        return str(doc["Name"])

    async def volumes(self, *, labels: Mapping[str, str]) -> builtins.list[str]:
        """The names of the volumes carrying every one of `labels`."""
        _, found = await self._client.call("GET", "/volumes", params={"filters": _label_filters(labels)})
        return [str(v["Name"]) for v in (found or {}).get("Volumes") or ()]

    async def remove_volume(self, name: str) -> None:
        """Removes the volume; a volume that does not exist is not an error."""
        await self._client.call("DELETE", f"/volumes/{quote_name(name)}", ok_statuses=(404,))

    async def volume_exists(self, name: str) -> bool:
        status, _ = await self._client.call("GET", f"/volumes/{quote_name(name)}", ok_statuses=(404,))
        return status != 404


if TYPE_CHECKING:  # mypy holds the runtime to the protocol
    _conforms: type[ContainerRuntime] = DockerRuntime
