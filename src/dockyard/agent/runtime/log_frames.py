"""Timestamped container output (`ContainerRuntime.log_frames`): the engine's messages, each with
the time the engine logged it, which is what a log shipper needs to batch, to stamp CloudWatch
events and to resume after a restart without duplicating or losing a line.

```
GET /containers/{id}/logs?timestamps=1&follow=1[&since=<s.ns>]
   multiplexed (no TTY): [stream,0,0,0,size] "<RFC 3339 ns> <message>"   one frame per message
   raw (TTY):            "<RFC 3339 ns> <line>\n" ...
-> LogFrame(timestamp, stream, data)      data keeps its "\n"; a long line comes in several parts
```
The engine ends a follow stream when the container exits, sometimes before its last messages
(Docker 20.10), so `read_frames` re-reads from the last timestamp seen and skips what it has
already yielded (`FrameSkipper`, which a shipper also uses to resume from a saved cursor).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from datetime import UTC, datetime

from dockyard.agent.runtime._docker_client import DockerClient
from dockyard.agent.runtime.protocol import ContainerNotFound, LogFrame

__all__ = ["FrameReader", "FrameSkipper", "format_timestamp", "read_frames", "timestamp_ns"]


_SECONDS: dict[str, int] = {}  # "2024-05-01T10:00:00" (UTC) -> epoch seconds, for the engine's own times


def timestamp_ns(text: str) -> int:
    """Epoch nanoseconds of an RFC 3339 time such as `2024-05-01T10:00:00.123456789Z`."""
    if len(text) == 30 and text[19] == "." and text[29] == "Z":  # the engine's form: the fast path
        head = text[:19]
        seconds = _SECONDS.get(head)
        if seconds is None:
            if len(_SECONDS) > 4096:
                _SECONDS.clear()
            seconds = _SECONDS[head] = int(datetime.fromisoformat(head + "+00:00").timestamp())
        return seconds * 1_000_000_000 + int(text[20:29])
    text = text.strip()
    head, _, fraction = text.partition(".")
    zone = ""
    if fraction:
        digits = fraction.rstrip("Z").split("+")[0].split("-")[0]
        zone = fraction[len(digits) :]
    else:
        for marker in ("Z", "+", "-"):
            at = head.find(marker, 19)
            if at >= 0:
                head, zone = head[:at], head[at:]
                break
        digits = ""
    moment = datetime.fromisoformat(head + (zone.replace("Z", "+00:00") or "+00:00"))
    return int(moment.timestamp()) * 1_000_000_000 + int(digits[:9].ljust(9, "0") or 0)


def format_timestamp(ns: int) -> str:
    """Epoch nanoseconds as the engine writes them (fixed width, UTC)."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def _since(timestamp: str) -> str:
    seconds, nanos = divmod(timestamp_ns(timestamp), 1_000_000_000)
    return f"{seconds}.{nanos:09d}"


class FrameReader:
    """Engine log bytes (requested with `timestamps=1`) into `LogFrame`s."""

    def __init__(self, *, multiplexed: bool) -> None:
        self._multiplexed = multiplexed
        self._raw = b""

    def feed(self, chunk: bytes) -> Iterator[LogFrame]:
        self._raw += chunk
        if self._multiplexed:
            raw, at = self._raw, 0
            try:
                while len(raw) - at >= 8:
                    size = int.from_bytes(raw[at + 4 : at + 8], "big")
                    if len(raw) - at < 8 + size:
                        break
                    stream, payload = raw[at], raw[at + 8 : at + 8 + size]
                    at += 8 + size
                    yield _frame(stream, payload)
            finally:
                self._raw = raw[at:]
            return
        *lines, self._raw = self._raw.split(b"\n")
        for line in lines:
            yield _frame(1, line + b"\n")

    def flush(self) -> Iterator[LogFrame]:
        """What is left of a raw stream without a final newline."""
        rest, self._raw = self._raw, b""
        if rest and not self._multiplexed:
            yield _frame(1, rest)


def _frame(stream: int, payload: bytes) -> LogFrame:
    stamp, _, data = payload.partition(b" ")
    return LogFrame(stamp.decode("ascii", "replace"), stream, data)


class FrameSkipper:
    """Remembers the newest frame time and how many frames carried it; `fresh` then tells
    frames not seen before from those at or before that point (a re-read or a resume)."""

    def __init__(self, timestamp: str | None = None, count: int = 0) -> None:
        self.timestamp = timestamp
        self.count = count
        self._at = timestamp_ns(timestamp) if timestamp else None
        self._skip = count

    def note(self, frame: LogFrame) -> None:
        if frame.timestamp == self.timestamp:
            self.count += 1
        else:
            self.timestamp, self.count = frame.timestamp, 1

    def fresh(self, frame: LogFrame) -> bool:
        """False for a frame older than the mark, or one of the first `count` at the mark."""
        if self._at is None:
            return True
        at = timestamp_ns(frame.timestamp)
        if at < self._at:
            return False
        if at == self._at and self._skip > 0:
            self._skip -= 1
            return False
        self._at = None
        return True


async def read_frames(
    client: DockerClient, container_id: str, *, since: str | None, follow: bool
) -> AsyncGenerator[LogFrame, None]:
    """`DockerRuntime.log_frames`: stdout and stderr frames from `since` (inclusive) on."""
    _, doc = await client.call("GET", f"/containers/{container_id}/json", not_found=ContainerNotFound)
    multiplexed = not (doc.get("Config") or {}).get("Tty", False)
    params = {"stdout": "1", "stderr": "1", "timestamps": "1", "follow": "1" if follow else "0"}
    if since:
        params["since"] = _since(since)
    path = f"/containers/{container_id}/logs"
    seen = FrameSkipper()
    reader = FrameReader(multiplexed=multiplexed)
    async with client.open("GET", path, params=params, not_found=ContainerNotFound) as resp:
        async for chunk in resp.content.iter_any():
            for frame in reader.feed(chunk):
                seen.note(frame)
                yield frame
    for frame in reader.flush():
        seen.note(frame)
        yield frame
    if not follow:
        return
    params["follow"] = "0"
    if seen.timestamp is not None:
        params["since"] = _since(seen.timestamp)
    skipper = FrameSkipper(seen.timestamp, seen.count)
    reader = FrameReader(multiplexed=multiplexed)
    try:
        async with client.open("GET", path, params=params, not_found=ContainerNotFound) as resp:
            tail = await resp.read()
    except ContainerNotFound:  # removed as its stream ended: nothing more to read
        return
    for frame in [*reader.feed(tail), *reader.flush()]:
        if skipper.fresh(frame):
            yield frame
