"""ALB target health from what HAProxy's checks observed (pure).

| HAProxy (`show stat`)                    | ALB State / Reason                                      |
|------------------------------------------|---------------------------------------------------------|
| target deregistered                      | draining / Target.DeregistrationInProgress              |
| group's checks disabled                  | unavailable / Target.HealthCheckDisabled                |
| no server yet                            | initial / Elb.RegistrationInProgress                    |
| UP (also "UP 1/2": failing, not yet out) | healthy                                                 |
| DOWN, never up, no check ran yet         | initial / Elb.RegistrationInProgress                    |
| DOWN, never up, a check passed           | healthy at once (a new target needs one passing check): |
|                                          | the caller forces the server up                         |
| DOWN, never up, failing < threshold time | initial / Elb.InitialHealthChecking                     |
| DOWN otherwise                           | unhealthy, reason from the last failed check:           |
|   L7STS (status not in the matcher)      |   Target.ResponseCodeMismatch "...codes: [503]"         |
|   L4TOUT / L7TOUT                        |   Target.Timeout                                        |
|   L4CON, L7RSP, SOCKERR, ...             |   Target.FailedHealthChecks                             |

After it was healthy once, a target needs `HealthyThresholdCount` passing checks to come back
(HAProxy's `rise`) and goes out after `UnhealthyThresholdCount` failures (`fall`). A new target
that never passes becomes unhealthy once `UnhealthyThresholdCount` intervals of failing checks
have passed since it was first seen. Fail-open does not change what is reported (AWS reports
those targets unhealthy while it routes to them).
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.lb.model import HealthCheck, Target
from dockyard.lb.runtime import ServerStat

__all__ = ["TargetHealth", "Assessment", "assess", "HEALTHY", "DRAINING", "INITIAL"]

_PASSED = {"L4OK", "L6OK", "L7OK", "L7OKC"}
_NOT_CHECKED = {"", "INI", "UNK"}
_TIMEOUTS = {"L4TOUT", "L6TOUT", "L7TOUT"}


@dataclass(frozen=True, slots=True)
class TargetHealth:
    state: str
    reason: str | None = None
    description: str | None = None

    def document(self) -> dict[str, str]:
        doc = {"State": self.state}
        if self.reason:
            doc["Reason"] = self.reason
        if self.description:
            doc["Description"] = self.description
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, str] | None) -> TargetHealth | None:
        if not doc or "State" not in doc:
            return None
        return cls(doc["State"], doc.get("Reason"), doc.get("Description"))


HEALTHY = TargetHealth("healthy")
DRAINING = TargetHealth("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")
INITIAL = TargetHealth("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
_CHECKING = TargetHealth("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
_DISABLED = TargetHealth("unavailable", "Target.HealthCheckDisabled", "Health checks are disabled")
_FAILED = TargetHealth("unhealthy", "Target.FailedHealthChecks", "Health checks failed")


@dataclass(frozen=True, slots=True)
class Assessment:
    health: TargetHealth
    force_up: bool = False  # a new target passed its first check: put its server in service


def _failure(stat: ServerStat) -> TargetHealth:
    if stat.check_status == "L7STS":
        code = stat.check_code or "000"
        return TargetHealth(
            "unhealthy", "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{code}]"
        )
    if stat.check_status in _TIMEOUTS:
        return TargetHealth("unhealthy", "Target.Timeout", "Request timed out")
    return _FAILED


def assess(
    check: HealthCheck,
    target: Target,
    stat: ServerStat | None,
    *,
    previous: TargetHealth | None,
    first_seen: float,
    now: float,
) -> Assessment:
    """The health to report for `target`, given its server's stat and what was reported before."""
    if target.draining:
        return Assessment(DRAINING)
    if not check.enabled:
        return Assessment(_DISABLED)
    if stat is None:
        return Assessment(INITIAL)
    if stat.up:
        return Assessment(HEALTHY)
    if not stat.down:  # MAINT or DRAIN while registered: being (re)configured
        return Assessment(previous or INITIAL)
    new = previous is None or previous.state == "initial"
    if new:
        if stat.check_status in _PASSED or stat.check_health > 0:
            return Assessment(HEALTHY, force_up=True)
        if stat.check_status in _NOT_CHECKED:
            return Assessment(INITIAL)
        if now - first_seen < check.unhealthy * check.interval:
            return Assessment(_CHECKING)
        return Assessment(_failure(stat))
    if stat.check_status in _PASSED or stat.check_status in _NOT_CHECKED:
        # coming back: still unhealthy until `rise` checks pass; keep why it went down
        return Assessment(previous if previous is not None and previous.state == "unhealthy" else _FAILED)
    return Assessment(_failure(stat))
