"""The CloudWatch Logs operation table. Handler modules register on `api` with `@api.operation(...)`."""

from dockyard.aws.dispatch import Api
from dockyard.services.logs.deps import Logs

__all__ = ["api"]

api: Api[Logs] = Api("logs")
