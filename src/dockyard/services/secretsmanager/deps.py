"""What Secrets Manager handlers are given: the store, the clock, id generation and the sealer
that encrypts secret values at rest."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.core.sealing import Sealer
from dockyard.store import Store

__all__ = ["SecretsManager"]


@dataclass(frozen=True, slots=True)
class SecretsManager:
    store: Store
    clock: Clock
    ids: IdGenerator
    sealer: Sealer
