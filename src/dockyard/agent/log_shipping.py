"""`LogShipper`: one container's output to CloudWatch Logs, as the awslogs driver sends it.

```
prepare (before the container starts):  CreateLogStream; ResourceNotFound and create-group:
                                        CreateLogGroup, CreateLogStream again (AlreadyExists is fine)
run:  reader   runtime.log_frames(follow, since=saved cursor) -> EventAssembler -> buffer
      sender   every flush interval (or when a batch is full): PutLogEvents, oldest first;
               accepted -> cursor saved (<agent data>/awslogs/<container id>.json)
      the output ends (container exited) -> everything left is sent -> run returns
```
Buffering follows `mode`: blocking pauses reading at `awslogs-max-buffered-events` (the engine
keeps the output on disk meanwhile, so nothing is lost); non-blocking drops new lines once
`max-buffer-size` bytes wait, as Docker's ring buffer does. A failed PutLogEvents is retried
(1 s doubling to 30 s) while the control plane is unreachable, busy or failing; a missing stream
is created again once; a batch refused for good is dropped with a warning. Calls are plain
SigV4-signed awsJson requests to the control plane (`ControlPlane.call`), signed for the
group's Region. A restarted agent resumes from the saved cursor: lines are neither lost nor
sent twice (but for a batch accepted just before the agent died, before its cursor was saved).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import aiohttp

from dockyard.agent.awslogs import AwslogsConfig
from dockyard.agent.awslogs_events import Cursor, Event, EventAssembler, newest_cursor, take_batch
from dockyard.agent.client import ApiError
from dockyard.agent.runtime.log_frames import FrameSkipper
from dockyard.agent.runtime.protocol import ContainerNotFound, ContainerRuntime, RuntimeError_
from dockyard.agent.secrets import AwsCaller
from dockyard.core.clock import Clock

__all__ = ["LOGS_TARGET", "LogShipper", "StreamUnavailable", "load_cursor"]

log = logging.getLogger(__name__)

LOGS_TARGET = "Logs_20140328"
_RETRY_FIRST, _RETRY_MAX = 1.0, 30.0
_RETRYABLE = {"ThrottlingException", "ServiceUnavailableException", "OperationAbortedException"}
_READ_RETRY = 1.0
_YIELD_EVERY = 200  # frames read between two turns given to the rest of the event loop
#: How a call fails when the control plane cannot be reached or does not answer in JSON.
_UNREACHABLE = (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError)


class StreamUnavailable(Exception):
    """The group or stream could not be made ready; `reason` is what ECS reports."""

    def __init__(self, step: str, code: str, message: str) -> None:
        super().__init__(f"failed to create Cloudwatch log {step}: {code}: {message}")
        self.step = step
        self.code = code
        self.message = message


def load_cursor(path: Path) -> Cursor:
    try:
        data = json.loads(path.read_text())
        return Cursor(data.get("timestamp"), int(data.get("count", 0)))
    except (OSError, ValueError, AttributeError):
        return Cursor()


def _save_cursor(path: Path, cursor: Cursor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"timestamp": cursor.timestamp, "count": cursor.count}))
    os.replace(tmp, path)


class LogShipper:
    def __init__(
        self,
        config: AwslogsConfig,
        container_id: str,
        *,
        runtime: ContainerRuntime,
        aws: AwsCaller,
        clock: Clock,
        cursor_path: Path,
    ) -> None:
        self.config = config
        self.container_id = container_id
        self.dropped = 0  # lines non-blocking mode had no room for
        self.sent = 0
        self._runtime = runtime
        self._aws = aws
        self._clock = clock
        self._cursor_path = cursor_path
        self._saved = load_cursor(cursor_path)
        self._assembler = EventAssembler(multiline=config.multiline, start=self._saved)
        self._buffer: list[Event] = []
        self._bytes = 0
        self._wake = asyncio.Event()  # a batch is full, or reading ended
        self._room = asyncio.Event()  # blocking mode: the buffer has room again

    # -- group and stream ---------------------------------------------------------------------

    async def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return await self._aws.call("logs", LOGS_TARGET, operation, params, self.config.region)

    async def prepare(self) -> None:
        """Create the stream (and the group, with awslogs-create-group); StreamUnavailable."""
        config = self.config
        stream = {"logGroupName": config.group, "logStreamName": config.stream}
        try:
            await self._create("stream", "CreateLogStream", stream)
        except StreamUnavailable as exc:
            if exc.code != "ResourceNotFoundException" or not config.create_group:
                raise
            await self._create("group", "CreateLogGroup", {"logGroupName": config.group})
            await self._create("stream", "CreateLogStream", stream)

    async def _create(self, step: str, operation: str, params: dict[str, Any]) -> None:
        try:
            await self._call(operation, params)
        except ApiError as exc:
            if exc.code != "ResourceAlreadyExistsException":
                raise StreamUnavailable(step, exc.code, exc.message) from exc
        except _UNREACHABLE as exc:
            raise StreamUnavailable(step, type(exc).__name__, str(exc) or "no answer") from exc

    # -- shipping -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Ship until the container's output ends and everything read has been sent."""
        reader = asyncio.create_task(self._read(), name=f"awslogs read {self.container_id[:12]}")
        try:
            while True:
                reading = not reader.done()
                if reading:
                    await self._pause()
                interval = int(self.config.flush_interval * 1000)
                for event in self._assembler.flush_stale(int(self._clock.now() * 1000), interval):
                    self._enqueue_now(event)
                while self._buffer:
                    await self._send(take_batch(self._buffer))
                if not reading:
                    reader.result()  # re-raise a reader failure (cancellation)
                    return
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _pause(self) -> None:
        """Until the flush interval has passed or a batch is full."""
        if self._wake.is_set():
            self._wake.clear()
            return
        waiter = asyncio.ensure_future(self._wake.wait())
        sleeper = asyncio.ensure_future(self._clock.sleep(self.config.flush_interval))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()
        self._wake.clear()

    async def _read(self) -> None:
        skipper = FrameSkipper(self._saved.timestamp, self._saved.count)
        since = self._saved.timestamp
        read = 0
        while True:
            try:
                async for frame in self._runtime.log_frames(self.container_id, since=since, follow=True):
                    if not skipper.fresh(frame):
                        continue
                    since = frame.timestamp
                    skipper.note(frame)
                    for event in self._assembler.feed(frame):
                        await self._enqueue(event)
                    read += 1
                    if read % _YIELD_EVERY == 0:
                        # A chatty container keeps the engine's stream readable without a pause:
                        # let the sender (and the rest of the agent) run.
                        await asyncio.sleep(0)
                break
            except ContainerNotFound:
                break
            except RuntimeError_ as exc:  # the engine restarting, a dropped connection: read on
                log.warning("reading the output of %s failed (%s); retrying", self.container_id[:12], exc)
                skipper = FrameSkipper(skipper.timestamp, skipper.count)
                await self._clock.sleep(_READ_RETRY)
        for event in self._assembler.finish():
            await self._enqueue(event)
        self._wake.set()

    async def _enqueue(self, event: Event) -> None:
        if self.config.blocking:
            while len(self._buffer) >= self.config.max_buffered_events:
                self._wake.set()
                self._room.clear()
                await self._room.wait()
        self._enqueue_now(event)

    def _enqueue_now(self, event: Event) -> None:
        if not self.config.blocking and self._bytes + event.size > self.config.max_buffer_size:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning(
                    "awslogs buffer of %s is full: %d lines dropped", self.container_id[:12], self.dropped
                )
            return
        self._buffer.append(event)
        self._bytes += event.size
        if len(self._buffer) >= 10_000 or self._bytes >= 1_048_576:
            self._wake.set()

    async def _send(self, batch: list[Event]) -> None:
        self._bytes -= sum(event.size for event in batch)
        self._room.set()
        if not batch:
            return
        params = {
            "logGroupName": self.config.group,
            "logStreamName": self.config.stream,
            "logEvents": [{"timestamp": e.timestamp, "message": e.message} for e in batch],
        }
        delay = _RETRY_FIRST
        recreated = False
        while True:
            try:
                await self._call("PutLogEvents", params)
                self.sent += len(batch)
                break
            except ApiError as exc:
                if exc.code == "ResourceNotFoundException" and not recreated:
                    recreated = True
                    with contextlib.suppress(StreamUnavailable):
                        await self.prepare()
                    continue
                if exc.status < 500 and exc.code not in _RETRYABLE:
                    log.warning(
                        "PutLogEvents to %s/%s refused (%s); %d events dropped",
                        self.config.group,
                        self.config.stream,
                        exc,
                        len(batch),
                    )
                    break
                log.info("PutLogEvents failed (%s); retrying in %.0fs", exc, delay)
            except _UNREACHABLE as exc:
                log.info("PutLogEvents failed (%s); retrying in %.0fs", exc, delay)
            await self._clock.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)
        self._saved = self._saved.newer(newest_cursor(batch))
        _save_cursor(self._cursor_path, self._saved)
