"""Waiting for a container's `dependsOn` conditions before it starts (reference §2.3).

START: the dependency has started. COMPLETE: it has exited (any code). SUCCESS: it has exited 0.
HEALTHY: its health check has passed. CREATE (implicit, for volumesFrom): it exists.
A condition that can no longer be met (a dependency exited non-zero for SUCCESS, or exited before
becoming HEALTHY) fails at once; the dependency's `startTimeout`, when set, bounds the wait.
"""

from __future__ import annotations

from collections.abc import Callable

from dockyard.agent.plan import ContainerPlan, TaskPlan
from dockyard.agent.signal import Signal
from dockyard.agent.task_status import ContainerStatus, TaskStatus
from dockyard.core.clock import Clock

__all__ = ["DependencyFailed", "Interrupted", "condition_state", "wait_for_dependencies"]


class Interrupted(Exception):
    """The task is being stopped while the container waited for its dependencies."""


class DependencyFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def condition_state(condition: str, dep: ContainerStatus) -> bool | None:
    """True: met. False: can never be met. None: not yet."""
    if condition == "CREATE":
        return True if dep.created or dep.started else (False if dep.stopped else None)
    if condition == "START":
        return True if dep.started else (False if dep.stopped else None)
    if condition == "COMPLETE":
        return True if dep.stopped and dep.started else (False if dep.stopped else None)
    if condition == "SUCCESS":
        if dep.stopped:
            return dep.exit_code == 0 and dep.started
        return None
    if condition == "HEALTHY":
        if dep.health == "HEALTHY":
            return True
        return False if dep.stopped else None
    return False


async def wait_for_dependencies(
    container: ContainerPlan,
    plan: TaskPlan,
    status: TaskStatus,
    wake: Signal,
    clock: Clock,
    *,
    stop: Callable[[], bool],
) -> None:
    """Return when every condition is met; raise `DependencyFailed` when one cannot be."""
    if not container.depends_on:
        return
    started = clock.monotonic()
    while True:
        generation = wake.generation
        if stop():
            raise Interrupted()
        pending = []
        for dependency in container.depends_on:
            dep_status = status.containers[dependency.container]
            state = condition_state(dependency.condition, dep_status)
            if state is False:
                raise DependencyFailed(
                    f"DependencyConditionNotMet: container {container.name} depends on "
                    f"{dependency.container} reaching {dependency.condition}, which can no longer happen"
                )
            if state is None:
                pending.append(dependency)
        if not pending:
            return
        deadline = None
        for dependency in pending:
            timeout = plan.container(dependency.container).start_timeout
            if timeout is not None:
                remaining = started + timeout - clock.monotonic()
                if remaining <= 0:
                    raise DependencyFailed(
                        f"DependencyTimeoutError: container {container.name} timed out waiting for "
                        f"{dependency.container} to reach {dependency.condition} ({timeout}s)"
                    )
                deadline = remaining if deadline is None else min(deadline, remaining)
        await wake.wait(generation, timeout=deadline)
