"""Delivers task reports to the control plane: latest snapshot per task, batched, retried.

Each report is a full snapshot of a task's observed state, and the server merges them
monotonically, so coalescing (sending only the newest snapshot of a task) loses nothing and a
retry after a failure is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Reporter"]

log = logging.getLogger(__name__)

Send = Callable[[list[dict[str, Any]]], Awaitable[Any]]


class Reporter:
    def __init__(self, send: Send, *, max_backoff: float = 5.0) -> None:
        self._send = send
        self._pending: dict[str, dict[str, Any]] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._max_backoff = max_backoff

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="reporter")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def submit(self, report: dict[str, Any]) -> asyncio.Future[None]:
        """Queue a snapshot; the future resolves once this snapshot (or a newer one) is delivered."""
        arn = report["taskArn"]
        self._pending[arn] = copy.deepcopy(report)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(arn, []).append(future)
        self._wakeup.set()
        return future

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if not self._pending:
                continue
            batch = self._pending
            waiters = self._waiters
            self._pending, self._waiters = {}, {}
            try:
                await self._send(list(batch.values()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("report failed (%s); retrying in %.1fs", exc, backoff)
                for arn, report in batch.items():
                    self._pending.setdefault(arn, report)
                    self._waiters.setdefault(arn, []).extend(waiters.get(arn, []))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                self._wakeup.set()
                continue
            backoff = 0.1
            for futures in waiters.values():
                for future in futures:
                    if not future.done():
                        future.set_result(None)
