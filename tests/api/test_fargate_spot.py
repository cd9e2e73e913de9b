"""Fargate Spot interruptions (reference §10.1, §3.2): the endpoint and the CLI that trigger them,
the warning (TerminationNotice, an ECS Task State Change event), SpotInterruption once stopped,
and the service's replacement. The agent's part is played by hand (see service_helpers)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.cli.main import main as dockyard
from dockyard.testing.server import ThreadedServer
from tests.api.service_helpers import eventually, recorded_events, running_report, stopped_report, tasks_of
from tests.api.task_helpers import fargate_td, http, network, report

PATH = "/_dockyard/fargate-spot/interrupt"


def spot_service(ecs: Any, server: ThreadedServer, count: int = 2) -> list[dict[str, Any]]:
    ecs.create_cluster(clusterName="spot", capacityProviders=["FARGATE", "FARGATE_SPOT"])
    fargate_td(ecs)
    ecs.create_service(
        cluster="spot",
        serviceName="web",
        taskDefinition="web",
        desiredCount=count,
        networkConfiguration=network(),
        capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
    )
    started = eventually(lambda: (lambda t: t if len(t) == count else None)(tasks_of(ecs, "web", "spot")))
    report(server.endpoint, *(running_report(t) for t in started))
    return list(started)


def test_an_interruption_warns_stops_and_is_replaced(ecs: Any, server: ThreadedServer) -> None:
    tasks = spot_service(ecs, server)
    assert {t["capacityProviderName"] for t in tasks} == {"FARGATE_SPOT"}
    status, body = http(server.endpoint, "POST", PATH, {"taskArn": tasks[0]["taskArn"]})
    assert status == 200
    assert body["tasks"] == [
        {
            "taskArn": tasks[0]["taskArn"],
            "clusterArn": tasks[0]["clusterArn"],
            "lastStatus": "RUNNING",
            "desiredStatus": "STOPPED",
            "stopCode": "TerminationNotice",
            "stoppedReason": "Your Spot Task was interrupted.",
        }
    ]
    warned = ecs.describe_tasks(cluster="spot", tasks=[tasks[0]["taskArn"]])["tasks"][0]
    assert (warned["lastStatus"], warned["desiredStatus"], warned["stopCode"]) == (
        "RUNNING",
        "STOPPED",
        "TerminationNotice",
    )
    notice = [
        e["detail"]
        for e in recorded_events(server, "ECS Task State Change")
        if e["detail"]["taskArn"] == tasks[0]["taskArn"]
        and e["detail"].get("stopCode") == "TerminationNotice"
    ]
    assert notice and notice[0]["desiredStatus"] == "STOPPED" and notice[0]["lastStatus"] == "RUNNING"
    assert notice[0]["stoppedReason"] == "Your Spot Task was interrupted."
    # The agent stops the containers (SIGTERM, then SIGKILL after stopTimeout) and reports it.
    report(server.endpoint, stopped_report(warned))
    stopped = ecs.describe_tasks(cluster="spot", tasks=[tasks[0]["taskArn"]])["tasks"][0]
    assert (stopped["lastStatus"], stopped["stopCode"]) == ("STOPPED", "SpotInterruption")
    assert stopped["stoppedReason"] == "Your Spot Task was interrupted."
    eventually(
        lambda: any(
            e["detail"]["taskArn"] == tasks[0]["taskArn"]
            and e["detail"]["lastStatus"] == "STOPPED"
            and e["detail"].get("stopCode") == "SpotInterruption"
            for e in recorded_events(server, "ECS Task State Change")
        ),
        message="the STOPPED event with stopCode SpotInterruption",
    )
    replacement = eventually(
        lambda: [
            t
            for t in tasks_of(ecs, "web", "spot")
            if t["taskArn"] not in {x["taskArn"] for x in tasks} and t["desiredStatus"] == "RUNNING"
        ]
    )
    assert replacement[0]["capacityProviderName"] == "FARGATE_SPOT"


def test_interrupting_by_cluster_and_count(ecs: Any, server: ThreadedServer) -> None:
    tasks = spot_service(ecs, server, count=3)
    status, body = http(server.endpoint, "POST", PATH, {"cluster": "spot", "count": 2})
    assert status == 200 and len(body["tasks"]) == 2
    assert {t["stopCode"] for t in body["tasks"]} == {"TerminationNotice"}
    first = {t["taskArn"] for t in body["tasks"]}
    left = [t["taskArn"] for t in tasks if t["taskArn"] not in first]
    status, body = http(server.endpoint, "POST", PATH, {"cluster": "spot", "count": 5})
    assert status == 200
    # The RUNNING task first; then the replacements the service started meanwhile (still pending).
    assert body["tasks"][0]["taskArn"] == left[0]
    assert all(t["taskArn"] not in first for t in body["tasks"])


def test_refusals(ecs: Any, server: ThreadedServer) -> None:
    tasks = spot_service(ecs, server, count=1)
    ecs.register_task_definition(
        family="other",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "dockyard/hello:latest"}],
    )
    regular = ecs.run_task(
        cluster="spot", taskDefinition="other", launchType="FARGATE", networkConfiguration=network()
    )["tasks"][0]
    status, body = http(server.endpoint, "POST", PATH, {"taskArn": regular["taskArn"]})
    assert status == 400 and "does not run on the FARGATE_SPOT capacity provider" in body["message"]
    missing = tasks[0]["taskArn"][:-4] + "0000"
    assert http(server.endpoint, "POST", PATH, {"taskArn": missing})[0] == 404
    assert http(server.endpoint, "POST", PATH, {"taskArn": "nope"})[0] == 400
    assert http(server.endpoint, "POST", PATH, {})[0] == 400
    assert http(server.endpoint, "POST", PATH, {"cluster": "spot", "count": 0})[0] == 400
    assert http(server.endpoint, "POST", PATH, {"taskArn": tasks[0]["taskArn"]})[0] == 200
    status, body = http(server.endpoint, "POST", PATH, {"taskArn": tasks[0]["taskArn"]})
    assert status == 409 and "already stopping" in body["message"]


def test_the_cli(ecs: Any, server: ThreadedServer, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = spot_service(ecs, server, count=1)
    assert dockyard(["fargate-spot", "interrupt", "--cluster", "spot", "--endpoint", server.endpoint]) == 0
    out = capsys.readouterr().out
    assert out == f"{tasks[0]['taskArn']}\tTerminationNotice\tYour Spot Task was interrupted.\n"
    assert (
        dockyard(["fargate-spot", "interrupt", "--task", tasks[0]["taskArn"], "--endpoint", server.endpoint])
        == 1
    )
    assert "already stopping" in capsys.readouterr().err
    assert dockyard(["fargate-spot", "interrupt", "--cluster", "nope", "--endpoint", server.endpoint]) == 0
    assert capsys.readouterr().out == "no Fargate Spot task to interrupt\n"
