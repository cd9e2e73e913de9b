"""Container instances through boto3: registration as an agent does it, describe, list, drain, deregister."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.api.instance_helpers import (
    RESOURCES,
    identity,
    register,
    report_running,
    run_task,
    stored,
)

ARN_PREFIX = "arn:aws:ecs:us-east-1:123456789012:container-instance/"


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    body = caught.value.response["Error"]
    return body["Code"], body["Message"]


def key_name(arn: str) -> str:
    return "/".join(arn.split("/")[-2:])


# RegisterContainerInstance ---------------------------------------------------------------------


def test_register_into_missing_default_cluster_fails(ecs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        ecs.register_container_instance(totalResources=RESOURCES)
    assert error(caught) == ("ClusterNotFoundException", "Cluster not found.")


def test_register_container_instance(ecs: Any, server: ThreadedServer) -> None:
    ecs.create_cluster()
    before = time.time()
    instance = register(ecs, instanceIdentityDocument=identity(), tags=[{"key": "role", "value": "web"}])
    assert re.fullmatch(ARN_PREFIX + "default/[0-9a-f]{32}", instance["containerInstanceArn"])
    assert instance["ec2InstanceId"] == "i-0123456789abcdef0"
    assert instance["status"] == "ACTIVE"
    assert instance["agentConnected"] is True
    assert instance["version"] == 1
    assert instance["runningTasksCount"] == 0 and instance["pendingTasksCount"] == 0
    assert instance["versionInfo"] == {
        "agentVersion": "1.80.0",
        "agentHash": "abc123",
        "dockerVersion": "DockerVersion: 20.10",
    }
    assert before - 1 <= instance["registeredAt"].timestamp() <= time.time() + 1
    cpu = instance["registeredResources"][0]
    assert cpu == {"name": "CPU", "type": "INTEGER", "doubleValue": 0.0, "longValue": 0, "integerValue": 2048}
    ports = instance["registeredResources"][2]
    assert ports["stringSetValue"] == ["22", "2375", "2376", "51678", "51679"]
    assert instance["remainingResources"] == instance["registeredResources"]
    attributes = {a["name"]: a.get("value") for a in instance["attributes"]}
    assert attributes["ecs.os-type"] == "linux"
    assert attributes["ecs.capability.task-eni"] is None
    assert attributes["ecs.availability-zone"] == "us-east-1a"
    assert attributes["ecs.instance-type"] == "t3.medium"
    assert instance["tags"] == [{"key": "role", "value": "web"}]
    assert instance["attachments"] == []
    # The private address is kept for the data plane and never shown to clients.
    doc = stored(server, "ecs:container-instance", key_name(instance["containerInstanceArn"]))
    assert doc is not None and doc["dockyard"]["hostAddress"] == "127.0.0.2"
    raw = urllib.request.urlopen(
        urllib.request.Request(
            server.endpoint,
            data=json.dumps({"containerInstances": [instance["containerInstanceArn"]]}).encode(),
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeContainerInstances",
            },
        )
    ).read()
    assert b"hostAddress" not in raw and b"dockyard" not in raw


def test_register_without_identity_document_is_a_managed_instance(ecs: Any) -> None:
    ecs.create_cluster()
    instance = register(ecs)
    assert re.fullmatch(r"mi-[0-9a-f]{17}", instance["ec2InstanceId"])  # ECS Anywhere ids
    assert "ecs.availability-zone" not in {a["name"] for a in instance["attributes"]}


def test_register_rejects_bad_input_and_stores_nothing(ecs: Any) -> None:
    ecs.create_cluster()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"attributes": [{"name": "bad name!", "value": "x"}]}, "InvalidParameterException"),
        ({"attributes": [{"name": "stack", "value": " padded"}]}, "InvalidParameterException"),
        ({"instanceIdentityDocument": "{not json"}, "InvalidParameterException"),
        ({"tags": [{"key": "aws:x", "value": "y"}]}, "InvalidParameterException"),
        (
            {"attributes": [{"name": f"custom{i}", "value": "v"} for i in range(11)]},
            "AttributeLimitExceededException",
        ),
    ]
    for overrides, code in cases:
        with pytest.raises(ClientError) as caught:
            register(ecs, **overrides)
        assert error(caught)[0] == code, overrides
    assert ecs.list_container_instances()["containerInstanceArns"] == []


def test_builtin_attributes_do_not_count_toward_the_custom_limit(ecs: Any) -> None:
    ecs.create_cluster()
    attributes = [{"name": f"custom{i}", "value": "v"} for i in range(10)]
    attributes += [{"name": f"ecs.capability.extra-{i}"} for i in range(20)]
    instance = register(ecs, attributes=attributes)
    assert len(instance["attributes"]) == 30


def test_reregistration_keeps_identity_and_custom_attributes(ecs: Any) -> None:
    ecs.create_cluster()
    first = register(
        ecs,
        instanceIdentityDocument=identity(),
        attributes=[{"name": "ecs.os-type", "value": "linux"}, {"name": "stack", "value": "prod"}],
    )
    arn = first["containerInstanceArn"]
    ecs.put_attributes(attributes=[{"name": "team", "value": "web", "targetId": arn}])
    again = register(
        ecs,
        containerInstanceArn=arn,
        instanceIdentityDocument=identity(),
        versionInfo={"agentVersion": "1.81.0"},
        attributes=[{"name": "ecs.os-type", "value": "linux"}, {"name": "stack", "value": "staging"}],
    )
    assert again["containerInstanceArn"] == arn
    assert again["ec2InstanceId"] == first["ec2InstanceId"]
    assert again["registeredAt"] == first["registeredAt"]
    assert again["versionInfo"] == {"agentVersion": "1.81.0"}
    assert again["version"] > first["version"]
    attributes = {a["name"]: a.get("value") for a in again["attributes"]}
    assert attributes["stack"] == "prod"
    assert attributes["team"] == "web"
    assert ecs.list_container_instances()["containerInstanceArns"] == [arn]


def test_reregistration_keeps_what_tasks_reserved(ecs: Any) -> None:
    ecs.create_cluster()
    instance = register(ecs)
    arn = instance["containerInstanceArn"]
    run_task(ecs, "default", arn)
    reserved = ecs.describe_container_instances(containerInstances=[arn])["containerInstances"][0]
    memory_left = reserved["remainingResources"][1]["integerValue"]
    assert memory_left == 3767 - 64
    bigger = [dict(r) for r in RESOURCES]
    bigger[1] = {"name": "MEMORY", "type": "INTEGER", "integerValue": 4000}
    again = register(ecs, containerInstanceArn=arn, totalResources=bigger)
    assert again["registeredResources"][1]["integerValue"] == 4000
    assert again["remainingResources"][1]["integerValue"] == 4000 - 64
    assert again["runningTasksCount"] == 1


def test_reregistration_of_a_deregistered_instance_fails(ecs: Any) -> None:
    ecs.create_cluster()
    arn = register(ecs)["containerInstanceArn"]
    ecs.deregister_container_instance(containerInstance=arn)
    with pytest.raises(ClientError) as caught:
        register(ecs, containerInstanceArn=arn)
    assert error(caught)[0] == "ClientException"


# DescribeContainerInstances --------------------------------------------------------------------


def test_describe_container_instances(ecs: Any) -> None:
    ecs.create_cluster(clusterName="c1")
    instance = register(ecs, "c1", tags=[{"key": "a", "value": "b"}])
    arn = instance["containerInstanceArn"]
    instance_id = arn.rsplit("/", 1)[1]
    response = ecs.describe_container_instances(
        cluster="c1", containerInstances=[instance_id, arn, "0" * 32, ARN_PREFIX + "c1/" + "1" * 32]
    )
    described = response["containerInstances"]
    assert [d["containerInstanceArn"] for d in described] == [arn, arn]
    assert "tags" not in described[0] and "healthStatus" not in described[0]
    assert response["failures"] == [
        {"arn": ARN_PREFIX + "c1/" + "0" * 32, "reason": "MISSING"},
        {"arn": ARN_PREFIX + "c1/" + "1" * 32, "reason": "MISSING"},
    ]
    full = ecs.describe_container_instances(
        cluster="c1", containerInstances=[arn], include=["TAGS", "CONTAINER_INSTANCE_HEALTH"]
    )["containerInstances"][0]
    assert full["tags"] == [{"key": "a", "value": "b"}]
    assert full["healthStatus"]["overallStatus"] == "OK"
    assert full["healthStatus"]["details"][0]["type"] == "CONTAINER_RUNTIME"


def test_describe_container_instances_errors(ecs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        ecs.describe_container_instances(cluster="nope", containerInstances=["x"])
    assert error(caught) == ("ClusterNotFoundException", "Cluster not found.")
    ecs.create_cluster()
    with pytest.raises(ClientError) as caught:
        ecs.describe_container_instances(containerInstances=[str(i) for i in range(101)])
    assert error(caught) == ("InvalidParameterException", "instanceIds can have at most 100 items.")


def test_task_counts_follow_the_tasks_placed_on_the_instance(ecs: Any) -> None:
    ecs.create_cluster()
    arn = register(ecs)["containerInstanceArn"]
    other = register(ecs)["containerInstanceArn"]
    running = run_task(ecs, "default", arn)
    report_running(ecs, "default", running)
    run_task(ecs, "default", arn)
    run_task(ecs, "default", other)
    described = ecs.describe_container_instances(containerInstances=[arn, other])["containerInstances"]
    assert [(d["runningTasksCount"], d["pendingTasksCount"]) for d in described] == [(2, 1), (1, 1)]
    ecs.stop_task(task=running)
    ecs.submit_task_state_change(task=running, status="STOPPED", reason="stopped")
    described = ecs.describe_container_instances(containerInstances=[arn])["containerInstances"][0]
    assert (described["runningTasksCount"], described["pendingTasksCount"]) == (1, 1)


# ListContainerInstances ------------------------------------------------------------------------


def test_list_container_instances_by_status_and_pages(ecs: Any) -> None:
    ecs.create_cluster(clusterName="c1")
    arns = sorted(register(ecs, "c1")["containerInstanceArn"] for _ in range(4))
    ecs.update_container_instances_state(cluster="c1", containerInstances=[arns[1]], status="DRAINING")
    ecs.deregister_container_instance(cluster="c1", containerInstance=arns[2])
    assert ecs.list_container_instances(cluster="c1")["containerInstanceArns"] == [arns[0], arns[1], arns[3]]
    assert ecs.list_container_instances(cluster="c1", status="DRAINING")["containerInstanceArns"] == [arns[1]]
    assert ecs.list_container_instances(cluster="c1", status="ACTIVE")["containerInstanceArns"] == [
        arns[0],
        arns[3],
    ]
    first = ecs.list_container_instances(cluster="c1", maxResults=2)
    assert first["containerInstanceArns"] == [arns[0], arns[1]]
    second = ecs.list_container_instances(cluster="c1", maxResults=2, nextToken=first["nextToken"])
    assert second["containerInstanceArns"] == [arns[3]] and "nextToken" not in second


def test_list_container_instances_with_a_cql_filter(ecs: Any) -> None:
    ecs.create_cluster()
    web = register(ecs, instanceIdentityDocument=identity("i-00000000000000001"))["containerInstanceArn"]
    batch = register(
        ecs,
        instanceIdentityDocument=identity(
            "i-00000000000000002", availabilityZone="us-east-1b", instanceType="m5.large"
        ),
    )["containerInstanceArn"]
    ecs.put_attributes(attributes=[{"name": "stack", "value": "prod", "targetId": web}])
    run_task(ecs, "default", web, group="service:web")

    def listed(expression: str) -> list[str]:
        arns: list[str] = ecs.list_container_instances(filter=expression)["containerInstanceArns"]
        return arns

    assert listed("attribute:ecs.instance-type =~ t3.*") == [web]
    assert listed("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]") == sorted([web, batch])
    assert listed("attribute:stack exists") == [web]
    assert listed("not(attribute:stack exists)") == [batch]
    assert listed("task:group == service:web") == [web]
    assert listed("runningTasksCount == 0") == [batch]
    assert listed("ec2InstanceId == i-00000000000000002") == [batch]
    assert listed("agentConnected == true and agentVersion >= 1.80.0") == sorted([web, batch])
    assert listed("registeredAt < 2000-01-01") == []
    with pytest.raises(ClientError) as caught:
        listed("attribute:stack ==")
    code, message = error(caught)
    assert code == "InvalidParameterException"
    assert message.startswith("Invalid filter expression:")


def test_list_container_instances_in_missing_cluster(ecs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        ecs.list_container_instances(cluster="nope")
    assert error(caught) == ("ClusterNotFoundException", "Cluster not found.")


# UpdateContainerInstancesState -----------------------------------------------------------------


def test_drain_and_reactivate(ecs: Any) -> None:
    ecs.create_cluster()
    instance = register(ecs)
    arn = instance["containerInstanceArn"]
    drained = ecs.update_container_instances_state(containerInstances=[arn, "f" * 32], status="DRAINING")
    assert drained["containerInstances"][0]["status"] == "DRAINING"
    assert drained["containerInstances"][0]["version"] == instance["version"] + 1
    assert drained["failures"] == [{"arn": ARN_PREFIX + "default/" + "f" * 32, "reason": "MISSING"}]
    again = ecs.update_container_instances_state(containerInstances=[arn], status="DRAINING")
    assert again["containerInstances"][0]["version"] == instance["version"] + 1
    active = ecs.update_container_instances_state(containerInstances=[arn], status="ACTIVE")
    assert active["containerInstances"][0]["status"] == "ACTIVE"
    described = ecs.describe_container_instances(containerInstances=[arn])["containerInstances"][0]
    assert described["status"] == "ACTIVE"


def test_update_state_errors(ecs: Any) -> None:
    ecs.create_cluster()
    arn = register(ecs)["containerInstanceArn"]
    with pytest.raises(ClientError) as caught:
        ecs.update_container_instances_state(containerInstances=[arn], status="REGISTERING")
    assert error(caught) == (
        "InvalidParameterException",
        "Container instances status should be one of [ACTIVE,DRAINING]",
    )
    with pytest.raises(ClientError) as caught:
        ecs.update_container_instances_state(containerInstances=[arn] * 11, status="DRAINING")
    assert error(caught) == ("InvalidParameterException", "instanceIds can have at most 10 items")
    ecs.deregister_container_instance(containerInstance=arn)
    response = ecs.update_container_instances_state(containerInstances=[arn], status="DRAINING")
    assert response["containerInstances"] == []
    assert response["failures"] == [{"arn": arn, "reason": "INACTIVE"}]


# DeregisterContainerInstance -------------------------------------------------------------------


def test_deregister_container_instance(ecs: Any) -> None:
    ecs.create_cluster()
    instance = register(ecs)
    arn = instance["containerInstanceArn"]
    deregistered = ecs.deregister_container_instance(containerInstance=arn.rsplit("/", 1)[1])[
        "containerInstance"
    ]
    assert deregistered["status"] == "INACTIVE"
    assert deregistered["containerInstanceArn"] == arn
    assert deregistered["version"] == instance["version"] + 1
    assert (
        ecs.describe_container_instances(containerInstances=[arn])["containerInstances"][0]["status"]
        == "INACTIVE"
    )
    assert ecs.list_container_instances()["containerInstanceArns"] == []


def test_deregister_with_running_tasks_needs_force(ecs: Any) -> None:
    ecs.create_cluster()
    arn = register(ecs)["containerInstanceArn"]
    task = run_task(ecs, "default", arn)
    report_running(ecs, "default", task)
    with pytest.raises(ClientError) as caught:
        ecs.deregister_container_instance(containerInstance=arn)
    assert error(caught) == ("InvalidParameterException", "Found running tasks on the instance.")
    assert ecs.list_container_instances()["containerInstanceArns"] == [arn]
    deregistered = ecs.deregister_container_instance(containerInstance=arn, force=True)["containerInstance"]
    assert deregistered["status"] == "INACTIVE"


def test_deregister_missing_instance(ecs: Any) -> None:
    ecs.create_cluster()
    with pytest.raises(ClientError) as caught:
        ecs.deregister_container_instance(containerInstance="a" * 32)
    assert error(caught)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        ecs.deregister_container_instance(cluster="nope", containerInstance="a" * 32)
    assert error(caught) == ("ClusterNotFoundException", "Cluster not found.")
