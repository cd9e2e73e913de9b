"""Waiting for a container's `dependsOn` conditions before it starts (reference §2.3).

START: the dependency has started. COMPLETE: it has exited (any code). SUCCESS: it has exited 0.
HEALTHY: its health check has passed. CREATE (implicit, for volumesFrom): it exists.

As the ECS agent does: a condition that can no longer be met fails at once (SUCCESS after a
non-zero exit; any condition on a dependency that stopped without ever starting; here also HEALTHY
on a dependency that exited before it was healthy, where the ECS agent would wait forever); and a
dependency's `startTimeout` bounds how long, counted from the dependency's own start, dependents
wait for it to reach COMPLETE, SUCCESS or HEALTHY. The failure reason is the container's, in the
agent's words (`CannotStartContainerError: dependency graph: ...`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from dockyard.agent.plan import ContainerPlan, Dependency, TaskPlan
from dockyard.agent.signal import Signal
from dockyard.agent.task_status import ContainerStatus, TaskStatus
from dockyard.agent.timers import wait_signal
from dockyard.core.clock import Clock

__all__ = ["DependencyFailed", "Interrupted", "condition_state", "wait_for_dependencies"]

#: Conditions a dependency's startTimeout applies to (START is met as soon as it has started).
_TIMED = ("COMPLETE", "SUCCESS", "HEALTHY")
_PREFIX = "CannotStartContainerError: dependency graph: "


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


def _unmet(target: str, dependency: Dependency, dep: ContainerStatus) -> str:
    what = f"container ordering dependency {dependency.container} for target {target}"
    if not dep.started:
        return f"{_PREFIX}failed to resolve {what} because dependency will never start"
    if dependency.condition == "SUCCESS":
        return f"{_PREFIX}failed to resolve {what} as dependency did not exit successfully"
    return f"{_PREFIX}failed to resolve {what} as dependency stopped before it was healthy"


async def wait_for_dependencies(
    container: ContainerPlan,
    plan: TaskPlan,
    status: TaskStatus,
    wake: Signal,
    clock: Clock,
    *,
    started_at: Mapping[str, float],
    stop: Callable[[], bool],
) -> None:
    """Return when every condition is met; raise `DependencyFailed` when one cannot be, or
    `Interrupted` when `stop()` turns true. `started_at` maps a container to its start time
    (epoch seconds on `clock`); `wake` is notified whenever any container's status changes."""
    if not container.depends_on:
        return
    while True:
        generation = wake.generation
        if stop():
            raise Interrupted()
        pending: list[Dependency] = []
        for dependency in container.depends_on:
            dep_status = status.containers[dependency.container]
            state = condition_state(dependency.condition, dep_status)
            if state is False:
                raise DependencyFailed(_unmet(container.name, dependency, dep_status))
            if state is None:
                pending.append(dependency)
        if not pending:
            return
        deadline: float | None = None
        for dependency in pending:
            timeout = plan.container(dependency.container).start_timeout
            since = started_at.get(dependency.container)
            if dependency.condition not in _TIMED or not timeout or since is None:
                continue
            remaining = since + timeout - clock.now()
            if remaining <= 0:
                raise DependencyFailed(
                    f"{_PREFIX}container ordering dependency {dependency.container} for target "
                    f"{container.name} has timed out ({dependency.condition} within its startTimeout "
                    f"of {timeout}s)"
                )
            deadline = remaining if deadline is None else min(deadline, remaining)
        await wait_signal(wake, generation, clock, deadline)
