"""The ECR Public operation table. Handler modules register on `api` with `@api.operation(...)`."""

from dockyard.aws.dispatch import Api
from dockyard.services.ecrpublic.deps import EcrPublic

__all__ = ["api"]

api: Api[EcrPublic] = Api("ecr-public")
