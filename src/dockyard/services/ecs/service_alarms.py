"""Deployment alarms (reference §4.5): CloudWatch alarms that fail a rolling deployment.

```
deploymentConfiguration.alarms = {alarmNames, enable, rollback}   (the alarms need not exist yet)
each pass while the primary deployment is IN_PROGRESS:
  read     DescribeAlarms (CloudWatch, in process) for the alarm names
  begin    the first look: an alarm already in ALARM => the alarms are ignored for this
           deployment (ServiceDeployment alarms DISABLED); otherwise they are MONITORING
  watch    an alarm in ALARM => FAILED, and with `rollback` the last COMPLETED deployment is
           PRIMARY again (as the circuit breaker does; either may trip first)
  bake     the rollout is done (new tasks healthy, old ones gone): the deployment stays
           IN_PROGRESS for the bake time, still watched, then COMPLETED (MONITORING_COMPLETE)
```

The bake time is `bakeTimeInMinutes` when the configuration gives it; otherwise ECS computes it
from the alarms, here the longest of their evaluation windows (Period x EvaluationPeriods): long
enough for each alarm to have judged datapoints from the new tasks only. A change of a watched
alarm wakes the service (the controller's triggers), so a failure is seen as the alarm fires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.service_documents import primary
from dockyard.services.ecs.service_pass import ALARMS_IGNORED, BAKE_UNTIL, ServicePass
from dockyard.store import Key

__all__ = ["ALARM_KIND", "Alarms", "bake", "read", "watched", "watch"]

ALARM_KIND = "cloudwatch:alarm"  # CloudWatch's alarm documents (named by the alarm name)
Alarms = Mapping[str, Mapping[str, Any]]  # alarm name -> DescribeAlarms' MetricAlarm


def watched(service: Mapping[str, Any]) -> list[str]:
    """The alarm names a service's rolling deployment watches now (none when it is not rolling
    out with deployment alarms enabled)."""
    config = (service.get("deploymentConfiguration") or {}).get("alarms") or {}
    if not config.get("enable") or service.get("status") != "ACTIVE":
        return []
    if primary(service).get("rolloutState") != "IN_PROGRESS":
        return []
    return [str(name) for name in config.get("alarmNames") or []]


async def read(ecs: Ecs, key: Key, names: list[str]) -> Alarms:
    """The named alarms of the service's account and Region, as CloudWatch describes them."""
    if not names or ecs.peers.cloudwatch is None:
        return {}
    out = {}
    for start in range(0, len(names), 100):  # DescribeAlarms takes 100 names at a time
        found = await ecs.peers.cloudwatch.call(
            "DescribeAlarms",
            {"AlarmNames": names[start : start + 100]},
            account_id=key.account_id,
            region=key.region,
        )
        out.update({str(a["AlarmName"]): a for a in found.get("MetricAlarms", [])})
    return out


def _firing(names: list[str], alarms: Alarms) -> list[str]:
    return [n for n in names if (alarms.get(n) or {}).get("StateValue") == "ALARM"]


async def watch(run: ServicePass, alarms: Alarms) -> bool:
    """Fail the primary deployment when one of its alarms is in ALARM; whether it did."""
    names = watched(run.doc)
    if not names:
        return False
    head = primary(run.doc)
    record = run.record(head["id"])
    firing = _firing(names, alarms)
    sd = await run.sd(record.get("serviceDeploymentArn"))
    if ALARMS_IGNORED not in record:  # the deployment's first look at its alarms
        record[ALARMS_IGNORED] = bool(firing)
        if sd is not None:
            sd["alarms"] = {"status": "DISABLED" if firing else "MONITORING", "alarmNames": names}
        return False
    if record[ALARMS_IGNORED] or not firing:
        return False
    if sd is not None:
        sd["alarms"] = {"status": "TRIGGERED", "alarmNames": names, "triggeredAlarmNames": firing}
    config = run.doc["deploymentConfiguration"]["alarms"]
    await run.fail(
        head,
        reason=f"ECS deployment alarms: alarm(s) in ALARM state: {', '.join(firing)}.",
        why="alarm detected",
        method="alarms",
        target=run.rollback_target(head) if config.get("rollback") else None,
    )
    return True


def bake_seconds(config: Mapping[str, Any], alarms: Alarms) -> float:
    minutes = config.get("bakeTimeInMinutes")
    if minutes is not None:
        return float(minutes) * 60.0
    windows = [
        float(a.get("Period") or 60) * float(a.get("EvaluationPeriods") or 1)
        for name in (config.get("alarms") or {}).get("alarmNames") or []
        if (a := alarms.get(name)) is not None
    ]
    return max(windows, default=0.0)


def bake(run: ServicePass, *, complete: bool, alarms: Alarms) -> float | None:
    """Seconds the finished rollout still bakes before it may complete; None: it may complete
    now (or is not done rolling out)."""
    names = watched(run.doc)
    if not names or not complete:
        return None
    record = run.record(primary(run.doc)["id"])
    if record.get(ALARMS_IGNORED, True):
        return None
    if BAKE_UNTIL not in record:
        record[BAKE_UNTIL] = run.now + bake_seconds(run.doc["deploymentConfiguration"], alarms)
    left = float(record[BAKE_UNTIL]) - run.now
    return left if left > 0 else None
