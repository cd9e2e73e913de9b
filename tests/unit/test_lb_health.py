"""ALB target health from HAProxy's check results: states, reason codes and descriptions."""

from __future__ import annotations

import pytest

from dockyard.lb.health import DRAINING, HEALTHY, INITIAL, TargetHealth, assess
from dockyard.lb.model import HealthCheck, Target
from dockyard.lb.runtime import ServerStat

CHECK = HealthCheck(interval=10, unhealthy=3)
TARGET = Target("10.0.0.5", 80, "10.0.0.5")
UNHEALTHY_503 = TargetHealth(
    "unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [503]"
)
TIMEOUT = TargetHealth("unhealthy", "Target.Timeout", "Request timed out")
FAILED = TargetHealth("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
CHECKING = TargetHealth("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")


def stat(status: str, check: str = "", code: str = "", health: int = 0) -> ServerStat:
    return ServerStat("be", TARGET.server, status, check, code, health, 5, 0)


@pytest.mark.parametrize(
    "server,previous,elapsed,expected,force_up",
    [
        (None, None, 0, INITIAL, False),  # not added yet
        (stat("DOWN", "INI"), None, 1, INITIAL, False),  # added, no check ran yet
        (stat("DOWN 1/5", "L7OK", "200", 1), None, 5, HEALTHY, True),  # a new target needs one passing check
        (stat("DOWN", "L4CON"), None, 5, CHECKING, False),  # failing, but not for 3 intervals yet
        (stat("DOWN", "L4CON"), CHECKING, 31, FAILED, False),
        (stat("DOWN", "L7STS", "503"), None, 30, UNHEALTHY_503, False),
        (stat("DOWN", "L7TOUT"), None, 30, TIMEOUT, False),
        (stat("DOWN", "L4TOUT"), HEALTHY, 0, TIMEOUT, False),  # went down after `fall` failures
        (stat("UP 1/3", "L7STS", "500"), HEALTHY, 0, HEALTHY, False),  # failing, not out yet
        (stat("UP", "L7OK", "200"), UNHEALTHY_503, 0, HEALTHY, False),
        (stat("DOWN 2/5", "L7OK", "200", 2), UNHEALTHY_503, 0, UNHEALTHY_503, False),  # needs `rise` passes
        (stat("no check"), None, 0, HEALTHY, False),
    ],
)
def test_assess(
    server: ServerStat | None,
    previous: TargetHealth | None,
    elapsed: float,
    expected: TargetHealth,
    force_up: bool,
) -> None:
    result = assess(CHECK, TARGET, server, previous=previous, first_seen=100.0, now=100.0 + elapsed)
    assert (result.health, result.force_up) == (expected, force_up)


def test_draining_and_disabled_checks() -> None:
    draining = Target("10.0.0.5", 80, "10.0.0.5", draining=True)
    assert assess(CHECK, draining, stat("UP"), previous=HEALTHY, first_seen=0, now=0).health == DRAINING
    off = HealthCheck(enabled=False)
    assert assess(off, TARGET, stat("no check"), previous=None, first_seen=0, now=0).health.document() == {
        "State": "unavailable",
        "Reason": "Target.HealthCheckDisabled",
        "Description": "Health checks are disabled",
    }


def test_documents_round_trip() -> None:
    assert HEALTHY.document() == {"State": "healthy"}
    assert TargetHealth.from_document(UNHEALTHY_503.document()) == UNHEALTHY_503
    assert TargetHealth.from_document(None) is None
