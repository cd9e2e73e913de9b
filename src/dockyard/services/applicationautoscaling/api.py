"""The Application Auto Scaling operation table; handler modules register with `@api.operation(...)`."""

from dockyard.aws.dispatch import Api
from dockyard.services.applicationautoscaling.deps import AppScaling

__all__ = ["api"]

api: Api[AppScaling] = Api("application-autoscaling")
