"""ECS tasks operations (being written)."""

from dockyard.services.ecs.api import api  # noqa: F401
