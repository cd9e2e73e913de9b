"""The ECR operation table. Handler modules register on `api` with `@api.operation(...)`."""

from dockyard.aws.dispatch import Api
from dockyard.services.ecr.deps import Ecr

__all__ = ["api"]

api: Api[Ecr] = Api("ecr")
