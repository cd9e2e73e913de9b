"""PutLogEvents batch rules (no I/O): what AWS refuses outright and what it drops.

Refused (InvalidParameterException, nothing stored):
- an event over 1,048,576 bytes, or a batch over 1,048,576 bytes (UTF-8 bytes + 26 per event);
- events out of chronological order, or spanning more than 24 hours.

Dropped and reported in `rejectedLogEventsInfo` (the rest are stored):
- `tooNewLogEventStartIndex`: the first event more than 2 hours in the future;
- `tooOldLogEventEndIndex`: the last event more than 14 days old;
- `expiredLogEventEndIndex`: the last event older than the group's retention period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.services.logs.event_reads import EVENT_OVERHEAD

__all__ = ["BATCH_BYTES", "Batch", "BatchRefused", "check_batch"]

BATCH_BYTES = 1_048_576
_HOUR = 3_600_000
_DAY = 24 * _HOUR


class BatchRefused(ValueError):
    """The whole batch is refused; the message is AWS's."""


@dataclass(frozen=True, slots=True)
class Batch:
    accepted: list[tuple[int, str]]
    rejected: dict[str, int] = field(default_factory=dict)


def check_batch(events: Sequence[dict[str, Any]], *, now: int, retention_days: int | None) -> Batch:
    total = 0
    previous: int | None = None
    for event in events:
        size = len(str(event["message"]).encode()) + EVENT_OVERHEAD
        if size > BATCH_BYTES:
            raise BatchRefused(f"Log event too large: {size} bytes exceeds limit of {BATCH_BYTES}")
        total += size
    if total > BATCH_BYTES:
        raise BatchRefused(f"Upload too large: {total} bytes exceeds limit of {BATCH_BYTES}")
    for event in events:
        timestamp = int(event["timestamp"])
        if previous is not None and timestamp < previous:
            raise BatchRefused("Log events in a single PutLogEvents request must be in chronological order.")
        previous = timestamp
    if events and int(events[-1]["timestamp"]) - int(events[0]["timestamp"]) > _DAY:
        raise BatchRefused(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
        )
    too_old = now - 14 * _DAY
    expired = now - retention_days * _DAY if retention_days else None
    too_new = now + 2 * _HOUR
    accepted: list[tuple[int, str]] = []
    rejected: dict[str, int] = {}
    for index, event in enumerate(events):
        timestamp = int(event["timestamp"])
        if timestamp > too_new:
            rejected.setdefault("tooNewLogEventStartIndex", index)
        elif timestamp < too_old:
            rejected["tooOldLogEventEndIndex"] = index
        elif expired is not None and timestamp < expired:
            rejected["expiredLogEventEndIndex"] = index
        else:
            accepted.append((timestamp, str(event["message"])))
    return Batch(accepted, rejected)
