"""Amazon ECS: clusters, task definitions, container instances, tasks, services and the agent API.

Importing this package registers every handler module on `api`.
"""

from dockyard.services.ecs import (  # noqa: F401  (registration by import)
    agent_api,
    attributes,
    clusters,
    container_instances,
    service_deployments,
    services,
    tags,
    task_definitions,
    tasks,
)
from dockyard.services.ecs.api import api
from dockyard.services.ecs.deps import Ecs, EcsSettings

__all__ = ["api", "Ecs", "EcsSettings"]
