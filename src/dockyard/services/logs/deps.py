"""What CloudWatch Logs handlers are given: the store (log groups), the clock, id generation and
the event database (log streams and their events)."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.services.logs.events import LogEvents
from dockyard.store import Store

__all__ = ["Logs"]


@dataclass(frozen=True, slots=True)
class Logs:
    store: Store
    clock: Clock
    ids: IdGenerator
    events: LogEvents

    def now_ms(self) -> int:
        """The clock's time in epoch milliseconds, CloudWatch Logs' unit."""
        return int(self.clock.now() * 1000)
