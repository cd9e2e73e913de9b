"""The ECS service scheduler as a pure function: `plan(state) -> ServicePlan`, no I/O.

One pass looks at every task of the service and answers with one bounded step, in the manner of
Kubernetes' rolling updater (scale the new set up within the surge, the old set down within the
unavailable budget) with ECS's numbers (reference §4.3). With D the desired count:

```
minHealthy = ceil(D * minimumHealthyPercent / 100)    healthy tasks that must remain
maxTotal   = floor(D * maximumPercent / 100)          tasks (not yet STOPPED) there may be

start  min(maxTotal - total, D - new)                 new = primary tasks that will stay
stop   old (older deployments, tasks on DRAINING instances):
         PENDING or UNHEALTHY ones at once, healthy ones while healthy - 1 >= minHealthy
       UNHEALTHY primary tasks past the grace period: once replaced (or, with no head-room,
         one at a time); primary tasks beyond D (scale-in, in `choose_tasks_to_stop` order,
         from the providers a capacity provider strategy's ratio says hold too many)
```

A task counts toward `total` until it is STOPPED (a task being stopped still holds its place),
and toward `healthy` while desired RUNNING and healthy (§4.3: RUNNING for `healthy_delay`
seconds, or HEALTHY when an essential container has a health check). When a deployment can
neither start nor stop anything and nothing is on its way (no task pending, stopping or
warming up), the plan says `stalled`: the configuration itself blocks it (D=2 at 75/100).

DAEMON (§4.8): one task per qualifying instance; tasks elsewhere (DRAINING, constraint no longer
met, deregistered) stop at once; replacing an old task on an instance stops it first (maximumPercent
is 100), within minimumHealthyPercent of the qualifying instances.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from dockyard.scheduler.capacity_split import shrink
from dockyard.scheduler.model import Constraint, NodeView, Strategy, TaskView
from dockyard.scheduler.scale_in import choose_tasks_to_stop
from dockyard.scheduler.service_model import (
    PENDING_STATUSES,
    ServicePlan,
    ServiceState,
    ServiceTask,
    Stop,
    StopKind,
    failing_checks,
    healthy_at,
    is_healthy,
    is_live,
    maximum_total,
    minimum_healthy,
    past_grace,
)
from dockyard.scheduler.spec import expression_of
from dockyard.scheduler.state import PlanContext

__all__ = ["plan", "plan_replica", "plan_daemon", "daemon_nodes", "strategies_or_default"]


def plan(state: ServiceState, *, rng: random.Random | None = None) -> ServicePlan:
    if state.scheduling == "DAEMON":
        return plan_daemon(state)
    return plan_replica(state, rng=rng)


def _view(task: ServiceTask) -> TaskView:
    return TaskView(
        arn=task.arn,
        node=task.node,
        resources=task.resources,
        last_status=task.last_status,
        health_status=task.health,
        protected=task.protected,
        availability_zone=task.availability_zone,
    )


def _ordered(
    tasks: Sequence[ServiceTask], state: ServiceState, count: int, rng: random.Random | None
) -> list[ServiceTask]:
    """`count` of `tasks` in the service's scale-in order (reference §5.5)."""
    if count <= 0 or not tasks:
        return []
    by_arn = {t.arn: t for t in tasks}
    chosen = choose_tasks_to_stop([_view(t) for t in tasks], state.nodes, state.strategies, count, rng=rng)
    return [by_arn[v.arn] for v in chosen]


def _scale_in(
    tasks: Sequence[ServiceTask], state: ServiceState, count: int, rng: random.Random | None
) -> list[ServiceTask]:
    """`count` tasks to stop for a scale-in: with a capacity provider strategy, from the providers
    the strategy's ratio says hold too many (capacity_split.shrink), each in scale-in order."""
    if not state.capacity_strategy or count <= 0:
        return _ordered(tasks, state, count, rng)
    held: dict[str, int] = {}
    for task in tasks:
        held[task.capacity_provider or ""] = held.get(task.capacity_provider or "", 0) + 1
    losing: dict[str, int] = {}
    for provider in shrink(state.capacity_strategy, held, count):
        losing[provider] = losing.get(provider, 0) + 1
    chosen: list[ServiceTask] = []
    for provider, n in losing.items():
        chosen += _ordered([t for t in tasks if (t.capacity_provider or "") == provider], state, n, rng)
    return chosen


def _unhealthy(task: ServiceTask, state: ServiceState) -> bool:
    """Failed its container or load balancer health checks and the grace period is over."""
    return (
        failing_checks(task)
        and task.last_status == "RUNNING"
        and past_grace(task, state.now, state.grace_period)
    )


def _unhealthy_stop(task: ServiceTask) -> Stop:
    if task.health_checked and task.health == "UNHEALTHY":
        return Stop(task.arn, StopKind.UNHEALTHY, task.deployment)
    return Stop(task.arn, StopKind.ELB_UNHEALTHY, task.deployment, target_group=task.lb_group)


def _settling(task: ServiceTask, state: ServiceState) -> bool:
    """Will change on its own: pending, being stopped, or RUNNING but not yet healthy."""
    if not is_live(task):
        return False
    if task.desired_status != "RUNNING" or task.last_status in PENDING_STATUSES:
        return True
    if task.last_status != "RUNNING":
        return True
    if is_healthy(task, state.now, state.healthy_delay):
        return False
    if failing_checks(task):
        return not past_grace(task, state.now, state.grace_period)
    return True


def _wake_times(tasks: Iterable[ServiceTask], state: ServiceState) -> list[float]:
    """Moments a pass will see something new without any event: a task turning healthy or
    leaving its grace period."""
    times = []
    for task in tasks:
        if not is_live(task) or task.desired_status != "RUNNING":
            continue
        if failing_checks(task):
            if not past_grace(task, state.now, state.grace_period):
                start = task.started_at if task.started_at is not None else task.created_at
                times.append(start + state.grace_period)
        elif not task.health_checked and task.lb_health is None:
            ready = healthy_at(task, state.healthy_delay)
            if ready is not None and ready > state.now:
                times.append(ready)
    return times


def _requeue(times: list[float], now: float) -> float | None:
    future = [t - now for t in times if t > now]
    return min(future) if future else None


def _live_counts(tasks: Iterable[ServiceTask]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for task in tasks:
        if is_live(task):
            counts[task.deployment] = counts.get(task.deployment, 0) + 1
    return counts


def _draining(nodes: Sequence[NodeView]) -> frozenset[str]:
    return frozenset(n.arn for n in nodes if n.status == "DRAINING")


def plan_replica(state: ServiceState, *, rng: random.Random | None = None) -> ServicePlan:
    desired = state.desired if state.active else 0
    min_percent = state.minimum_healthy_percent if state.active else 0
    min_healthy = minimum_healthy(desired, min_percent)
    max_total = maximum_total(desired, state.maximum_percent)
    now = state.now
    draining = _draining(state.nodes)

    live = [t for t in state.tasks if is_live(t)]
    running = [t for t in live if t.desired_status == "RUNNING"]
    total = len(live)
    primary = [t for t in running if t.deployment == state.primary]
    old = [t for t in running if t.deployment != state.primary]
    drained = [t for t in primary if t.node is not None and t.node in draining]
    stops: list[Stop] = []

    # PENDING tasks on a DRAINING instance are stopped at once (reference §6.3).
    for task in drained:
        if task.last_status != "RUNNING":
            stops.append(Stop(task.arn, StopKind.DRAINING, task.deployment))
    drained_running = [t for t in drained if t.last_status == "RUNNING"]
    drained_arns = {t.arn for t in drained}
    doomed = [t for t in primary if t.arn not in drained_arns and _unhealthy(t, state)]
    doomed_arns = {t.arn for t in doomed}
    keep = [t for t in primary if t.arn not in drained_arns and t.arn not in doomed_arns]

    # Scale in: primary tasks beyond the desired count (not bound by minimumHealthyPercent).
    excess = _scale_in(keep, state, len(keep) - desired, rng)
    stops += [Stop(t.arn, StopKind.SCALE_IN, t.deployment) for t in excess]
    excess_arns = {t.arn for t in excess}
    keep = [t for t in keep if t.arn not in excess_arns]

    # Start: new tasks of the primary deployment, within maximumPercent.
    wanted = max(0, desired - len(keep))
    room = max(0, max_total - total)
    start = 0
    backoff = False
    if state.active and not state.primary_failed and wanted:
        if now < state.launch_after:
            backoff = True
        else:
            start = min(wanted, room, state.max_starts)

    # Unhealthy primary tasks: stop the ones already replaced; with no head-room at all, one
    # at a time (when nothing else is on its way out).
    if doomed and not state.primary_failed:
        unreplaced = max(0, desired - len(keep) - start)
        replaced = max(0, len(doomed) - unreplaced)
        in_flight = any(t.desired_status != "RUNNING" for t in live)
        if replaced == 0 and room == 0 and not in_flight:
            replaced = 1
        stops += [_unhealthy_stop(t) for t in doomed[:replaced]]

    # Stop old tasks: unhealthy or pending ones at once, healthy ones within minimumHealthyPercent.
    stopping = {s.arn for s in stops}
    healthy = sum(1 for t in running if t.arn not in stopping and is_healthy(t, now, state.healthy_delay))
    retiring = old + drained_running
    if not state.primary_failed or not state.active:
        free = [
            t
            for t in retiring
            if not state.active  # deleted: everything goes
            or t.last_status in PENDING_STATUSES
            or (t.last_status == "RUNNING" and _unhealthy(t, state))
        ]
        free_arns = {t.arn for t in free}
        for task in _ordered(free, state, len(free), rng):
            if task.last_status == "RUNNING" and _unhealthy(task, state):
                stops.append(_unhealthy_stop(task))
            else:
                stops.append(Stop(task.arn, _retire_kind(task, drained_arns), task.deployment))
        candidates = [
            t for t in retiring if t.arn not in free_arns and is_healthy(t, now, state.healthy_delay)
        ]
        budget = healthy - min_healthy
        for task in _oldest_first(candidates, state, budget, rng):
            stops.append(Stop(task.arn, _retire_kind(task, drained_arns), task.deployment))

    stopping = {s.arn for s in stops}
    settling = any(_settling(t, state) for t in live if t.arn not in stopping)
    stalled = (  # a deployment (old tasks remain) that nothing but its configuration holds up
        state.active
        and bool(retiring)
        and not stops
        and start == 0
        and not backoff
        and not state.primary_failed
        and not settling
    )
    others_live = any(is_live(t) and t.deployment != state.primary for t in state.tasks)
    complete = (
        not state.primary_failed
        and not others_live
        and not drained
        and not doomed
        and not stops
        and start == 0
        and len(keep) == desired
        and len([t for t in live if t.deployment == state.primary]) == desired
        and all(is_healthy(t, now, state.healthy_delay) for t in keep)
    )
    times = _wake_times(live, state)
    if backoff:
        times.append(state.launch_after)
    requeue = 0.0 if start == state.max_starts and wanted > start and room > start else _requeue(times, now)
    return ServicePlan(
        start=start,
        stops=tuple(stops),
        stalled=stalled,
        complete=complete,
        backoff=backoff,
        healthy=healthy,
        desired=desired,
        requeue_after=requeue,
        live=_live_counts(state.tasks),
    )


def _retire_kind(task: ServiceTask, drained: set[str]) -> str:
    return StopKind.DRAINING if task.arn in drained else StopKind.DEPLOYMENT


def _oldest_first(
    tasks: Sequence[ServiceTask], state: ServiceState, count: int, rng: random.Random | None
) -> list[ServiceTask]:
    """Up to `count` tasks: the oldest deployment's first, each deployment in scale-in order."""
    if count <= 0:
        return []
    rank = {d: i for i, d in enumerate(state.deployments)}
    groups: dict[str, list[ServiceTask]] = {}
    for task in tasks:
        groups.setdefault(task.deployment, []).append(task)
    out: list[ServiceTask] = []
    for deployment in sorted(groups, key=lambda d: (rank.get(d, -1), d)):
        out += _ordered(groups[deployment], state, count - len(out), rng)
        if len(out) >= count:
            break
    return out[:count]


def plan_daemon(state: ServiceState) -> ServicePlan:
    eligible = list(state.daemon_nodes or ())
    desired = len(eligible) if state.active else 0
    eligible_set = set(eligible) if state.active else set()
    min_percent = state.minimum_healthy_percent if state.active else 0
    min_healthy = minimum_healthy(desired, min_percent)
    now = state.now

    live = [t for t in state.tasks if is_live(t)]
    running = [t for t in live if t.desired_status == "RUNNING"]
    by_node: dict[str | None, list[ServiceTask]] = {}
    for task in live:
        by_node.setdefault(task.node, []).append(task)
    stops: list[Stop] = []

    # Tasks where no daemon task should run: stopped at once.
    for task in running:
        if task.node not in eligible_set:
            stops.append(Stop(task.arn, StopKind.DAEMON, task.deployment))
    start_on: list[str] = []
    replace: list[ServiceTask] = []
    doomed: list[ServiceTask] = []
    for node in eligible:
        here = [t for t in by_node.get(node, []) if t.desired_status == "RUNNING"]
        current = [t for t in here if t.deployment == state.primary]
        for extra in current[1:]:
            stops.append(Stop(extra.arn, StopKind.SCALE_IN, extra.deployment))
        if current:
            if _unhealthy(current[0], state) and not state.primary_failed:
                doomed.append(current[0])
            for old in (t for t in here if t.deployment != state.primary):
                stops.append(Stop(old.arn, StopKind.DEPLOYMENT, old.deployment))
            continue
        if here:
            replace += here
            continue
        if not by_node.get(node):  # nothing at all there, not even a task on its way out
            start_on.append(node)

    stopping = {s.arn for s in stops}
    healthy = sum(1 for t in running if t.arn not in stopping and is_healthy(t, now, state.healthy_delay))
    budget = healthy - min_healthy
    if not state.primary_failed:
        for task in sorted(replace, key=lambda t: (is_healthy(t, now, state.healthy_delay), t.arn)):
            if is_healthy(task, now, state.healthy_delay):
                if budget <= 0:
                    continue
                budget -= 1
            stops.append(Stop(task.arn, StopKind.DEPLOYMENT, task.deployment))
        in_flight = any(t.desired_status != "RUNNING" for t in live)
        if doomed and not in_flight:
            stops.append(Stop(doomed[0].arn, StopKind.UNHEALTHY, doomed[0].deployment))

    backoff = False
    if not state.active or state.primary_failed:
        start_on = []
    elif start_on and now < state.launch_after:
        backoff = True
        start_on = []
    start_on = start_on[: state.max_starts]
    stopping = {s.arn for s in stops}
    settling = any(_settling(t, state) for t in live if t.arn not in stopping)
    stalled = bool(replace) and not stops and not start_on and not backoff and not settling and state.active
    others_live = any(is_live(t) and t.deployment != state.primary for t in state.tasks)
    complete = (
        not state.primary_failed
        and not others_live
        and not stops
        and not start_on
        and all(
            any(
                t.deployment == state.primary and is_healthy(t, now, state.healthy_delay)
                for t in by_node.get(node, [])
            )
            for node in eligible_set
        )
        and len(running) == desired
    )
    times = _wake_times(live, state)
    if backoff:
        times.append(state.launch_after)
    return ServicePlan(
        start_on=tuple(start_on),
        stops=tuple(stops),
        stalled=stalled,
        complete=complete,
        backoff=backoff,
        healthy=healthy,
        desired=desired,
        requeue_after=_requeue(times, now),
        live=_live_counts(state.tasks),
    )


def daemon_nodes(
    nodes: Sequence[NodeView], constraints: Sequence[Constraint] = (), *, external: bool = False
) -> tuple[str, ...]:
    """The instances a DAEMON service runs on: ACTIVE, of its kind (EC2 or EXTERNAL), meeting
    every memberOf constraint (reference §4.8); in a stable order."""
    ctx = PlanContext(nodes)
    member_of = [c for c in constraints if c.type == "memberOf"]
    return tuple(
        sorted(
            node.arn
            for node in ctx.nodes
            if node.view.status == "ACTIVE"
            and node.view.external == external
            and all(expression_of(c).evaluate(node.instance_view()) for c in member_of)
        )
    )


def strategies_or_default(strategies: Sequence[Strategy]) -> tuple[Strategy, ...]:
    """A service with no strategy spreads by availability zone, then by instance (reference §5.1)."""
    if strategies:
        return tuple(strategies)
    return (Strategy("spread", "attribute:ecs.availability-zone"), Strategy("spread", "instanceId"))
