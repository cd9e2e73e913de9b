"""Target churn as runtime commands: the diff of wanted servers against HAProxy's."""

from __future__ import annotations

from dockyard.lb.model import HealthCheck, Target, TargetGroup
from dockyard.lb.runtime import ServerState
from dockyard.lb.servers import plan, wanted_servers

POOL = " pool-max-conn -1 pool-purge-delay 5s"  # every server keeps idle connections
GROUP = TargetGroup(
    "arn:tg", "web", "a", "r", health=HealthCheck(interval=5, healthy=3, unhealthy=2), slow_start=30
)


def group(*found: Target) -> TargetGroup:
    return TargetGroup(GROUP.arn, GROUP.name, "a", "r", health=GROUP.health, slow_start=30, targets=found)


def running(name: str, admin: int = 0) -> ServerState:
    address = name.split(":")[-2]
    return ServerState(GROUP.backend, name, address, 80, 2, admin)


def test_a_new_target_is_added_down_at_weight_zero_with_its_fail_open_twin() -> None:
    g = group(Target("i-1", 80, "10.0.0.5"))
    steps = plan(wanted_servers({g.backend: g}), [], backends=[g.backend])
    be = g.backend
    assert [(s.server, s.action) for s in steps] == [("10.0.0.5:80", "add"), ("fail-open:10.0.0.5:80", "add")]
    assert steps[0].line == (
        f"add server {be}/10.0.0.5:80 10.0.0.5:80 check inter 5s rise 3 fall 2 "
        f"weight 100{POOL} slowstart 30s; "
        f"set server {be}/10.0.0.5:80 weight 0; set server {be}/10.0.0.5:80 state ready; "
        f"set server {be}/10.0.0.5:80 health down; enable health {be}/10.0.0.5:80; "
        f"set server {be}/10.0.0.5:80 weight 100"
    )
    assert steps[1].line == (
        f"add server {be}/fail-open:10.0.0.5:80 10.0.0.5:80 backup weight 100{POOL}; "
        f"set server {be}/fail-open:10.0.0.5:80 state ready"
    )


def test_a_target_healthy_before_a_restart_comes_back_up() -> None:
    g = group(Target("i-1", 80, "10.0.0.5"))
    steps = plan(
        wanted_servers({g.backend: g}), [], backends=[g.backend], healthy=frozenset({(g.backend, "i-1:80")})
    )
    assert "health up" in steps[0].line


def test_drain_admit_and_remove() -> None:
    g = group(Target("a", 80, "10.0.0.5", draining=True), Target("b", 80, "10.0.0.6"))
    current = [
        running("10.0.0.5:80"),
        running("fail-open:10.0.0.5:80"),
        running("10.0.0.6:80", admin=1),
        running("fail-open:10.0.0.6:80", admin=1),
        running("10.0.0.7:80"),
        running("fail-open:10.0.0.7:80"),
        ServerState("relay.x", "lb", "-", 0, 2, 0),  # not a target backend: left alone
    ]
    be = g.backend
    steps = plan(wanted_servers({be: g}), current, backends=[be])
    assert [(s.server, s.action, s.line) for s in steps] == [
        ("10.0.0.5:80", "drain", f"set server {be}/10.0.0.5:80 state maint"),
        (
            "10.0.0.6:80",
            "admit",
            f"set server {be}/10.0.0.6:80 weight 0; set server {be}/10.0.0.6:80 state ready; "
            f"set server {be}/10.0.0.6:80 health down; enable health {be}/10.0.0.6:80; "
            f"set server {be}/10.0.0.6:80 weight 100",
        ),
        ("fail-open:10.0.0.5:80", "drain", f"set server {be}/fail-open:10.0.0.5:80 state maint"),
        ("fail-open:10.0.0.6:80", "admit", f"set server {be}/fail-open:10.0.0.6:80 state ready"),
        (
            "10.0.0.7:80",
            "remove",
            f"set server {be}/10.0.0.7:80 state maint; shutdown sessions server {be}/10.0.0.7:80; "
            f"del server {be}/10.0.0.7:80",
        ),
        (
            "fail-open:10.0.0.7:80",
            "remove",
            f"set server {be}/fail-open:10.0.0.7:80 state maint; "
            f"shutdown sessions server {be}/fail-open:10.0.0.7:80; del server {be}/fail-open:10.0.0.7:80",
        ),
    ]
    assert plan(wanted_servers({be: g}), current[:4], backends=[be])[0].action == "drain"  # idempotent diff


def test_a_draining_target_added_after_a_restart_stays_in_maintenance() -> None:
    g = group(Target("a", 80, "10.0.0.5", draining=True))
    steps = plan(wanted_servers({g.backend: g}), [], backends=[g.backend])
    assert all(s.line.startswith("add server") and ";" not in s.line for s in steps)
