"""The agent channel over HTTP (being written)."""

from __future__ import annotations

from aiohttp import web

from dockyard.services.ecs.deps import Ecs

__all__ = ["install"]


def install(app: web.Application, ecs: Ecs) -> None:
    pass
