"""Amazon EC2 Auto Scaling: groups kept at their desired capacity of EC2 instances, launch
configurations, scale-in protection, lifecycle hooks, scaling activities and tags.

Importing this package registers every handler module on `api`.
"""

from dockyard.services.autoscaling import (  # noqa: F401  (registration by import)
    activities,
    capacity,
    groups,
    launch_configurations,
    lifecycle_hooks,
    tags,
)
from dockyard.services.autoscaling.api import api
from dockyard.services.autoscaling.controller import autoscaling_controllers
from dockyard.services.autoscaling.deps import AutoScaling, AutoScalingSettings

__all__ = ["api", "AutoScaling", "AutoScalingSettings", "autoscaling_controllers"]
