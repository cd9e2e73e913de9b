"""What ECS handlers are given: the store, the clock, id generation and settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.store import Store

__all__ = ["Ecs", "EcsSettings"]


@dataclass(frozen=True, slots=True)
class EcsSettings:
    # Where agents long-poll for work (returned by DiscoverPollEndpoint).
    poll_endpoint: str = "http://127.0.0.1:4566/_dockyard/agent"
    # How long a STOPPED task stays describable (ECS keeps them for at least an hour).
    stopped_task_retention: float = 3600.0
    # Seconds without a poll before an agent counts as disconnected.
    agent_timeout: float = 60.0
    # The default VPC's CIDR: Fargate and awsvpc tasks get their addresses from its subnets.
    vpc_cidr: str = "172.31.0.0/16"
    availability_zones: tuple[str, ...] = field(default=("a", "b", "c"))
    # Services: seconds a RUNNING task without health checks needs before it counts as healthy.
    service_healthy_delay: float = 40.0
    # How long a deleted (INACTIVE) service stays describable before it is purged.
    inactive_service_retention: float = 3600.0
    # New tasks one scheduler pass of a service launches at most.
    service_launch_batch: int = 10
    # How long recorded EventBridge events (kind `events:ecs`) are kept.
    event_retention: float = 3600.0


@dataclass(frozen=True, slots=True)
class Ecs:
    store: Store
    clock: Clock
    ids: IdGenerator
    settings: EcsSettings = field(default_factory=EcsSettings)
