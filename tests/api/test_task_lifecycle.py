"""StopTask, DescribeTasks, ListTasks and the agent's reports, as a user and as an agent see them."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.api.instance_helpers import identity, register
from tests.api.task_helpers import bridge_td, fargate_td, http, network, poll, report


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def run_fargate(ecs: Any, **kwargs: Any) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = ecs.run_task(
        taskDefinition="web", launchType="FARGATE", networkConfiguration=network(), **kwargs
    )["tasks"]
    return tasks[0]


def describe(ecs: Any, arn: str, **kwargs: Any) -> dict[str, Any]:
    task: dict[str, Any] = ecs.describe_tasks(tasks=[arn], **kwargs)["tasks"][0]
    return task


def test_stop_task(ecs: Any) -> None:
    ecs.create_cluster()
    fargate_td(ecs)
    arn = run_fargate(ecs, tags=[{"key": "a", "value": "b"}])["taskArn"]
    stopped = ecs.stop_task(task=arn.rsplit("/", 1)[1], reason="maintenance")["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    assert stopped["stopCode"] == "UserInitiated"
    assert stopped["stoppedReason"] == "maintenance"
    assert ecs.list_tasks()["taskArns"] == []
    assert ecs.list_tasks(desiredStatus="STOPPED")["taskArns"] == [arn]
    assert describe(ecs, arn, include=["TAGS"]).get("tags", []) == []
    again = ecs.stop_task(task=arn, reason="other")["task"]
    assert again["stoppedReason"] == "maintenance"
    default = ecs.stop_task(task=run_fargate(ecs)["taskArn"])["task"]
    assert default["stoppedReason"] == "Task stopped by user"


def test_stop_task_errors(ecs: Any) -> None:
    ecs.create_cluster()
    with pytest.raises(ClientError) as caught:
        ecs.stop_task(task="0" * 32)
    assert error(caught) == ("InvalidParameterException", "The referenced task was not found.")
    with pytest.raises(ClientError) as caught:
        ecs.stop_task(cluster="nope", task="0" * 32)
    assert error(caught)[0] == "ClusterNotFoundException"


def test_describe_tasks(ecs: Any) -> None:
    ecs.create_cluster()
    fargate_td(ecs)
    arn = run_fargate(ecs, tags=[{"key": "k", "value": "v"}])["taskArn"]
    missing = arn[:-1] + ("0" if arn[-1] != "0" else "1")
    response = ecs.describe_tasks(tasks=[arn, missing])
    assert [t["taskArn"] for t in response["tasks"]] == [arn]
    assert "tags" not in response["tasks"][0]
    assert response["failures"] == [{"arn": missing, "reason": "MISSING"}]
    assert describe(ecs, arn, include=["TAGS"])["tags"] == [{"key": "k", "value": "v"}]
    with pytest.raises(ClientError) as caught:
        ecs.describe_tasks(tasks=[])
    assert error(caught) == ("InvalidParameterException", "Tasks cannot be empty.")
    with pytest.raises(ClientError) as caught:
        ecs.describe_tasks(tasks=["x"] * 101)
    assert error(caught) == ("InvalidParameterException", "taskIds can have at most 100 items.")


def test_list_tasks_filters_and_pages(ecs: Any) -> None:
    ecs.create_cluster()
    fargate_td(ecs)
    fargate_td(ecs, family="other")
    web = [run_fargate(ecs, startedBy="ci")["taskArn"] for _ in range(3)]
    other = ecs.run_task(taskDefinition="other", launchType="FARGATE", networkConfiguration=network())[
        "tasks"
    ][0]
    assert sorted(ecs.list_tasks()["taskArns"]) == sorted([*web, other["taskArn"]])
    assert sorted(ecs.list_tasks(family="web")["taskArns"]) == sorted(web)
    assert sorted(ecs.list_tasks(startedBy="ci")["taskArns"]) == sorted(web)
    assert ecs.list_tasks(launchType="EC2")["taskArns"] == []
    assert ecs.list_tasks(desiredStatus="PENDING")["taskArns"] == []
    page = ecs.list_tasks(maxResults=2)
    assert len(page["taskArns"]) == 2
    rest = ecs.list_tasks(maxResults=2, nextToken=page["nextToken"])
    assert "nextToken" not in rest
    assert sorted(page["taskArns"] + rest["taskArns"]) == sorted([*web, other["taskArn"]])
    paginated = [
        a
        for p in ecs.get_paginator("list_tasks").paginate(PaginationConfig={"PageSize": 1})
        for a in p["taskArns"]
    ]
    assert len(paginated) == 4
    with pytest.raises(ClientError) as caught:
        ecs.list_tasks(startedBy="ci", family="web")
    assert error(caught)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        ecs.list_tasks(serviceName="svc")
    assert error(caught) == ("ServiceNotFoundException", "Service not found.")
    with pytest.raises(ClientError) as caught:
        ecs.list_tasks(cluster="nope")
    assert error(caught)[0] == "ClusterNotFoundException"
    with pytest.raises(ClientError) as caught:
        ecs.list_tasks(nextToken="garbage!")
    assert error(caught)[0] == "InvalidParameterException"


def test_agent_lifecycle_through_the_channel(ecs: Any, server: ThreadedServer) -> None:
    ecs.create_cluster()
    instance = register(ecs, instanceIdentityDocument=identity())["containerInstanceArn"]
    bridge_td(ecs, memory=256, cpu=256)
    arn = ecs.run_task(taskDefinition="api")["tasks"][0]["taskArn"]
    items = poll(server.endpoint, instance)
    (item,) = items["tasks"]
    assert item["taskArn"] == arn
    assert item["desiredStatus"] == "RUNNING"
    assert item["taskDefinition"]["family"] == "api"
    assert item["containers"][0]["name"] == "app"

    report(
        server.endpoint,
        {
            "taskArn": arn,
            "lastStatus": "PENDING",
            "pullStartedAt": 1700000000.0,
            "containers": [{"name": "app", "lastStatus": "PENDING"}],
        },
    )
    assert describe(ecs, arn)["lastStatus"] == "PENDING"
    bindings = [{"bindIP": "127.0.0.2", "containerPort": 80, "hostPort": 32768, "protocol": "tcp"}]
    report(
        server.endpoint,
        {
            "taskArn": arn,
            "lastStatus": "RUNNING",
            "pullStartedAt": 1700000000.0,
            "pullStoppedAt": 1700000001.0,
            "containers": [
                {
                    "name": "app",
                    "lastStatus": "RUNNING",
                    "runtimeId": "abc",
                    "networkBindings": bindings,
                    "healthStatus": "UNKNOWN",
                }
            ],
        },
    )
    task = describe(ecs, arn)
    assert task["lastStatus"] == "RUNNING" and "startedAt" in task
    assert task["containers"][0]["runtimeId"] == "abc"
    assert task["containers"][0]["networkBindings"] == bindings
    assert task["version"] >= 3
    # a late report cannot move the task backwards
    report(server.endpoint, {"taskArn": arn, "lastStatus": "PENDING", "containers": []})
    assert describe(ecs, arn)["lastStatus"] == "RUNNING"

    ecs.stop_task(task=arn)
    (item,) = poll(server.endpoint, instance)["tasks"]
    assert item["desiredStatus"] == "STOPPED"
    report(
        server.endpoint,
        {
            "taskArn": arn,
            "lastStatus": "STOPPED",
            "executionStoppedAt": 1700000100.0,
            "containers": [{"name": "app", "lastStatus": "STOPPED", "exitCode": 143}],
        },
    )
    task = describe(ecs, arn)
    assert task["lastStatus"] == "STOPPED"
    assert task["stopCode"] == "UserInitiated"
    assert task["containers"][0]["exitCode"] == 143
    assert {"stoppingAt", "stoppedAt", "executionStoppedAt"} <= task.keys()
    assert poll(server.endpoint, instance)["tasks"] == []
    resources = ecs.describe_container_instances(containerInstances=[instance])["containerInstances"][0]
    cpu = next(r for r in resources["remainingResources"] if r["name"] == "CPU")
    assert cpu["integerValue"] == 2048


def test_essential_exit_reported_by_the_agent_stops_the_task(ecs: Any, server: ThreadedServer) -> None:
    ecs.create_cluster()
    fargate_td(ecs)
    arn = run_fargate(ecs)["taskArn"]
    report(
        server.endpoint,
        {
            "taskArn": arn,
            "lastStatus": "RUNNING",
            "containers": [
                {"name": "app", "lastStatus": "RUNNING"},
                {"name": "sidecar", "lastStatus": "RUNNING"},
            ],
        },
    )
    report(
        server.endpoint,
        {
            "taskArn": arn,
            "lastStatus": "STOPPED",
            "stopCode": "EssentialContainerExited",
            "stoppedReason": "Essential container in task exited",
            "containers": [{"name": "app", "lastStatus": "STOPPED", "exitCode": 1}],
        },
    )
    task = describe(ecs, arn)
    assert task["desiredStatus"] == "STOPPED"
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["attachments"][0]["status"] == "DELETED"


def test_task_health_comes_from_essential_containers_with_checks(ecs: Any, server: ThreadedServer) -> None:
    ecs.create_cluster()
    ecs.register_task_definition(
        family="hc",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": "app", "image": "x", "healthCheck": {"command": ["CMD-SHELL", "true"]}},
            {"name": "side", "image": "x", "essential": False, "healthCheck": {"command": ["CMD", "true"]}},
        ],
    )
    arn = ecs.run_task(taskDefinition="hc", launchType="FARGATE", networkConfiguration=network())["tasks"][0][
        "taskArn"
    ]
    assert describe(ecs, arn)["healthStatus"] == "UNKNOWN"
    report(
        server.endpoint,
        {
            "taskArn": arn,
            "lastStatus": "RUNNING",
            "containers": [
                {"name": "app", "lastStatus": "RUNNING", "healthStatus": "HEALTHY"},
                {"name": "side", "lastStatus": "RUNNING", "healthStatus": "UNHEALTHY"},
            ],
        },
    )
    assert describe(ecs, arn)["healthStatus"] == "HEALTHY"
    report(server.endpoint, {"taskArn": arn, "containers": [{"name": "app", "healthStatus": "UNHEALTHY"}]})
    assert describe(ecs, arn)["healthStatus"] == "UNHEALTHY"


def test_submit_state_change_operations(ecs: Any) -> None:
    ecs.create_cluster()
    fargate_td(ecs)
    arn = run_fargate(ecs)["taskArn"]
    assert (
        ecs.submit_container_state_change(task=arn, containerName="app", status="RUNNING", runtimeId="r1")[
            "acknowledgment"
        ]
        == "ACK"
    )
    assert (
        ecs.submit_task_state_change(
            task=arn, status="RUNNING", pullStartedAt=1700000000, pullStoppedAt=1700000001
        )["acknowledgment"]
        == "ACK"
    )
    task = describe(ecs, arn)
    assert task["lastStatus"] == "RUNNING"
    assert task["containers"][0]["runtimeId"] == "r1"
    ecs.submit_task_state_change(
        task=arn,
        status="STOPPED",
        reason="done",
        containers=[{"containerName": "app", "status": "STOPPED", "exitCode": 0}],
    )
    task = describe(ecs, arn)
    assert task["lastStatus"] == "STOPPED" and task["stoppedReason"] == "done"
    assert task["containers"][0]["exitCode"] == 0
    with pytest.raises(ClientError) as caught:
        ecs.submit_task_state_change(task="0" * 32, status="RUNNING")
    assert error(caught)[0] == "InvalidParameterException"


def test_discover_poll_endpoint(ecs: Any, server: ThreadedServer) -> None:
    ecs.create_cluster()
    response = ecs.discover_poll_endpoint(cluster="default")
    assert response["endpoint"] == f"{server.endpoint}/_dockyard/agent"
    with pytest.raises(ClientError) as caught:
        ecs.discover_poll_endpoint(cluster="nope")
    assert error(caught)[0] == "ClusterNotFoundException"


def test_poll_for_an_unknown_instance_is_refused(server: ThreadedServer) -> None:
    status, _ = http(
        server.endpoint,
        "GET",
        "/_dockyard/agent/v1/nodes/arn%3Aaws%3Aecs%3Aus-east-1%3A123456789012%3Acontainer-instance"
        "%2Fdefault%2F" + "0" * 32 + "/tasks",
    )
    assert status == 404
    status, _ = http(server.endpoint, "POST", "/_dockyard/agent/v1/reports", {"nope": 1})
    assert status == 400


def test_long_poll_wakes_on_new_work(ecs: Any, server: ThreadedServer) -> None:
    import threading
    import time

    ecs.create_cluster()
    fargate_td(ecs)
    revision = poll(server.endpoint, "fargate")["revision"]
    result: dict[str, Any] = {}

    def waiter() -> None:
        started = time.monotonic()
        result["body"] = poll(server.endpoint, "fargate", revision=revision, wait=10)
        result["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.2)
    arn = run_fargate(ecs)["taskArn"]
    thread.join(timeout=10)
    assert [t["taskArn"] for t in result["body"]["tasks"]] == [arn]
    assert result["elapsed"] < 5


def test_poll_answers_carry_only_what_changed(ecs: Any, server: ThreadedServer) -> None:
    ecs.create_cluster()
    fargate_td(ecs)
    first = run_fargate(ecs)["taskArn"]
    full = poll(server.endpoint, "fargate")
    assert full["taskArns"] == [first] and [t["taskArn"] for t in full["tasks"]] == [first]
    second = run_fargate(ecs)["taskArn"]
    delta = poll(server.endpoint, "fargate", revision=full["revision"])
    assert sorted(delta["taskArns"]) == sorted([first, second])
    assert [t["taskArn"] for t in delta["tasks"]] == [second]
    ecs.stop_task(task=first)
    after_stop = poll(server.endpoint, "fargate", revision=delta["revision"])
    assert [(t["taskArn"], t["desiredStatus"]) for t in after_stop["tasks"]] == [(first, "STOPPED")]
