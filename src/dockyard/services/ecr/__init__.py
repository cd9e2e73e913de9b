"""Amazon ECR's control API over Dockyard's registry (`dockyard.registry`).

Importing this package registers every handler module on `api`.
"""

from dockyard.services.ecr import (  # noqa: F401  (registration by import)
    images,
    layers,
    lifecycle_policies,
    policies,
    pull_through,
    put_image,
    registry,
    replication,
    repositories,
    scanning,
    tags,
)
from dockyard.services.ecr.api import api
from dockyard.services.ecr.deps import Ecr

__all__ = ["api", "Ecr"]
