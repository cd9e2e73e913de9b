"""Amazon CloudWatch: metrics (a datapoint store, statistics, metric math) and metric alarms
evaluated by a controller, with actions delivered through an in-process seam.

- `Metrics` is how Dockyard's own components publish `AWS/*` metrics (see `publish`).
- `AlarmActions` is where other services register what an alarm action ARN does (see `actions`).

Importing this package registers every handler module on `api`.
"""

from dockyard.services.cloudwatch import (  # noqa: F401  (registration by import)
    alarm_queries,
    alarms,
    get_metric_data,
    metric_reads,
    put_metric_data,
    tags,
)
from dockyard.services.cloudwatch.actions import ActionFailed, AlarmAction, AlarmActions, Transition
from dockyard.services.cloudwatch.api import api
from dockyard.services.cloudwatch.controller import cloudwatch_controllers
from dockyard.services.cloudwatch.deps import CloudWatch, CloudWatchSettings
from dockyard.services.cloudwatch.metric_store import MetricStore
from dockyard.services.cloudwatch.publish import Metrics, StatisticSet

__all__ = [
    "api",
    "ActionFailed",
    "AlarmAction",
    "AlarmActions",
    "CloudWatch",
    "CloudWatchSettings",
    "MetricStore",
    "Metrics",
    "StatisticSet",
    "Transition",
    "cloudwatch_controllers",
]
