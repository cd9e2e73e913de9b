"""From a container's output frames to CloudWatch Logs events and PutLogEvents batches (no I/O).

```
frames (stdout, stderr; a long line in parts) -> lines, each with the time of its first part
  -> without a multiline pattern: one event per non-empty line (split at 262,118 bytes)
  -> with one: a line matching it starts a new event; others join the current one ("line\\n"
     each, as Docker's driver does); an event left open longer than the flush interval is sent
  -> batches of at most 10,000 events and 1,048,576 bytes (+26 per event), sorted by time
```
Every event carries the `Cursor` just after the last frame it holds: once a batch is accepted,
its newest cursor is saved, and a restarted shipper resumes reading there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from dockyard.agent.runtime.log_frames import timestamp_ns
from dockyard.agent.runtime.protocol import LogFrame

__all__ = [
    "BATCH_BYTES",
    "BATCH_EVENTS",
    "Cursor",
    "Event",
    "EventAssembler",
    "MAX_EVENT_BYTES",
    "newest_cursor",
    "take_batch",
]

EVENT_OVERHEAD = 26
BATCH_BYTES = 1_048_576
BATCH_EVENTS = 10_000
#: The largest event Docker's awslogs driver sends; longer lines are split.
MAX_EVENT_BYTES = 262_144 - EVENT_OVERHEAD
_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Cursor:
    """A point in a container's output: the time of a frame and how many frames at that time
    came up to and including it."""

    timestamp: str | None = None
    count: int = 0

    def after(self, frame: LogFrame) -> Cursor:
        if frame.timestamp == self.timestamp:
            return Cursor(frame.timestamp, self.count + 1)
        return Cursor(frame.timestamp, 1)

    def newer(self, other: Cursor) -> Cursor:
        if self.timestamp is None:
            return other
        if other.timestamp is None:
            return self
        mine, theirs = timestamp_ns(self.timestamp), timestamp_ns(other.timestamp)
        return other if (theirs, other.count) > (mine, self.count) else self


@dataclass(frozen=True, slots=True)
class Event:
    timestamp: int  # epoch milliseconds
    message: str
    cursor: Cursor
    size: int = field(default=0, compare=False)  # UTF-8 bytes + 26, as PutLogEvents counts

    def __post_init__(self) -> None:
        if not self.size:
            object.__setattr__(self, "size", len(self.message.encode()) + EVENT_OVERHEAD)


def _split(data: bytes) -> list[bytes]:
    """`data` in pieces of at most MAX_EVENT_BYTES, cut between UTF-8 characters."""
    pieces: list[bytes] = []
    while len(data) > MAX_EVENT_BYTES:
        cut = MAX_EVENT_BYTES
        while cut > 0 and data[cut] & 0xC0 == 0x80:
            cut -= 1
        pieces.append(data[:cut])
        data = data[cut:]
    if data:
        pieces.append(data)
    return pieces


@dataclass
class _Open:
    """The multiline event being gathered."""

    timestamp: int
    data: bytearray = field(default_factory=bytearray)
    cursor: Cursor = field(default_factory=Cursor)


class EventAssembler:
    def __init__(self, *, multiline: re.Pattern[bytes] | None = None, start: Cursor | None = None) -> None:
        self._multiline = multiline
        self._cursor = start or Cursor()
        self._partial: dict[int, tuple[int, bytearray]] = {}  # stream -> (first part's ms, bytes)
        self._open: _Open | None = None

    def feed(self, frame: LogFrame) -> list[Event]:
        """The events `frame` completes."""
        self._cursor = self._cursor.after(frame)
        stamp = timestamp_ns(frame.timestamp) // 1_000_000
        data = frame.data
        if frame.stream not in self._partial and data.endswith(b"\n"):  # a whole line: the usual case
            return self._line(stamp, data[:-1])
        first, gathered = self._partial.pop(frame.stream, (stamp, bytearray()))
        gathered += frame.data
        if not gathered.endswith(b"\n"):
            self._partial[frame.stream] = (first, gathered)
            return []
        return self._line(first, bytes(gathered[:-1]))

    def _line(self, timestamp: int, line: bytes) -> list[Event]:
        if self._multiline is None:
            if 0 < len(line) <= MAX_EVENT_BYTES:
                try:  # valid UTF-8 (the usual case): its size is its length
                    return [Event(timestamp, line.decode(), self._cursor, len(line) + EVENT_OVERHEAD)]
                except UnicodeDecodeError:
                    pass
            return [Event(timestamp, _text(piece), self._cursor) for piece in _split(line)]
        events: list[Event] = []
        if self._open is None or self._multiline.search(line):
            events += self._close()
            self._open = _Open(timestamp)
        if len(self._open.data) + len(line) > MAX_EVENT_BYTES:
            events += self._close()
            self._open = _Open(timestamp)
        self._open.data += line + b"\n"
        self._open.cursor = self._cursor
        return events

    def _close(self) -> list[Event]:
        gathered, self._open = self._open, None
        if gathered is None or not gathered.data:
            return []
        return [Event(gathered.timestamp, _text(p), gathered.cursor) for p in _split(bytes(gathered.data))]

    def flush_stale(self, now_ms: int, age_ms: int) -> list[Event]:
        """The open multiline event, when it was started more than `age_ms` ago."""
        if self._open is not None and now_ms - self._open.timestamp > age_ms:
            return self._close()
        return []

    def finish(self) -> list[Event]:
        """The end of the output: lines without a final newline and the open event."""
        events: list[Event] = []
        for first, gathered in sorted(self._partial.values(), key=lambda p: p[0]):
            events += self._line(first, bytes(gathered))
        self._partial.clear()
        return events + self._close()


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def take_batch(events: list[Event]) -> list[Event]:
    """Remove from the front of `events` the largest batch PutLogEvents takes (by count, bytes
    and a 24-hour span), sorted by time; `events` keeps the rest."""
    batch: list[Event] = []
    size = 0
    low = high = None
    for event in events:
        low = event.timestamp if low is None else min(low, event.timestamp)
        high = event.timestamp if high is None else max(high, event.timestamp)
        if batch and (len(batch) >= BATCH_EVENTS or size + event.size > BATCH_BYTES or high - low > _DAY_MS):
            break
        batch.append(event)
        size += event.size
    del events[: len(batch)]
    batch.sort(key=lambda e: e.timestamp)
    return batch


def newest_cursor(events: Iterable[Event]) -> Cursor:
    cursor = Cursor()
    for event in events:
        cursor = cursor.newer(event.cursor)
    return cursor
