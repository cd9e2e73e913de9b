"""Amazon ECR Public's API (`ecr-public`, SpencerFrontendService) over Dockyard's registry.

Public repositories are catalog repositories in each account's public registry
(`dockyard.registry.public`), pulled anonymously from the public host. Importing this package
registers every handler module on `api`.
"""

from dockyard.services.ecrpublic import (  # noqa: F401  (registration by import)
    images,
    layers,
    policies,
    registry,
    repositories,
    tags,
)
from dockyard.services.ecrpublic.api import api
from dockyard.services.ecrpublic.deps import EcrPublic

__all__ = ["api", "EcrPublic"]
