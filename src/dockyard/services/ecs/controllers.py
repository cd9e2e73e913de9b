"""The ECS controllers the server runs (see `dockyard.controllers`)."""

from __future__ import annotations

from dockyard.controllers.reconciler import Reconciler
from dockyard.services.ecs.deps import Ecs

__all__ = ["ecs_controllers"]


def ecs_controllers(ecs: Ecs) -> list[Reconciler]:
    return []
