"""What Application Auto Scaling handlers and controllers are given.

Application Auto Scaling owns scalable targets, scaling policies, scheduled actions and scaling
activities. It reads and changes an ECS service's desired count only through ECS's operations
(`peers.ecs`), and creates and deletes the alarms of target tracking policies only through
CloudWatch's (`peers.cloudwatch`); both are in-process clients the server binds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.aws.local_client import LocalClient
from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.store import Store

__all__ = ["AppScaling", "AppScalingSettings", "Peers", "SERVICE_PRINCIPAL"]

# The principal Application Auto Scaling calls ECS and CloudWatch as.
SERVICE_PRINCIPAL = "ecs.application-autoscaling.amazonaws.com"


@dataclass(slots=True)
class Peers:
    """Other services' operations (`LocalClient`s the server binds after building every API)."""

    ecs: LocalClient | None = None
    cloudwatch: LocalClient | None = None


@dataclass(frozen=True, slots=True)
class AppScalingSettings:
    # How long scaling activities stay describable (AWS: six weeks).
    activity_retention: float = 42 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class AppScaling:
    store: Store
    clock: Clock
    ids: IdGenerator
    peers: Peers = field(default_factory=Peers)
    settings: AppScalingSettings = field(default_factory=AppScalingSettings)
