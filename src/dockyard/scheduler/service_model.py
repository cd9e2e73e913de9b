"""What the service reconciler reads and what it answers (reference §4.3 - §4.8, §6.3), as records.

`ServiceState` is everything one pass of the ECS service scheduler looks at: the service's
counts and deployment configuration, its deployments (the PRIMARY one launches), its tasks
(`ServiceTask`, STOPPED ones included so failures can be counted), the cluster's instances (for
scale-in order, DRAINING and DAEMON) and the clock. `ServicePlan` is one bounded step: tasks to
start (a count for REPLICA, instances for DAEMON), tasks to stop with their reasons, and what was
observed (stalled, deployment complete, failures) for the controller to record.

Also here: ECS's arithmetic, so it lives in one place and tests read like the reference —
`minimum_healthy(D, pct) = ceil(D * pct / 100)`, `maximum_total(D, pct) = floor(D * pct / 100)`,
`breaker_threshold(D) = clamp(ceil(0.5 * D), 3, 200)` — and what "healthy" means (§4.3):
RUNNING for `healthy_delay` seconds when no essential container has a health check, else HEALTHY;
behind load balancers, also healthy in every target group (and then without the delay).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.scheduler.capacity_split import StrategyItem
from dockyard.scheduler.model import NodeView, Resources, Strategy

__all__ = [
    "PENDING_STATUSES",
    "ServiceTask",
    "ServiceState",
    "Stop",
    "ServicePlan",
    "StopKind",
    "minimum_healthy",
    "maximum_total",
    "breaker_threshold",
    "breaker_verdict",
    "is_live",
    "is_healthy",
    "healthy_at",
    "past_grace",
    "failing_checks",
]

PENDING_STATUSES = frozenset({"PROVISIONING", "PENDING", "ACTIVATING"})


def minimum_healthy(desired: int, percent: int) -> int:
    """Lower bound on healthy tasks: rounded up."""
    return -((-desired * percent) // 100)


def maximum_total(desired: int, percent: int) -> int:
    """Upper bound on RUNNING + PENDING tasks: rounded down."""
    return (desired * percent) // 100


def breaker_threshold(desired: int) -> int:
    """Failed tasks that fail a deployment: ceil(D / 2), at least 3 and at most 200."""
    return min(200, max(3, -(-desired // 2)))


def breaker_verdict(
    *, enabled: bool, rollback: bool, failures: int, desired: int, in_progress: bool, can_roll_back: bool
) -> str | None:
    """What the deployment circuit breaker does (reference §4.5): None (nothing), "FAILED" (the
    deployment fails and launches nothing more) or "ROLLBACK" (it fails, and the last COMPLETED
    deployment becomes PRIMARY again)."""
    if not enabled or not in_progress or failures < breaker_threshold(desired):
        return None
    return "ROLLBACK" if rollback and can_roll_back else "FAILED"


@dataclass(frozen=True, slots=True)
class ServiceTask:
    """One task of the service, as the scheduler sees it."""

    arn: str
    deployment: str  # the `ecs-svc/...` id it was started by
    last_status: str = "PENDING"
    desired_status: str = "RUNNING"
    health: str = "UNKNOWN"  # HEALTHY | UNHEALTHY | UNKNOWN (task level, essential containers)
    health_checked: bool = False  # an essential container has a health check
    created_at: float = 0.0
    started_at: float | None = None  # reached RUNNING
    stop_code: str | None = None
    node: str | None = None  # container instance ARN; None on Fargate
    availability_zone: str | None = None
    resources: Resources = Resources()
    protected: bool = False
    capacity_provider: str | None = None  # the provider it was launched on (a strategy's split)
    # Behind load balancers: HEALTHY when every target is healthy, UNHEALTHY when one fails its
    # checks (`lb_group` names that target group), INITIAL before; None without load balancers.
    lb_health: str | None = None
    lb_group: str | None = None

    @property
    def id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


def is_live(task: ServiceTask) -> bool:
    """Not yet STOPPED: it still counts toward maximumPercent."""
    return task.last_status != "STOPPED"


def healthy_at(task: ServiceTask, healthy_delay: float) -> float | None:
    """When a RUNNING task without health checks counts as healthy (None: not RUNNING yet)."""
    if task.started_at is None or task.last_status != "RUNNING":
        return None
    return task.started_at + healthy_delay


def is_healthy(task: ServiceTask, now: float, healthy_delay: float) -> bool:
    """Counts toward minimumHealthyPercent (reference §4.3)."""
    if task.desired_status != "RUNNING" or task.last_status != "RUNNING":
        return False
    if task.lb_health is not None and task.lb_health != "HEALTHY":
        return False
    if task.health_checked:
        return task.health == "HEALTHY"
    if task.lb_health == "HEALTHY":
        return True
    ready = healthy_at(task, healthy_delay)
    return ready is not None and now >= ready


def failing_checks(task: ServiceTask) -> bool:
    """Its container health checks or a load balancer's health checks report it unhealthy."""
    return (task.health_checked and task.health == "UNHEALTHY") or task.lb_health == "UNHEALTHY"


def past_grace(task: ServiceTask, now: float, grace: float) -> bool:
    """Health failures count only after healthCheckGracePeriodSeconds from the task's start."""
    start = task.started_at if task.started_at is not None else task.created_at
    return now >= start + grace


@dataclass(frozen=True, slots=True)
class ServiceState:
    """The inputs of one pass."""

    now: float
    primary: str  # id of the PRIMARY deployment
    desired: int  # REPLICA: desiredCount; DAEMON: computed from the instances
    tasks: tuple[ServiceTask, ...] = ()
    scheduling: str = "REPLICA"  # REPLICA | DAEMON
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    grace_period: float = 0.0
    healthy_delay: float = 40.0
    active: bool = True  # False once DeleteService made it DRAINING: everything stops
    primary_failed: bool = False  # a FAILED deployment launches nothing
    deployments: tuple[str, ...] = ()  # every deployment id, oldest first (the primary last)
    nodes: tuple[NodeView, ...] = ()  # the cluster's instances (EC2 / EXTERNAL services)
    strategies: tuple[Strategy, ...] = ()  # the service's placement strategies (scale-in order)
    daemon_nodes: tuple[str, ...] | None = None  # DAEMON: instances that should run one task
    launch_after: float = 0.0  # launch backoff: no new tasks before this time
    max_starts: int = 10  # new tasks per pass
    # The primary deployment's capacity provider strategy: scale-in keeps its ratio.
    capacity_strategy: tuple[StrategyItem, ...] = ()


class StopKind:
    SCALE_IN = "scale-in"  # more tasks than desired
    DEPLOYMENT = "deployment"  # a task of an older deployment
    UNHEALTHY = "unhealthy"  # failed its container health checks after the grace period
    ELB_UNHEALTHY = "elb-unhealthy"  # failed a target group's health checks after the grace period
    DRAINING = "draining"  # its instance is DRAINING
    DAEMON = "daemon"  # DAEMON: its instance no longer qualifies


@dataclass(frozen=True, slots=True)
class Stop:
    arn: str
    kind: str  # a StopKind value
    deployment: str  # the deployment the task belongs to
    target_group: str | None = None  # ELB_UNHEALTHY: the target group whose checks it failed


@dataclass(frozen=True, slots=True)
class ServicePlan:
    """One bounded step, and what the pass saw."""

    start: int = 0  # REPLICA: new tasks of the primary deployment
    start_on: tuple[str, ...] = ()  # DAEMON: one new task on each of these instances
    stops: tuple[Stop, ...] = ()
    stalled: bool = False  # a deployment cannot move because of minimumHealthyPercent/maximumPercent
    complete: bool = False  # the primary has its desired healthy tasks and nothing else runs
    backoff: bool = False  # tasks were wanted but the launch backoff holds them back
    healthy: int = 0
    desired: int = 0
    requeue_after: float | None = None  # when something will change on its own (a task turns healthy)
    live: dict[str, int] = field(default_factory=dict)  # not-STOPPED tasks per deployment
