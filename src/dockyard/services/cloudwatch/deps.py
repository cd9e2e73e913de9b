"""What CloudWatch handlers and its controller are given: the store (alarms, their history),
the datapoint store, the clock, ids, the alarm action seam and the settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.services.cloudwatch.actions import AlarmActions
from dockyard.services.cloudwatch.metric_store import RETENTION, MetricStore
from dockyard.store import Store

__all__ = ["CloudWatch", "CloudWatchSettings"]


@dataclass(frozen=True, slots=True)
class CloudWatchSettings:
    # Seconds between two evaluations of an alarm whose period is a minute or more (AWS: 60).
    # Alarms with 10-30 second periods are evaluated every 10 seconds, or this often if shorter.
    evaluation_interval: float = 60.0
    # How long datapoints are kept (CloudWatch keeps one-minute data 15 days).
    retention: float = RETENTION
    # How long alarm history is kept (CloudWatch: two weeks).
    history_retention: float = 14 * 24 * 3600.0


@dataclass(slots=True)
class CloudWatch:
    store: Store
    metrics: MetricStore
    clock: Clock
    ids: IdGenerator
    actions: AlarmActions = field(default_factory=AlarmActions)
    settings: CloudWatchSettings = field(default_factory=CloudWatchSettings)
    purge_state: dict[str, float] = field(default_factory=dict)  # when old datapoints were last purged
