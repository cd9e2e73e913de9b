"""Application Auto Scaling for ECS services: scalable targets, target tracking and step scaling
policies acting on CloudWatch alarms, scheduled actions, suspension and scaling activities.

Importing this package registers every handler module on `api`. The server calls `bind_peers`
(ECS and CloudWatch clients, `run_policy` on CloudWatch's alarm action seam) and runs
`appscaling_controllers`.
"""

from dockyard.services.applicationautoscaling import (  # noqa: F401  (registration by import)
    activities,
    policies,
    scheduled_actions,
    tags,
    targets,
)
from dockyard.services.applicationautoscaling.alarm_actions import accepts, run_policy
from dockyard.services.applicationautoscaling.api import api
from dockyard.services.applicationautoscaling.controllers import appscaling_controllers
from dockyard.services.applicationautoscaling.deps import (
    SERVICE_PRINCIPAL,
    AppScaling,
    AppScalingSettings,
    Peers,
)
from dockyard.services.applicationautoscaling.wiring import bind_peers

__all__ = [
    "SERVICE_PRINCIPAL",
    "AppScaling",
    "AppScalingSettings",
    "Peers",
    "accepts",
    "api",
    "appscaling_controllers",
    "bind_peers",
    "run_policy",
]
