"""The Auto Scaling operation table. Handler modules register on `api` with `@api.operation(...)`."""

from dockyard.aws.dispatch import Api
from dockyard.services.autoscaling.deps import AutoScaling

__all__ = ["api"]

api: Api[AutoScaling] = Api("autoscaling")
