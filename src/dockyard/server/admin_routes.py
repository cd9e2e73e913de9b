"""Dockyard's own endpoints: health and the state reset used by test suites."""

from __future__ import annotations

from aiohttp import web

from dockyard import __version__
from dockyard.store import Store

__all__ = ["install"]


def install(app: web.Application, store: Store) -> None:
    async def reset(_: web.Request) -> web.Response:
        await store.reset()
        return web.json_response({"status": "ok"})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "version": __version__})

    app.router.add_post("/_dockyard/reset", reset)
    app.router.add_post("/moto-api/reset", reset)
    app.router.add_get("/_dockyard/health", health)
    app.router.add_get("/health", health)
