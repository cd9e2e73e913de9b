"""The Secrets Manager operation table. Handler modules register on `api` with `@api.operation(...)`."""

from dockyard.aws.dispatch import Api
from dockyard.services.secretsmanager.deps import SecretsManager

__all__ = ["api"]

api: Api[SecretsManager] = Api("secretsmanager")
