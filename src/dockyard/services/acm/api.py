"""The ACM operation table. Handler modules register on `api` with `@api.operation(...)`."""

from dockyard.aws.dispatch import Api
from dockyard.services.acm.deps import Acm

__all__ = ["api"]

api: Api[Acm] = Api("acm")
