"""What Auto Scaling handlers and its controller are given.

Auto Scaling owns groups, launch configurations, group membership and scaling activities; it
launches and terminates instances only through EC2's operations (`ec2`, an in-process client
signed as the service principal `autoscaling.amazonaws.com`), never through EC2's tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.aws.local_client import LocalClient
from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.store import Store

__all__ = ["AutoScaling", "AutoScalingSettings"]


@dataclass(frozen=True, slots=True)
class AutoScalingSettings:
    # Instances one controller pass launches or terminates at most, per group.
    batch: int = 100
    # Backoff after a failed launch: first delay and cap (AWS retries failed launches for hours).
    launch_retry: float = 10.0
    launch_retry_max: float = 300.0


@dataclass(frozen=True, slots=True)
class AutoScaling:
    store: Store
    clock: Clock
    ids: IdGenerator
    ec2: LocalClient
    settings: AutoScalingSettings = field(default_factory=AutoScalingSettings)
