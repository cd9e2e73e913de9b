"""Fixtures for real-Docker tests: a `DockerRuntime` and a label that marks what a test created.

Everything a test creates must carry `docker_labels`; after each test, containers, networks
and volumes with that label are removed (containers first, forcibly).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from dockyard.agent.runtime.docker import DockerRuntime
from dockyard.agent.runtime.protocol import RuntimeError_

RUN_ID = uuid.uuid4().hex[:10]


@pytest.fixture
def docker_labels() -> dict[str, str]:
    return {"dockyard.test.run": RUN_ID}


@pytest.fixture
async def docker_runtime(docker_labels: dict[str, str]) -> AsyncIterator[DockerRuntime]:
    runtime = DockerRuntime()
    try:
        yield runtime
    finally:
        for container in await runtime.list(labels=docker_labels):
            with contextlib.suppress(RuntimeError_):
                await runtime.remove(container.id, force=True)
        for network in await runtime.networks(labels=docker_labels):
            await runtime.remove_network(network)
        for volume in await runtime.volumes(labels=docker_labels):
            await runtime.remove_volume(volume)
        await runtime.close()


@pytest.fixture(scope="session")
def built_images() -> None:
    """The images the end-to-end tests run, built once per session from local files."""
    import asyncio

    from dockyard.images import ensure_image

    async def build() -> None:
        runtime = DockerRuntime()
        try:
            for name in ("busybox", "hello"):
                await ensure_image(runtime, name)
        finally:
            await runtime.close()

    asyncio.run(build())
