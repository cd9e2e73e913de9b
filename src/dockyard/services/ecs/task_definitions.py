"""ECS task_definitions operations (being written)."""

from dockyard.services.ecs.api import api  # noqa: F401
