"""HTTP routes of the agent channel (docs/agent-protocol.md): long-poll for work, post reports
and container statistics (telemetry: ECS's CloudWatch metrics).

`NodeWatch` turns store commits into per-node wake-ups: every task change carries the task's
node label (before and after), so a poll waiting on a node returns as soon as anything placed on
it changes, and otherwise after its `wait` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from aiohttp import web

from dockyard.services.ecs.agent_channel import heartbeat, work_items
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import TASK
from dockyard.services.ecs.task_documents import FARGATE_NODE
from dockyard.services.ecs.task_state import apply_report
from dockyard.services.ecs.telemetry import record_samples
from dockyard.store import Change

__all__ = ["install", "NodeWatch"]

MAX_WAIT = 60.0


class NodeWatch:
    def __init__(self, start_revision: int = 1) -> None:
        self._revisions: dict[str, int] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._floor = start_revision
        self._closed = False

    def revision(self, node: str) -> int:
        return self._revisions.get(node, self._floor)

    def on_changes(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if change.key.kind != TASK:
                continue
            for node in change.label_values("node"):
                self._revisions[node] = max(change.revision, self.revision(node))
                event = self._events.get(node)
                if event is not None:
                    event.set()

    def close(self) -> None:
        """Release every waiting poll (the server is shutting down)."""
        self._closed = True
        for event in self._events.values():
            event.set()

    async def wait(self, node: str, since: int, timeout: float) -> None:
        if self.revision(node) > since or self._closed:
            return
        event = self._events.setdefault(node, asyncio.Event())
        event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


def install(app: web.Application, ecs: Ecs, *, start_revision: int = 1) -> NodeWatch:
    watch = NodeWatch(start_revision)
    unsubscribe = ecs.store.subscribe(watch.on_changes)

    async def on_shutdown(_: web.Application) -> None:
        unsubscribe()
        watch.close()

    app.on_shutdown.append(on_shutdown)

    async def poll(request: web.Request) -> web.Response:
        node = request.match_info["node"]
        try:
            since = int(request.query.get("revision", "0"))
            wait = min(float(request.query.get("wait", "20")), MAX_WAIT)
        except ValueError:
            return web.json_response({"message": "revision and wait must be numbers"}, status=400)
        if node != FARGATE_NODE:
            state = await heartbeat(ecs, node)
            if state == "unknown":
                return web.json_response({"message": f"unknown container instance {node}"}, status=404)
            if state == "deregistered":
                return web.json_response(
                    {"message": f"container instance {node} was deregistered"}, status=410
                )
        await watch.wait(node, since, wait)
        revision = watch.revision(node)
        listed, items = await work_items(ecs, node, since=since)
        return web.json_response({"revision": revision, "taskArns": listed, "tasks": items})

    async def report(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            reports = body["tasks"]
            if not isinstance(reports, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return web.json_response({"message": 'expected {"tasks": [...]}'}, status=400)
        known = [await apply_report(ecs, item) for item in reports if isinstance(item, dict)]
        return web.json_response({"accepted": sum(known), "unknown": len(known) - sum(known)})

    async def telemetry(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            node = str(body["node"])
            samples = body["samples"]
            if not isinstance(samples, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return web.json_response({"message": 'expected {"node": ..., "samples": [...]}'}, status=400)
        valid = [s for s in samples if isinstance(s, dict)]
        return web.json_response({"accepted": await record_samples(ecs, node, valid)})

    app.router.add_get("/_dockyard/agent/v1/nodes/{node:.+}/tasks", poll)
    app.router.add_post("/_dockyard/agent/v1/reports", report)
    app.router.add_post("/_dockyard/agent/v1/telemetry", telemetry)
    return watch
