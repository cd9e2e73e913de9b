"""AWS Systems Manager Parameter Store: parameters, versions, labels and tags; SecureString
values encrypted at rest.

Importing this package registers every handler module on `api`.
"""

from dockyard.services.ssm import (  # noqa: F401  (registration by import)
    labels,
    parameters,
    queries,
    tags,
)
from dockyard.services.ssm.api import api
from dockyard.services.ssm.deps import Ssm

__all__ = ["api", "Ssm"]
