"""What EC2 handlers are given: the store, the clock, id generation and settings.

`AddressProbe` is the seam to the host: an instance's private address is a loopback address
(127.0.0.N) on which its agent publishes ports, and the server's probe says whether another
process (an agent started by hand) already holds one. Tests use `always_free`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.store import Store

__all__ = ["Ec2", "Ec2Settings", "AddressProbe", "always_free"]

AddressProbe = Callable[[str], bool]


def always_free(_: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Ec2Settings:
    # Every instance is simulated (an agent that accepts tasks without running containers), as if
    # each carried the tag dockyard:simulated=true. For hosts without Docker, and for tests.
    simulate_instances: bool = False
    # How long a terminated instance stays describable (EC2 keeps them for about an hour).
    terminated_retention: float = 3600.0
    address_probe: AddressProbe = field(default=always_free)


@dataclass(frozen=True, slots=True)
class Ec2:
    store: Store
    clock: Clock
    ids: IdGenerator
    settings: Ec2Settings = field(default_factory=Ec2Settings)
