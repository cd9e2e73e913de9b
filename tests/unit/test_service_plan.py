"""The service scheduler's arithmetic (reference §4.3 - §4.8), table-driven, with no I/O.

`Rollout` plays the part of the agents: each round it asks `plan` for one step, applies it
(stops are marked desired STOPPED, starts become PENDING tasks), then lets the world move on
(stopping tasks reach STOPPED, pending ones RUNNING, and enough time passes for them to count
as healthy). The sequence of steps is what ECS's documentation describes.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from dockyard.scheduler.model import Constraint, NodeView, Resources
from dockyard.scheduler.service_model import (
    ServiceState,
    ServiceTask,
    StopKind,
    breaker_threshold,
    breaker_verdict,
    is_healthy,
    maximum_total,
    minimum_healthy,
)
from dockyard.scheduler.service_plan import daemon_nodes, plan

NOW = 1_000_000.0


def running(arn: str, deployment: str, *, since: float = NOW - 100, **extra: Any) -> ServiceTask:
    return ServiceTask(
        arn=arn, deployment=deployment, last_status="RUNNING", started_at=since, created_at=since, **extra
    )


class Rollout:
    def __init__(self, desired: int, min_pct: int, max_pct: int, *, old: int) -> None:
        self.now = NOW
        self.desired = desired
        self.min_pct = min_pct
        self.max_pct = max_pct
        self.tasks = {f"old-{i}": running(f"old-{i}", "ecs-svc/old") for i in range(old)}
        self.serial = 0
        self.healthy_low = desired  # lowest healthy count seen

    def state(self) -> ServiceState:
        return ServiceState(
            now=self.now,
            primary="ecs-svc/new",
            desired=self.desired,
            tasks=tuple(self.tasks.values()),
            minimum_healthy_percent=self.min_pct,
            maximum_percent=self.max_pct,
            deployments=("ecs-svc/old", "ecs-svc/new"),
        )

    def step(self) -> str | None:
        result = plan(self.state(), rng=random.Random(1))
        healthy = sum(1 for t in self.tasks.values() if is_healthy(t, self.now, 40.0))
        self.healthy_low = min(self.healthy_low, healthy - len(result.stops))
        for stop in result.stops:
            self.tasks[stop.arn] = dataclasses.replace(self.tasks[stop.arn], desired_status="STOPPED")
        for _ in range(result.start):
            self.serial += 1
            arn = f"new-{self.serial}"
            self.tasks[arn] = ServiceTask(arn=arn, deployment="ecs-svc/new", created_at=self.now)
        if result.stops and result.start:
            return f"stop {len(result.stops)}, start {result.start}"
        if result.stops:
            return f"stop {len(result.stops)}"
        if result.start:
            return f"start {result.start}"
        return None

    def settle(self) -> None:
        for arn, task in list(self.tasks.items()):
            if task.desired_status == "STOPPED":
                self.tasks[arn] = dataclasses.replace(task, last_status="STOPPED")
            elif task.last_status != "RUNNING":
                self.tasks[arn] = dataclasses.replace(task, last_status="RUNNING", started_at=self.now)
        self.now += 41

    def run(self, rounds: int = 20) -> list[str]:
        steps = []
        for _ in range(rounds):
            step = self.step()
            if step is not None:
                steps.append(step)
            elif plan(self.state()).complete:
                return steps
            self.settle()
        raise AssertionError(f"did not finish: {steps}")


@pytest.mark.parametrize(
    ("desired", "min_pct", "max_pct", "expected"),
    [
        (4, 50, 100, ["stop 2", "start 2", "stop 2", "start 2"]),
        (4, 100, 150, ["start 2", "stop 2", "start 2", "stop 2"]),
        (4, 100, 200, ["start 4", "stop 4"]),
        (4, 0, 100, ["stop 4", "start 4"]),
        (3, 100, 134, ["start 1", "stop 1", "start 1", "stop 1", "start 1", "stop 1"]),
        (1, 0, 100, ["stop 1", "start 1"]),
        (1, 100, 200, ["start 1", "stop 1"]),
    ],
)
def test_rolling_update_steps(desired: int, min_pct: int, max_pct: int, expected: list[str]) -> None:
    rollout = Rollout(desired, min_pct, max_pct, old=desired)
    assert rollout.run() == expected
    assert rollout.healthy_low >= minimum_healthy(desired, min_pct)
    assert all(t.deployment == "ecs-svc/new" for t in rollout.tasks.values() if t.last_status != "STOPPED")


def test_rounding() -> None:
    assert minimum_healthy(3, 50) == 2  # ceil(1.5)
    assert maximum_total(3, 150) == 4  # floor(4.5)
    assert maximum_total(3, 125) == 3  # floor(3.75): no head-room
    assert minimum_healthy(0, 100) == 0 and maximum_total(0, 200) == 0


@pytest.mark.parametrize(
    ("desired", "threshold"), [(0, 3), (1, 3), (6, 3), (7, 4), (25, 13), (399, 200), (400, 200), (1000, 200)]
)
def test_circuit_breaker_threshold(desired: int, threshold: int) -> None:
    assert breaker_threshold(desired) == threshold


@pytest.mark.parametrize(
    ("enabled", "rollback", "failures", "desired", "in_progress", "can_roll_back", "verdict"),
    [
        (False, True, 99, 1, True, True, None),  # no circuit breaker
        (True, True, 2, 1, True, True, None),  # D=1: threshold 3
        (True, True, 3, 1, True, True, "ROLLBACK"),
        (True, False, 3, 1, True, True, "FAILED"),
        (True, True, 3, 1, True, False, "FAILED"),  # nothing COMPLETED to go back to: stall
        (True, True, 12, 25, True, True, None),  # D=25: threshold 13
        (True, True, 13, 25, True, True, "ROLLBACK"),
        (True, True, 50, 25, False, True, None),  # already COMPLETED or FAILED
    ],
)
def test_circuit_breaker_verdict(
    enabled: bool,
    rollback: bool,
    failures: int,
    desired: int,
    in_progress: bool,
    can_roll_back: bool,
    verdict: str | None,
) -> None:
    assert (
        breaker_verdict(
            enabled=enabled,
            rollback=rollback,
            failures=failures,
            desired=desired,
            in_progress=in_progress,
            can_roll_back=can_roll_back,
        )
        == verdict
    )


def test_75_100_with_two_tasks_stalls() -> None:
    rollout = Rollout(2, 75, 100, old=2)
    result = plan(rollout.state())
    assert (result.start, result.stops, result.stalled) == (0, (), True)


def test_125_percent_of_three_cannot_start() -> None:
    rollout = Rollout(3, 100, 125, old=3)
    result = plan(rollout.state())
    assert result.start == 0 and result.stalled


def test_no_stall_while_tasks_are_on_their_way() -> None:
    rollout = Rollout(2, 100, 150, old=2)
    assert rollout.step() == "start 1"
    result = plan(rollout.state())
    assert not result.stalled and result.start == 0 and not result.stops


def test_a_task_turns_healthy_after_the_delay() -> None:
    task = running("t", "d", since=NOW - 10)
    state = ServiceState(now=NOW, primary="d", desired=1, tasks=(task,), deployments=("d",))
    result = plan(state)
    assert not result.complete
    assert result.requeue_after == pytest.approx(30.0)
    assert plan(dataclasses.replace(state, now=NOW + 30)).complete


def test_health_checked_tasks_are_healthy_when_healthy() -> None:
    task = running("t", "d", since=NOW, health_checked=True, health="HEALTHY")
    state = ServiceState(now=NOW, primary="d", desired=1, tasks=(task,), deployments=("d",))
    assert plan(state).complete


def test_replaces_stopped_tasks_and_scales() -> None:
    tasks = (running("a", "d"), dataclasses.replace(running("b", "d"), last_status="STOPPED"))
    state = ServiceState(now=NOW, primary="d", desired=3, tasks=tasks, deployments=("d",))
    assert plan(state).start == 2
    state = dataclasses.replace(state, desired=0)
    result = plan(state)
    assert [s.arn for s in result.stops] == ["a"] and result.stops[0].kind == StopKind.SCALE_IN


def test_scale_in_stops_pending_tasks_first() -> None:
    tasks = (running("a", "d"), ServiceTask("p", "d", last_status="PENDING"), running("b", "d"))
    state = ServiceState(now=NOW, primary="d", desired=2, tasks=tasks, deployments=("d",))
    assert [s.arn for s in plan(state).stops] == ["p"]


def test_unhealthy_task_is_replaced_first_when_there_is_room() -> None:
    sick = running("sick", "d", health_checked=True, health="UNHEALTHY")
    well = running("well", "d", health_checked=True, health="HEALTHY")
    state = ServiceState(
        now=NOW, primary="d", desired=2, tasks=(sick, well), deployments=("d",), maximum_percent=200
    )
    result = plan(state)
    assert result.start == 1
    assert [(s.arn, s.kind) for s in result.stops] == [("sick", StopKind.UNHEALTHY)]
    # At 100% there is no room: stop it first, then replace it.
    result = plan(dataclasses.replace(state, maximum_percent=100))
    assert result.start == 0 and [s.arn for s in result.stops] == ["sick"]


def test_grace_period_hides_health_failures() -> None:
    sick = running("sick", "d", since=NOW - 5, health_checked=True, health="UNHEALTHY")
    state = ServiceState(now=NOW, primary="d", desired=1, tasks=(sick,), deployments=("d",), grace_period=60)
    result = plan(state)
    assert result.stops == () and result.start == 0
    assert result.requeue_after == pytest.approx(55.0)
    assert [s.kind for s in plan(dataclasses.replace(state, now=NOW + 56)).stops] == [StopKind.UNHEALTHY]


def test_failed_deployment_launches_nothing() -> None:
    state = ServiceState(
        now=NOW,
        primary="new",
        desired=2,
        tasks=(running("a", "old"), running("b", "old")),
        deployments=("old", "new"),
        primary_failed=True,
    )
    result = plan(state)
    assert result.start == 0 and result.stops == () and not result.complete


def test_backoff_holds_launches() -> None:
    state = ServiceState(now=NOW, primary="d", desired=2, deployments=("d",), launch_after=NOW + 20)
    result = plan(state)
    assert result.start == 0 and result.backoff and result.requeue_after == pytest.approx(20.0)
    assert plan(dataclasses.replace(state, now=NOW + 20)).start == 2


def test_draining_instances() -> None:
    nodes = (
        NodeView("i-1", Resources(), status="DRAINING"),
        NodeView("i-2", Resources()),
    )
    tasks = (
        running("a", "d", node="i-1"),
        ServiceTask("p", "d", last_status="PENDING", node="i-1"),
        running("b", "d", node="i-2"),
    )
    state = ServiceState(
        now=NOW, primary="d", desired=3, tasks=tasks, nodes=nodes, deployments=("d",), maximum_percent=200
    )
    result = plan(state)
    # the pending task stops at once; the running one is replaced first (room: 6 - 3), kept for now
    assert [(s.arn, s.kind) for s in result.stops] == [("p", StopKind.DRAINING)]
    assert result.start == 2
    # with 100/100 draining can never finish
    stuck = plan(dataclasses.replace(state, desired=2, maximum_percent=100, tasks=(tasks[0], tasks[2])))
    assert stuck.start == 0 and stuck.stops == ()


def test_deleting_stops_everything() -> None:
    tasks = (running("a", "d"), ServiceTask("p", "d", last_status="PENDING"), running("o", "old", since=NOW))
    state = ServiceState(now=NOW, primary="d", desired=3, tasks=tasks, deployments=("old", "d"), active=False)
    result = plan(state)
    assert sorted(s.arn for s in result.stops) == ["a", "o", "p"] and result.start == 0


def test_starts_are_bounded_per_pass() -> None:
    state = ServiceState(now=NOW, primary="d", desired=25, deployments=("d",), max_starts=10)
    result = plan(state)
    assert result.start == 10 and result.requeue_after == 0.0


DAEMON_NODES = tuple(NodeView(f"i-{n}", Resources(1024, 1024)) for n in range(3))


def daemon(tasks: tuple[ServiceTask, ...], **extra: object) -> ServiceState:
    fields: dict[str, object] = {
        "now": NOW,
        "primary": "d",
        "desired": 0,
        "tasks": tasks,
        "scheduling": "DAEMON",
        "minimum_healthy_percent": 0,
        "maximum_percent": 100,
        "deployments": ("old", "d"),
        "nodes": DAEMON_NODES,
        "daemon_nodes": ("i-0", "i-1", "i-2"),
    }
    fields.update(extra)
    return ServiceState(**fields)  # type: ignore[arg-type]


def test_daemon_places_one_task_per_instance() -> None:
    result = plan(daemon((running("a", "d", node="i-0"),)))
    assert result.start_on == ("i-1", "i-2") and result.desired == 3


def test_daemon_stops_tasks_on_instances_that_no_longer_qualify() -> None:
    result = plan(
        daemon((running("a", "d", node="i-0"), running("x", "d", node="i-9")), daemon_nodes=("i-0",))
    )
    assert [(s.arn, s.kind) for s in result.stops] == [("x", StopKind.DAEMON)]
    assert result.start_on == ()


def test_daemon_rolls_by_stopping_first() -> None:
    tasks = tuple(running(f"o{n}", "old", node=f"i-{n}") for n in range(3))
    result = plan(daemon(tasks, minimum_healthy_percent=50))
    # 3 instances at 50%: 2 must stay healthy, so one is replaced at a time
    assert len(result.stops) == 1 and result.start_on == ()


def test_daemon_instances_that_qualify() -> None:
    nodes = (
        NodeView("a", Resources(), attributes={"tier": "web"}),
        NodeView("b", Resources(), status="DRAINING", attributes={"tier": "web"}),
        NodeView("c", Resources(), attributes={"tier": "db"}),
        NodeView("d", Resources(), external=True),
    )
    assert daemon_nodes(nodes) == ("a", "c")
    assert daemon_nodes(nodes, (Constraint("memberOf", "attribute:tier == web"),)) == ("a",)
    assert daemon_nodes(nodes, external=True) == ("d",)


TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"


@pytest.mark.parametrize(
    ("extra", "healthy"),
    [
        ({"lb_health": "INITIAL"}, False),  # registered, not yet healthy: the 40 s delay does not apply
        ({"lb_health": "HEALTHY"}, True),
        ({"lb_health": "UNHEALTHY"}, False),
        ({"lb_health": "HEALTHY", "health_checked": True, "health": "UNKNOWN"}, False),  # both must agree
        ({"lb_health": "HEALTHY", "health_checked": True, "health": "HEALTHY"}, True),
        ({"lb_health": "INITIAL", "health_checked": True, "health": "HEALTHY"}, False),
    ],
)
def test_behind_a_load_balancer_healthy_means_healthy_targets(extra: dict[str, Any], healthy: bool) -> None:
    assert is_healthy(running("t", "d", **extra), NOW, 40.0) is healthy


def test_load_balanced_task_counts_as_soon_as_its_target_is_healthy() -> None:
    fresh = running("new", "d", since=NOW - 1, lb_health="HEALTHY")
    assert is_healthy(fresh, NOW, 40.0)  # no 40 s wait behind a load balancer


def test_task_failing_elb_health_checks_is_replaced_after_the_grace_period() -> None:
    sick = running("sick", "d", since=NOW - 5, lb_health="UNHEALTHY", lb_group=TG)
    well = running("well", "d", lb_health="HEALTHY", lb_group=None)
    state = ServiceState(
        now=NOW, primary="d", desired=2, tasks=(sick, well), deployments=("d",), grace_period=30
    )
    result = plan(state)
    assert result.stops == () and result.start == 0
    assert result.requeue_after == pytest.approx(25.0)
    later = plan(dataclasses.replace(state, now=NOW + 26))
    assert later.start == 1
    assert [(s.arn, s.kind, s.target_group) for s in later.stops] == [("sick", StopKind.ELB_UNHEALTHY, TG)]


def test_rolling_update_waits_for_healthy_targets() -> None:
    old = running("old", "ecs-svc/old", lb_health="HEALTHY")
    new = running("new", "ecs-svc/new", since=NOW - 100, lb_health="INITIAL")
    state = ServiceState(
        now=NOW,
        primary="ecs-svc/new",
        desired=1,
        tasks=(old, new),
        deployments=("ecs-svc/old", "ecs-svc/new"),
        minimum_healthy_percent=100,
        maximum_percent=200,
    )
    assert plan(state).stops == ()  # the new task's target is not healthy yet: the old one stays
    healthy = dataclasses.replace(state, tasks=(old, dataclasses.replace(new, lb_health="HEALTHY")))
    assert [(s.arn, s.kind) for s in plan(healthy).stops] == [("old", StopKind.DEPLOYMENT)]
