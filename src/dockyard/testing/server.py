"""Run a Dockyard server in a background thread, for tests and benchmarks that drive it over HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from dockyard.core.clock import Clock
from dockyard.server.app import Server
from dockyard.server.settings import Settings

__all__ = ["ThreadedServer"]

T = TypeVar("T")


class ThreadedServer:
    """`with ThreadedServer() as s: boto3.client("ecs", endpoint_url=s.endpoint, ...)`"""

    def __init__(
        self,
        *,
        data_dir: Path | None = None,
        port: int = 0,
        clock: Clock | None = None,
        **settings: Any,
    ) -> None:
        """`clock`: e.g. a `FakeClock` (advance it with `advance`); `settings`: other `Settings` fields."""
        self.settings = Settings(port=port, data_dir=data_dir, **settings)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="dockyard-server", daemon=True)
        self.server = Server(self.settings) if clock is None else Server(self.settings, clock=clock)

    def advance(self, seconds: float) -> None:
        """Move a `FakeClock` on, from the server's own thread (its timers resolve there)."""
        clock = self.server.clock

        async def advance() -> None:
            clock.advance(seconds)  # type: ignore[attr-defined]

        self.run(advance())

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def start(self) -> ThreadedServer:
        self._thread.start()
        self.run(self.server.start())
        return self

    def stop(self) -> None:
        self.run(self.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
