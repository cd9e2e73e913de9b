"""Helpers for service API tests: a server on a fake clock, and an agent's part played by hand.

The service scheduler runs in the server's thread; tests wait for what it does with `eventually`
and play the agents with `settle` (tasks desired STOPPED are reported STOPPED, pending ones
RUNNING) or `report` for anything finer. Time moves only with `server.advance(...)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from dockyard.store import Key
from dockyard.testing.server import ThreadedServer
from tests.api.task_helpers import report
from tests.waiting import until

ACCOUNT = "123456789012"
REGION = "us-east-1"
T = TypeVar("T")


def eventually(check: Callable[[], Any], *, timeout: float = 5.0, message: str = "") -> Any:
    """Wait until `check()` returns something truthy (the scheduler runs asynchronously)."""
    return until(check, timeout=timeout, what=message or str(check), interval=0.02)


def quiet(check: Callable[[], T], *, settle: float = 0.3) -> T:
    """The value of `check()` once it has stayed the same for `settle` seconds."""
    value = check()
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        time.sleep(0.03)
        now = check()
        if now != value:
            value = now
            deadline = time.monotonic() + settle
    return value


def tasks_of(ecs: Any, service: str, cluster: str = "default") -> list[dict[str, Any]]:
    """Every task of the service that DescribeTasks still shows (STOPPED ones too)."""
    arns = ecs.list_tasks(cluster=cluster, serviceName=service)["taskArns"]
    arns += ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="STOPPED")["taskArns"]
    found: list[dict[str, Any]] = []
    for start in range(0, len(arns), 100):
        found += ecs.describe_tasks(cluster=cluster, tasks=arns[start : start + 100])["tasks"]
    return found


def live(ecs: Any, service: str) -> list[dict[str, Any]]:
    return [t for t in tasks_of(ecs, service) if t["lastStatus"] != "STOPPED"]


def snapshot(ecs: Any, service: str) -> dict[str, tuple[str, str, str]]:
    """task id -> (deployment, desiredStatus, lastStatus)."""
    return {
        t["taskArn"].rsplit("/", 1)[1]: (t.get("startedBy", ""), t["desiredStatus"], t["lastStatus"])
        for t in tasks_of(ecs, service)
    }


def running_report(task: dict[str, Any], health: str | None = None) -> dict[str, Any]:
    containers = [{"name": c["name"], "lastStatus": "RUNNING"} for c in task["containers"]]
    if health is not None:
        for container in containers:
            container["healthStatus"] = health
    return {"taskArn": task["taskArn"], "lastStatus": "RUNNING", "containers": containers}


def stopped_report(task: dict[str, Any], **extra: Any) -> dict[str, Any]:
    containers = [{"name": c["name"], "lastStatus": "STOPPED", "exitCode": 0} for c in task["containers"]]
    return {"taskArn": task["taskArn"], "lastStatus": "STOPPED", "containers": containers, **extra}


def settle(server: ThreadedServer, ecs: Any, service: str, *, health: str | None = None) -> int:
    """Play the agents once: stop what should stop, run what is pending. Returns reports sent."""
    reports = []
    for task in tasks_of(ecs, service):
        if task["lastStatus"] == "STOPPED":
            continue
        if task["desiredStatus"] == "STOPPED":
            reports.append(stopped_report(task))
        elif task["lastStatus"] != "RUNNING":
            reports.append(running_report(task, health))
    if reports:
        report(server.endpoint, *reports)
    return len(reports)


def describe(ecs: Any, service: str, **kwargs: Any) -> dict[str, Any]:
    found: dict[str, Any] = ecs.describe_services(services=[service], **kwargs)["services"][0]
    return found


def messages(ecs: Any, service: str) -> list[str]:
    return [e["message"] for e in describe(ecs, service)["events"]]


def recorded_events(server: ThreadedServer, detail_type: str | None = None) -> list[dict[str, Any]]:
    """The EventBridge events recorded in the store (oldest first)."""
    docs = server.run(server.server.store.list("events:ecs", account_id=ACCOUNT, region=REGION))
    events = [
        d.value["event"] for d in sorted(docs, key=lambda d: (d.value["createdAt"], d.revision, d.key.name))
    ]
    return [e for e in events if detail_type is None or e["detail-type"] == detail_type]


def stored(server: ThreadedServer, kind: str, name: str) -> dict[str, Any] | None:
    found = server.run(server.server.store.get(Key(ACCOUNT, REGION, kind, name)))
    return None if found is None else dict(found.value)
