"""What ACM handlers are given: the store, the clock, ids, the sealer that keeps private keys
encrypted at rest, and `peers`: Elastic Load Balancing's operations (bound by the server once
every API exists), through which ACM learns which load balancers use a certificate."""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.aws.local_client import LocalClient
from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.core.sealing import Sealer
from dockyard.store import Store

__all__ = ["Acm", "AcmPeers"]


@dataclass(slots=True)
class AcmPeers:
    elbv2: LocalClient | None = None


@dataclass(frozen=True, slots=True)
class Acm:
    store: Store
    clock: Clock
    ids: IdGenerator
    sealer: Sealer
    peers: AcmPeers = field(default_factory=AcmPeers)
