"""Amazon ECS: clusters, task definitions, container instances, tasks, services and the agent API.

Importing this package registers every handler module on `api`.
"""

from dockyard.services.ecs import (  # noqa: F401  (registration by import)
    agent_api,
    attributes,
    capacity_associations,
    capacity_providers,
    clusters,
    container_instances,
    service_deployments,
    services,
    tags,
    task_definitions,
    tasks,
)
from dockyard.services.ecs.api import api
from dockyard.services.ecs.deps import CapacitySettings, Ecs, EcsSettings
from dockyard.services.ecs.resources import TASK as TASK_KIND
from dockyard.services.ecs.task_launch import task_labels

__all__ = ["api", "CapacitySettings", "Ecs", "EcsSettings", "TASK_KIND", "task_labels"]
