"""Dockyard's own endpoints: health and the state reset used by test suites."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiohttp import web

from dockyard import __version__
from dockyard.store import Store

__all__ = ["install"]


def install(app: web.Application, store: Store, *, also_reset: Sequence[Callable[[], None]] = ()) -> None:
    """`also_reset`: state kept outside the store (CloudWatch's datapoints) that a reset clears too."""

    async def reset(_: web.Request) -> web.Response:
        await store.reset()
        for clear in also_reset:
            clear()
        return web.json_response({"status": "ok"})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "version": __version__})

    app.router.add_post("/_dockyard/reset", reset)
    app.router.add_post("/moto-api/reset", reset)
    app.router.add_get("/_dockyard/health", health)
    app.router.add_get("/health", health)
