"""`dockyard images build NAME`: build one of the small images into the local Docker engine."""

from __future__ import annotations

from dockyard.agent.runtime.docker import DockerRuntime
from dockyard.images import ensure_image

__all__ = ["build_image"]


async def build_image(name: str) -> int:
    runtime = DockerRuntime.from_env()
    try:
        tag = await ensure_image(runtime, name)
    finally:
        await runtime.close()
    print(tag)
    return 0
