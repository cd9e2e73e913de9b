"""Dockyard's own images on the real engine: build them, run hello, talk HTTP to it."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from aiohttp import web

from dockyard.agent.runtime.docker import DockerRuntime
from dockyard.agent.runtime.protocol import ContainerSpec, PortBinding
from dockyard.images import HASH_LABEL, build_context, ensure_image

pytestmark = pytest.mark.docker

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Net:
    name: str
    gateway: str
    prefix: str  # "10.214.N."


@pytest.fixture
async def network(docker_runtime: DockerRuntime, docker_labels: dict[str, str]) -> Net:
    octet = random.randint(1, 254)
    name = f"dytest-img-{uuid.uuid4().hex[:8]}"
    prefix = f"10.214.{octet}."
    await docker_runtime.ensure_network(
        name, subnet=f"{prefix}0/24", gateway=f"{prefix}1", labels=docker_labels
    )
    return Net(name, f"{prefix}1", prefix)


@pytest.fixture
async def metadata_server(network: Net) -> AsyncIterator[str]:
    """A stand-in for the task metadata endpoint, on the network's gateway address."""

    async def task(request: web.Request) -> web.Response:
        return web.json_response({"Cluster": "default", "TaskARN": TASK_ARN, "Family": "hello"})

    app = web.Application()
    app.router.add_get("/v4/abc/task", task)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, network.gateway, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://{network.gateway}:{port}/v4/abc"
    finally:
        await runner.cleanup()


def get(url: str, *, accept: str | None = None, timeout: float = 10.0) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                return resp.status, dict(resp.headers), resp.read().decode()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def raw_http(host: str, port: int, request: bytes) -> bytes:
    with socket.create_connection((host, port), timeout=5) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


async def run_hello(
    runtime: DockerRuntime, labels: dict[str, str], net: Net, image: str, *, env: dict[str, str] | None = None
) -> tuple[str, str, str]:
    ip = f"{net.prefix}{random.randint(10, 250)}"
    hostname = f"hello-{uuid.uuid4().hex[:6]}"
    spec = ContainerSpec(
        name=f"dytest-{uuid.uuid4().hex[:12]}",
        image=image,
        labels=labels,
        network_mode=net.name,
        ip_address=ip,
        hostname=hostname,
        env=env or {},
    )
    container_id = await runtime.create(spec)
    await runtime.start(container_id)
    return container_id, ip, hostname


async def test_hello_answers_http_with_path_hostname_and_task(
    docker_runtime, docker_labels, network, metadata_server
):
    image = await ensure_image(docker_runtime, "hello")
    assert image == "dockyard/hello:latest"
    assert await docker_runtime.image_id("dockyard/hello:v1") == await docker_runtime.image_id(image)
    env = {"ECS_CONTAINER_METADATA_URI_V4": metadata_server}
    container_id, ip, hostname = await run_hello(docker_runtime, docker_labels, network, image, env=env)

    status, headers, body = await asyncio.to_thread(get, f"http://{ip}/some/path?q=1")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert int(headers["Content-Length"]) == len(body.encode())
    assert headers["Connection"] == "close"
    assert "Request: GET /some/path?q=1" in body
    assert f"Server name: {hostname}" in body
    assert f"Server address: {ip}" in body
    assert f"Task: {TASK_ARN}" in body and "Task ID: 0123456789abcdef0123456789abcdef" in body
    assert "Version: 1" in body

    _, headers, body = await asyncio.to_thread(get, f"http://{ip}/status.json")
    assert headers["Content-Type"] == "application/json"
    doc = json.loads(body)
    assert doc["path"] == "/status.json" and doc["method"] == "GET" and doc["hostname"] == hostname
    assert doc["addresses"] == [ip] and doc["task_arn"] == TASK_ARN and doc["version"] == "1"
    _, _, body = await asyncio.to_thread(get, f"http://{ip}/x", accept="application/json")
    assert json.loads(body)["path"] == "/x"

    await docker_runtime.stop(container_id, timeout=10)  # its shell traps SIGTERM: a quick, clean exit
    assert (await docker_runtime.wait(container_id)).exit_code == 0


async def test_hello_serves_http10_clients_posts_and_concurrent_requests(
    docker_runtime, docker_labels, network
):
    image = await ensure_image(docker_runtime, "hello")
    _, ip, hostname = await run_hello(docker_runtime, docker_labels, network, image)
    await asyncio.to_thread(get, f"http://{ip}/warmup")  # wait until it listens

    reply = await asyncio.to_thread(raw_http, ip, 80, b"GET /old HTTP/1.0\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Task: unknown" in body and b"Request: GET /old" in body
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1]
    )
    assert length == len(body)

    post = (
        b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello=world"
    )
    reply = await asyncio.to_thread(raw_http, ip, 80, post)
    assert reply.startswith(b"HTTP/1.1 200 OK") and b"Request: POST /form" in reply

    reply = await asyncio.to_thread(raw_http, ip, 80, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 OK") and reply.endswith(b"\r\n\r\n")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = await asyncio.gather(
            *(asyncio.get_running_loop().run_in_executor(pool, get, f"http://{ip}/c/{n}") for n in range(40))
        )
    assert all(status == 200 for status, _, _ in results)
    assert [f"Request: GET /c/{n}" in body for n, (_, _, body) in enumerate(results)] == [True] * 40
    assert all(f"Server name: {hostname}" in body for _, _, body in results)


async def test_hello_port_variable_and_publishing(docker_runtime, docker_labels):
    image = await ensure_image(docker_runtime, "hello")
    address = f"127.0.0.{random.randint(10, 250)}"
    spec = ContainerSpec(
        name=f"dytest-{uuid.uuid4().hex[:12]}",
        image=image,
        labels=docker_labels,
        env={"PORT": "8081"},
        ports=(PortBinding(8081, 0, "tcp", address),),
    )
    container_id = await docker_runtime.create(spec)
    await docker_runtime.start(container_id)
    (published,) = (await docker_runtime.inspect(container_id)).ports
    status, _, body = await asyncio.to_thread(get, f"http://{address}:{published.host_port}/p")
    assert status == 200 and "Request: GET /p" in body


async def test_versioned_variant_and_rebuild_on_changed_content(docker_runtime, docker_labels, network):
    tag = f"hello:v{random.randint(100, 999)}"
    try:
        image = await ensure_image(docker_runtime, tag)
        assert image == f"dockyard/{tag}"
        _, ip, _ = await run_hello(docker_runtime, docker_labels, network, image)
        _, _, body = await asyncio.to_thread(get, f"http://{ip}/")
        assert f"Version: {tag.split(':v')[1]}" in body

        built = await docker_runtime.image_id(image)
        assert await ensure_image(docker_runtime, tag) == image  # cached: no rebuild
        assert await docker_runtime.image_id(image) == built

        # An image under this tag from other content (a stale hash) is rebuilt.
        stale = build_context("busybox").tar
        stale_id = await docker_runtime.build(stale, image, labels={HASH_LABEL: "stale"})
        assert (await docker_runtime.image_labels(image) or {})[HASH_LABEL] == "stale"
        await ensure_image(docker_runtime, tag)
        assert (await docker_runtime.image_labels(image) or {})[HASH_LABEL] == build_context(tag).content_hash
        assert await docker_runtime.image_id(stale_id) is None  # the replaced image is cleaned up
    finally:
        for container in await docker_runtime.list(labels=docker_labels):
            await docker_runtime.remove(container.id, force=True)
        await docker_runtime.remove_image(f"dockyard/{tag}", force=True)
