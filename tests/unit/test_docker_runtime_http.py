"""DockerRuntime's HTTP conversation, against a scripted engine on a Unix socket: version
negotiation, pull streams (progress, errors inside the stream, registry auth) and build errors."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from dockyard.agent.runtime.docker import DockerRuntime
from dockyard.agent.runtime.protocol import ImageNotFound, RegistryAuth, RuntimeError_

Handler = Callable[[web.Request], Any]


class Engine:
    """A minimal engine: GET /version, plus whatever routes a test adds."""

    def __init__(self, api_version: str) -> None:
        self.api_version = api_version
        self.requests: list[web.Request] = []
        self.app = web.Application()
        self.app.router.add_get("/version", self.version)
        self.app.middlewares.append(self.record)

    @web.middleware
    async def record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(request)
        response: web.StreamResponse = await handler(request)
        return response

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"Version": "test", "ApiVersion": self.api_version, "Os": "linux"})


async def stream(request: web.Request, messages: list[dict[str, Any]]) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    for message in messages:
        await response.write(json.dumps(message).encode() + b"\r\n")
    await response.write_eof()
    return response


@pytest.fixture
async def engine_at(tmp_path: Path) -> AsyncIterator[Callable[[Engine], Any]]:
    runners: list[web.AppRunner] = []
    runtimes: list[DockerRuntime] = []

    async def start(engine: Engine) -> DockerRuntime:
        runner = web.AppRunner(engine.app)
        await runner.setup()
        socket_path = str(tmp_path / f"engine{len(runners)}.sock")
        await web.UnixSite(runner, socket_path).start()
        runners.append(runner)
        runtimes.append(DockerRuntime(socket_path))
        return runtimes[-1]

    yield start
    for runtime in runtimes:
        await runtime.close()
    for runner in runners:
        await runner.cleanup()


async def test_api_version_is_the_lower_of_engine_and_141(engine_at):
    old = await engine_at(Engine("1.40"))
    new = await engine_at(Engine("1.45"))
    assert await old.api_version() == "1.40" and await new.api_version() == "1.41"
    assert (await new.version())["Version"] == "test"


async def test_pull_streams_progress_sends_auth_and_returns_the_image_id(engine_at):
    engine = Engine("1.41")

    async def create(request: web.Request) -> web.StreamResponse:
        return await stream(request, [{"status": "Pulling from app"}, {"status": "Digest: sha256:ab"}])

    async def inspect(request: web.Request) -> web.Response:
        return web.json_response({"Id": "sha256:123", "RepoDigests": ["reg:5000/app@sha256:ab"]})

    engine.app.router.add_post("/v1.41/images/create", create)
    engine.app.router.add_get("/v1.41/images/{name:.*}/json", inspect)
    runtime = await engine_at(engine)
    auth = RegistryAuth("AWS", "secret", "reg:5000")
    assert await runtime.pull("reg:5000/app", auth=auth) == "sha256:123"
    pull = next(r for r in engine.requests if r.path == "/v1.41/images/create")
    assert pull.query["fromImage"] == "reg:5000/app:latest"
    sent = json.loads(base64.urlsafe_b64decode(pull.headers["X-Registry-Auth"]))
    assert sent == {"username": "AWS", "password": "secret", "serveraddress": "reg:5000"}
    assert await runtime.image_digest("reg:5000/app:latest") == "sha256:ab"


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("manifest for app:9 not found: manifest unknown: manifest unknown", ImageNotFound),
        (
            "pull access denied for app, repository does not exist or may require 'docker login'",
            ImageNotFound,
        ),
        ('Get "https://reg/v2/": dial tcp: lookup reg: no such host', ImageNotFound),
        ("unauthorized: authentication required", RuntimeError_),
        ("failed to register layer: no space left on device", RuntimeError_),
    ],
)
async def test_pull_errors_inside_the_stream(engine_at, message, error):
    engine = Engine("1.41")

    async def create(request: web.Request) -> web.StreamResponse:
        return await stream(
            request, [{"status": "Pulling"}, {"errorDetail": {"message": message}, "error": message}]
        )

    engine.app.router.add_post("/v1.41/images/create", create)
    runtime = await engine_at(engine)
    with pytest.raises(error) as raised:
        await runtime.pull("app:9")
    assert type(raised.value) is error and str(raised.value) == message


async def test_pull_error_before_the_stream(engine_at):
    engine = Engine("1.41")

    async def create(request: web.Request) -> web.Response:
        return web.json_response({"message": "manifest unknown"}, status=404)

    engine.app.router.add_post("/v1.41/images/create", create)
    runtime = await engine_at(engine)
    with pytest.raises(ImageNotFound, match="manifest unknown"):
        await runtime.pull("app:9")


async def test_build_failure_carries_the_engine_message_and_output(engine_at):
    engine = Engine("1.41")

    async def build(request: web.Request) -> web.StreamResponse:
        assert request.query.getall("t") == ["a:1", "a:latest"]
        assert json.loads(request.query["labels"]) == {"k": "v"}
        await request.read()
        return await stream(
            request,
            [
                {"stream": "Step 1/2 : FROM scratch\n"},
                {"errorDetail": {"message": "COPY failed"}, "error": "x"},
            ],
        )

    engine.app.router.add_post("/v1.41/build", build)
    runtime = await engine_at(engine)
    with pytest.raises(RuntimeError_, match="build of a:1 failed: COPY failed\nStep 1/2"):
        await runtime.build(b"tar", "a:1", extra_tags=["a:latest"], labels={"k": "v"})
