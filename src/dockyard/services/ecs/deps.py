"""What ECS handlers are given: the store, the clock, id generation, settings, and the other
services' operations ECS calls (`Peers`: Auto Scaling, EC2, Elastic Load Balancing, CloudWatch's
alarms and metrics, in process, bound by the server)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from dockyard.aws.local_client import LocalClient
from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.store import Store

__all__ = ["Ecs", "EcsSettings", "CapacitySettings", "MetricSink", "Peers"]


class MetricSink(Protocol):
    """Publishes one datapoint of an `AWS/*` metric (CloudWatch's `Metrics.put`)."""

    async def put(
        self,
        account_id: str,
        region: str,
        namespace: str,
        name: str,
        dimensions: Mapping[str, str],
        *,
        value: float | None = None,
        unit: str = "None",
        timestamp: float | None = None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class CapacitySettings:
    """Capacity providers (reference §7): AWS's numbers, shortened by tests."""

    # Seconds between CapacityProviderReservation datapoints (AWS: one a minute).
    metric_interval: float = 60.0
    # Consecutive datapoints below targetCapacity before managed scaling scales in (AWS: 15).
    scale_in_datapoints: int = 15
    # Tasks that may wait in PROVISIONING per cluster (ECS quota: 500; 300 and 100 in older docs).
    provisioning_limit: int = 500
    # Seconds between placement attempts for tasks waiting in PROVISIONING (ECS reports ~15 s).
    provisioning_retry: float = 15.0
    # How long a task waits in PROVISIONING before it stops (ECS: "between 10 and 30 minutes").
    provisioning_timeout: float = 1800.0


@dataclass(slots=True)
class Peers:
    """Other services' operations (`LocalClient`s the server binds after building every API)."""

    autoscaling: LocalClient | None = None
    ec2: LocalClient | None = None
    elbv2: LocalClient | None = None
    cloudwatch: LocalClient | None = None  # deployment alarms' states (DescribeAlarms)
    metrics: MetricSink | None = None  # CloudWatch's in-process publishing of AWS/* metrics


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
    capacity: CapacitySettings = field(default_factory=CapacitySettings)


@dataclass(frozen=True, slots=True)
class Ecs:
    store: Store
    clock: Clock
    ids: IdGenerator
    settings: EcsSettings = field(default_factory=EcsSettings)
    peers: Peers = field(default_factory=Peers)
