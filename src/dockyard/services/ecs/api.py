"""The ECS operation table. Handler modules register on `api` with `@api.operation(...)`."""

from dockyard.aws.dispatch import Api
from dockyard.services.ecs.deps import Ecs

__all__ = ["api"]

api: Api[Ecs] = Api("ecs")
