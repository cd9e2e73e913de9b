"""The EC2 operation table. Handler modules register on `api` with `@api.operation(...)`."""

from dockyard.aws.dispatch import Api
from dockyard.services.ec2.deps import Ec2

__all__ = ["api"]

api: Api[Ec2] = Api("ec2")
