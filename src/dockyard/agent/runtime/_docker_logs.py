"""Container log streams from the Docker engine, split into lines (no I/O).

A non-TTY container's log stream is multiplexed: each frame is ``[stream, 0, 0, 0, size
(4 bytes, big-endian)]`` then `size` bytes, one frame per logged message. A TTY container's
stream is raw bytes. Lines are yielded without their trailing newline, stdout and stderr each
assembled separately; a partial last line comes out of `flush()`.

Follow mode and the engine's lost tail: when a container exits, Docker 20.10 ends a
``follow=1`` stream before sending the final message if it has no trailing newline (and may
drop late messages generally). So a follow stream is read with ``timestamps=1``; each frame's
timestamp is noted, and after the stream ends the caller re-reads ``since=<last timestamp>``
through `begin_replay()`, which skips the frames already seen::

    stream 1 (follow):  [t1 a\n] [t2 b\n]              -> a, b      (then the stream ends)
    stream 2 (since=t2):         [t2 b\n] [t3 tail]    -> tail      (t2 skipped as seen)
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["LogDemuxer"]


class LogDemuxer:
    """Turns engine log bytes into lines; optionally strips and tracks per-frame timestamps."""

    def __init__(self, *, multiplexed: bool, timestamps: bool = False) -> None:
        if timestamps and not multiplexed:
            raise ValueError("timestamps are tracked per frame, so only on multiplexed streams")
        self.multiplexed = multiplexed
        self.timestamps = timestamps
        self.last_timestamp: str | None = None  # of the newest frame seen
        self._at_last = 0  # frames seen carrying exactly `last_timestamp`
        self._skip: tuple[str, int] | None = None  # replay: (timestamp, frames at it) to skip
        self._raw = b""
        self._lines: dict[int, bytes] = {}

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        if not self.multiplexed:
            yield from self._split(1, chunk)
            return
        self._raw += chunk
        while len(self._raw) >= 8:
            size = int.from_bytes(self._raw[4:8], "big")
            if len(self._raw) < 8 + size:
                break
            stream, payload = self._raw[0], self._raw[8 : 8 + size]
            self._raw = self._raw[8 + size :]
            if self.timestamps:
                stamp, _, payload = payload.partition(b" ")
                if not self._note(stamp.decode("ascii", "replace")):
                    continue
            yield from self._split(stream, payload)

    def begin_replay(self) -> None:
        """Frames fed from now on that are not newer than those already seen are skipped."""
        if self.last_timestamp is not None:
            self._skip = (self.last_timestamp, self._at_last)
        self._raw = b""

    def _note(self, stamp: str) -> bool:
        """Record a frame's timestamp; False when a replay has already delivered it."""
        if self._skip is not None:
            last, count = self._skip
            if stamp < last:
                return False
            if stamp == last and count > 0:
                self._skip = (last, count - 1)
                return False
            self._skip = None
        if stamp == self.last_timestamp:
            self._at_last += 1
        else:
            self.last_timestamp, self._at_last = stamp, 1
        return True

    def _split(self, stream: int, payload: bytes) -> Iterator[bytes]:
        *lines, rest = (self._lines.get(stream, b"") + payload).split(b"\n")
        self._lines[stream] = rest
        for line in lines:
            yield line.removesuffix(b"\r")

    def flush(self) -> Iterator[bytes]:
        for stream in sorted(self._lines):
            if self._lines[stream]:
                yield self._lines[stream]
        self._lines.clear()
