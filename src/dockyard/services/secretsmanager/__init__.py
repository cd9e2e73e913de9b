"""AWS Secrets Manager: secrets, their versions and staging labels, values encrypted at rest.

Importing this package registers every handler module on `api`.
"""

from dockyard.services.secretsmanager import (  # noqa: F401  (registration by import)
    listing,
    secrets,
    tags,
    versions,
)
from dockyard.services.secretsmanager.api import api
from dockyard.services.secretsmanager.deps import SecretsManager

__all__ = ["api", "SecretsManager"]
