"""What Parameter Store handlers are given: the store, the clock, id generation and the sealer
that encrypts SecureString values at rest."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.core.sealing import Sealer
from dockyard.store import Store

__all__ = ["Ssm"]


@dataclass(frozen=True, slots=True)
class Ssm:
    store: Store
    clock: Clock
    ids: IdGenerator
    sealer: Sealer
