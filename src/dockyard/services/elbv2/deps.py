"""What ELBv2 handlers and its controller are given.

Elastic Load Balancing owns load balancers, listeners, rules, target groups and their targets.
It learns about subnets, security groups, the VPC and instances only through EC2's operations
(`ec2`, an in-process client signed as `elasticloadbalancing.amazonaws.com`), never from EC2's
tables. Certificates for HTTPS listeners are ACM's: `acm` is an in-process client of ACM's
operations (None: no certificate can be found).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.aws.local_client import LocalClient
from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.store import Store

__all__ = ["Elbv2", "Elbv2Settings"]


@dataclass(frozen=True, slots=True)
class Elbv2Settings:
    # Loopback addresses load balancers listen on: 127.0.<first..last>.<1..254>, leased host-wide.
    # EC2 instances use 127.0.0.N (agents) and 127.1.x.y (simulated), so the ranges never meet.
    address_first_octet: int = 200
    address_last_octet: int = 254


@dataclass(frozen=True, slots=True)
class Elbv2:
    store: Store
    clock: Clock
    ids: IdGenerator
    ec2: LocalClient
    settings: Elbv2Settings = field(default_factory=Elbv2Settings)
    acm: LocalClient | None = None
