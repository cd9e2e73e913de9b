"""The CloudWatch operation table. Handler modules register on `api` with `@api.operation(...)`."""

from dockyard.aws.dispatch import Api
from dockyard.services.cloudwatch.deps import CloudWatch

__all__ = ["api"]

api: Api[CloudWatch] = Api("cloudwatch")
