"""The SSM (Parameter Store) operation table. Handler modules register on `api` with `@api.operation(...)`."""

from dockyard.aws.dispatch import Api
from dockyard.services.ssm.deps import Ssm

__all__ = ["api"]

api: Api[Ssm] = Api("ssm")
