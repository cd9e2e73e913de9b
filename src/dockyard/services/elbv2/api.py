"""The ELBv2 operation table. Handler modules register on `api` with `@api.operation(...)`."""

from dockyard.aws.dispatch import Api
from dockyard.services.elbv2.deps import Elbv2

__all__ = ["api"]

api: Api[Elbv2] = Api("elbv2")
