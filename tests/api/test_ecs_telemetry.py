"""Agents' container statistics become ECS's CloudWatch metrics (AWS/ECS), readable with CloudWatch."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dockyard.testing.server import ThreadedServer
from tests.api.instance_helpers import identity, register
from tests.api.service_helpers import eventually, running_report, settle, tasks_of
from tests.api.task_helpers import bridge_td, fargate_td, http, network, report
from tests.conftest import make_client


@pytest.fixture
def cloudwatch(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "cloudwatch")


def telemetry(server: ThreadedServer, node: str, *samples: dict[str, Any]) -> dict[str, Any]:
    status, body = http(
        server.endpoint, "POST", "/_dockyard/agent/v1/telemetry", {"node": node, "samples": list(samples)}
    )
    assert status == 200, body
    result: dict[str, Any] = body
    return result


def statistics(cloudwatch: Any, name: str, dimensions: dict[str, str]) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/ECS",
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - dt.timedelta(minutes=5),
        EndTime=now + dt.timedelta(minutes=1),
        Period=300,
        Statistics=["Average", "SampleCount", "Maximum"],
    )["Datapoints"]
    assert len(points) == 1, points
    point: dict[str, Any] = points[0]
    return point


def test_service_utilization_from_agent_samples(ecs: Any, server: ThreadedServer, cloudwatch: Any) -> None:
    ecs.create_cluster()
    fargate_td(ecs)  # cpu 256, memory 512
    ecs.create_service(
        serviceName="web", taskDefinition="web", desiredCount=2, launchType="FARGATE",
        networkConfiguration=network(),
    )  # fmt: skip
    eventually(lambda: len(tasks_of(ecs, "web")) == 2, message="two tasks")
    settle(server, ecs, "web")
    tasks = tasks_of(ecs, "web")
    assert all(t["lastStatus"] == "RUNNING" for t in tasks)
    answer = telemetry(
        server,
        "fargate",
        {"taskArn": tasks[0]["taskArn"], "cpu": 128.0, "memory": 128.0},  # 50 % and 25 %
        {"taskArn": tasks[1]["taskArn"], "cpu": 64.0, "memory": 256.0},  # 25 % and 50 %
        {"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef0", "cpu": 1},
    )
    assert answer == {"accepted": 2}
    cpu = statistics(cloudwatch, "CPUUtilization", {"ClusterName": "default", "ServiceName": "web"})
    assert (cpu["SampleCount"], cpu["Average"], cpu["Maximum"]) == (2.0, 37.5, 50.0)
    assert cpu["Unit"] == "Percent"
    memory = statistics(cloudwatch, "MemoryUtilization", {"ClusterName": "default", "ServiceName": "web"})
    assert (memory["SampleCount"], memory["Average"]) == (2.0, 37.5)
    cluster = statistics(cloudwatch, "CPUUtilization", {"ClusterName": "default"})
    assert cluster["SampleCount"] == 2.0
    names = {
        (m["MetricName"], tuple(sorted(d["Name"] for d in m["Dimensions"])))
        for m in cloudwatch.list_metrics(Namespace="AWS/ECS")["Metrics"]
    }
    assert ("CPUUtilization", ("ClusterName", "ServiceName")) in names


def test_cluster_reservation_and_only_the_running_agent_counts(
    ecs: Any, server: ThreadedServer, cloudwatch: Any
) -> None:
    ecs.create_cluster()
    instance = register(ecs, instanceIdentityDocument=identity())["containerInstanceArn"]
    bridge_td(ecs, memory=256, cpu=512)
    task = ecs.run_task(taskDefinition="api")["tasks"][0]
    report(server.endpoint, running_report(task))
    other = register(ecs, instanceIdentityDocument=identity("i-0fedcba9876543210"))["containerInstanceArn"]
    assert telemetry(server, other, {"taskArn": task["taskArn"], "cpu": 256.0, "memory": 64.0}) == {
        "accepted": 0
    }
    assert telemetry(server, instance, {"taskArn": task["taskArn"], "cpu": 256.0, "memory": 64.0}) == {
        "accepted": 1
    }
    cpu = statistics(cloudwatch, "CPUUtilization", {"ClusterName": "default"})
    assert cpu["Average"] == 50.0
    registered = {
        r["name"]: r["integerValue"]
        for r in ecs.describe_container_instances(containerInstances=[instance])["containerInstances"][0][
            "registeredResources"
        ]
        if r["name"] in ("CPU", "MEMORY")
    }
    reservation = statistics(cloudwatch, "CPUReservation", {"ClusterName": "default"})
    assert reservation["Average"] == pytest.approx(100.0 * 512 / (2 * registered["CPU"]))
    memory = statistics(cloudwatch, "MemoryReservation", {"ClusterName": "default"})
    assert memory["Average"] == pytest.approx(100.0 * 256 / (2 * registered["MEMORY"]))


def test_bad_telemetry_is_refused(server: ThreadedServer) -> None:
    status, body = http(server.endpoint, "POST", "/_dockyard/agent/v1/telemetry", {"samples": "x"})
    assert status == 400 and "expected" in body["message"]
