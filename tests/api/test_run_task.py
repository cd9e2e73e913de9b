"""RunTask / StartTask through boto3: placement, networking, overrides, idempotency and every refusal."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.instance_helpers import identity, register
from tests.api.task_helpers import bridge_td, fargate_td, network, subnets


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def remaining(ecs: Any, arn: str) -> dict[str, Any]:
    instance = ecs.describe_container_instances(containerInstances=[arn])["containerInstances"][0]
    out: dict[str, Any] = {}
    for item in instance["remainingResources"]:
        out[item["name"]] = (
            item.get("integerValue")
            if item["type"] == "INTEGER"
            else sorted(item.get("stringSetValue", []), key=int)
        )
    return out


def test_fargate_run_task_returns_provisioning_tasks_with_an_eni(ecs: Any) -> None:
    ecs.create_cluster()
    td = fargate_td(ecs)
    response = ecs.run_task(
        taskDefinition="web",
        launchType="FARGATE",
        count=2,
        networkConfiguration=network(),
        startedBy="me",
        tags=[{"key": "team", "value": "a"}],
    )
    assert response["failures"] == []
    tasks = response["tasks"]
    assert len(tasks) == 2
    addresses = set()
    for task in tasks:
        assert task["taskDefinitionArn"] == td
        assert task["lastStatus"] == "PROVISIONING"
        assert task["desiredStatus"] == "RUNNING"
        assert task["launchType"] == "FARGATE"
        assert task["platformVersion"] == "1.4.0"
        assert task["platformFamily"] == "Linux"
        assert task["group"] == "family:web"
        assert task["startedBy"] == "me"
        assert task["cpu"] == "256" and task["memory"] == "512"
        assert task["availabilityZone"] == "us-east-1a"
        assert task["tags"] == [{"key": "team", "value": "a"}]
        assert task["taskArn"].startswith("arn:aws:ecs:us-east-1:123456789012:task/default/")
        assert len(task["taskArn"].rsplit("/", 1)[1]) == 32
        assert "containerInstanceArn" not in task
        assert task["ephemeralStorage"] == {"sizeInGiB": 20}
        (eni,) = task["attachments"]
        assert eni["type"] == "ElasticNetworkInterface"
        details = {d["name"]: d["value"] for d in eni["details"]}
        assert details["subnetId"] == subnets()[0]
        address = details["privateIPv4Address"]
        assert ipaddress.ip_address(address) in ipaddress.ip_network("172.31.0.0/20")
        addresses.add(address)
        assert [c["name"] for c in task["containers"]] == ["app", "sidecar"]
        for container in task["containers"]:
            assert container["lastStatus"] == "PENDING"
            assert container["networkInterfaces"] == [
                {"attachmentId": eni["id"], "privateIpv4Address": address}
            ]
        assert task["overrides"]["containerOverrides"] == [{"name": "app"}, {"name": "sidecar"}]
    assert len(addresses) == 2


def test_fargate_capacity_provider_strategy(ecs: Any) -> None:
    ecs.create_cluster(
        clusterName="cp",
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
    )
    fargate_td(ecs)
    explicit = ecs.run_task(
        cluster="cp",
        taskDefinition="web",
        networkConfiguration=network(),
        capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
    )["tasks"][0]
    assert explicit["launchType"] == "FARGATE" and explicit["capacityProviderName"] == "FARGATE"
    default = ecs.run_task(cluster="cp", taskDefinition="web", networkConfiguration=network())["tasks"][0]
    assert default["capacityProviderName"] == "FARGATE_SPOT"


def test_overrides_are_echoed_and_validated(ecs: Any) -> None:
    ecs.create_cluster()
    fargate_td(ecs)
    task = ecs.run_task(
        taskDefinition="web",
        launchType="FARGATE",
        networkConfiguration=network(),
        overrides={
            "containerOverrides": [
                {"name": "app", "command": ["echo", "hi"], "environment": [{"name": "A", "value": "1"}]}
            ],
            "cpu": "512",
            "memory": "1024",
        },
    )["tasks"][0]
    assert task["overrides"]["containerOverrides"][0] == {
        "name": "app",
        "command": ["echo", "hi"],
        "environment": [{"name": "A", "value": "1"}],
    }
    assert task["cpu"] == "512" and task["memory"] == "1024"
    with pytest.raises(ClientError) as caught:
        ecs.run_task(
            taskDefinition="web",
            launchType="FARGATE",
            networkConfiguration=network(),
            overrides={"containerOverrides": [{"name": "nope"}]},
        )
    assert error(caught)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        ecs.run_task(
            taskDefinition="web",
            launchType="FARGATE",
            networkConfiguration=network(),
            overrides={"cpu": "256", "memory": "4096"},
        )
    assert error(caught) == ("ClientException", "No Fargate configuration exists for given values.")


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        ({"count": 11}, "InvalidParameterException", "count must be between 1 and 10."),
        ({"cluster": "nope"}, "ClusterNotFoundException", "Cluster not found."),
        ({"taskDefinition": "missing"}, "ClientException", "TaskDefinition not found."),
        (
            {"networkConfiguration": None},
            "InvalidParameterException",
            "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        ),
        (
            {"networkConfiguration": {"awsvpcConfiguration": {"subnets": []}}},
            "InvalidParameterException",
            "subnets can not be empty.",
        ),
        (
            {"capacityProviderStrategy": [{"capacityProvider": "FARGATE"}]},
            "InvalidParameterException",
            "Specifying both a launch type and capacity provider strategy is not supported. "
            "Remove one and try again.",
        ),
        ({"platformVersion": "9.9.9"}, "PlatformUnknownException", None),
        ({"tags": [{"key": "aws:reserved", "value": "x"}]}, "InvalidParameterException", None),
        ({"clientToken": "x" * 65}, "InvalidParameterException", None),
    ],
)
def test_run_task_refusals_store_nothing(
    ecs: Any, kwargs: dict[str, Any], code: str, message: str | None
) -> None:
    ecs.create_cluster()
    fargate_td(ecs)
    request: dict[str, Any] = {
        "taskDefinition": "web",
        "launchType": "FARGATE",
        "networkConfiguration": network(),
    }
    request.update(kwargs)
    request = {k: v for k, v in request.items() if v is not None}
    with pytest.raises(ClientError) as caught:
        ecs.run_task(**request)
    got_code, got_message = error(caught)
    assert got_code == code
    if message is not None:
        assert got_message == message
    assert ecs.list_tasks()["taskArns"] == []
    assert ecs.list_tasks(desiredStatus="STOPPED")["taskArns"] == []


def test_unknown_subnet_is_refused(ecs: Any) -> None:
    ecs.create_cluster()
    fargate_td(ecs)
    with pytest.raises(ClientError) as caught:
        ecs.run_task(
            taskDefinition="web", launchType="FARGATE", networkConfiguration=network(["subnet-0bad"])
        )
    code, message = error(caught)
    assert code == "InvalidParameterException"
    assert "subnet-0bad" in message and "does not exist" in message


def test_inactive_task_definition_and_cluster(ecs: Any) -> None:
    ecs.create_cluster()
    fargate_td(ecs)
    ecs.deregister_task_definition(taskDefinition="web:1")
    with pytest.raises(ClientError) as caught:
        ecs.run_task(taskDefinition="web:1", launchType="FARGATE", networkConfiguration=network())
    assert error(caught) == ("InvalidParameterException", "TaskDefinition is inactive")
    ecs.create_cluster(clusterName="gone")
    ecs.delete_cluster(cluster="gone")
    fargate_td(ecs)
    with pytest.raises(ClientError) as caught:
        ecs.run_task(
            cluster="gone", taskDefinition="web", launchType="FARGATE", networkConfiguration=network()
        )
    assert error(caught) == ("ClientException", "Cluster was not ACTIVE.")


def test_launch_type_must_be_compatible(ecs: Any) -> None:
    ecs.create_cluster()
    bridge_td(ecs)
    with pytest.raises(ClientError) as caught:
        ecs.run_task(taskDefinition="api", launchType="FARGATE")
    assert error(caught) == (
        "InvalidParameterException",
        "Task definition does not support launch_type FARGATE.",
    )
    with pytest.raises(ClientError) as caught:
        ecs.run_task(taskDefinition="api", launchType="EC2", networkConfiguration=network())
    assert error(caught)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        ecs.run_task(taskDefinition="api", launchType="EC2", platformVersion="LATEST")
    assert error(caught) == (
        "InvalidParameterException",
        "The platform version must be null when specifying an EC2 launch type.",
    )


def test_ec2_without_instances(ecs: Any) -> None:
    ecs.create_cluster()
    bridge_td(ecs)
    with pytest.raises(ClientError) as caught:
        ecs.run_task(taskDefinition="api")
    assert error(caught) == (
        "InvalidParameterException",
        "No Container Instances were found in your cluster.",
    )


def test_ec2_placement_reserves_resources_and_reports_what_does_not_fit(ecs: Any) -> None:
    ecs.create_cluster()
    instance = register(ecs, instanceIdentityDocument=identity())["containerInstanceArn"]
    bridge_td(ecs, "api", memory=1024, cpu=512)
    response = ecs.run_task(taskDefinition="api", count=3)
    assert len(response["tasks"]) == 3 and response["failures"] == []
    for task in response["tasks"]:
        assert task["containerInstanceArn"] == instance
        assert task["launchType"] == "EC2"
        assert task["availabilityZone"] == "us-east-1a"
    assert remaining(ecs, instance)["CPU"] == 2048 - 3 * 512
    assert remaining(ecs, instance)["MEMORY"] == 3767 - 3 * 1024
    response = ecs.run_task(taskDefinition="api", count=2)
    assert response["tasks"] == []
    assert response["failures"] == [
        {"arn": instance, "reason": "RESOURCE:MEMORY"},
        {"arn": instance, "reason": "RESOURCE:MEMORY"},
    ]


def test_static_host_ports_conflict_and_reserved_ports_are_held(ecs: Any) -> None:
    ecs.create_cluster()
    instance = register(ecs)["containerInstanceArn"]
    bridge_td(ecs, "static", host_port=8080)
    first = ecs.run_task(taskDefinition="static")
    assert len(first["tasks"]) == 1
    assert "8080" in remaining(ecs, instance)["PORTS"]
    second = ecs.run_task(taskDefinition="static")
    assert second["failures"] == [{"arn": instance, "reason": "RESOURCE:PORTS"}]
    bridge_td(ecs, "ssh", host_port=22)
    assert ecs.run_task(taskDefinition="ssh")["failures"] == [{"arn": instance, "reason": "RESOURCE:PORTS"}]
    bridge_td(ecs, "dynamic")
    assert len(ecs.run_task(taskDefinition="dynamic", count=2)["tasks"]) == 2


def test_start_task_on_named_instances(ecs: Any) -> None:
    ecs.create_cluster()
    instance = register(ecs)["containerInstanceArn"]
    bridge_td(ecs)
    response = ecs.start_task(taskDefinition="api", containerInstances=[instance.rsplit("/", 1)[1], "f" * 32])
    assert [t["containerInstanceArn"] for t in response["tasks"]] == [instance]
    assert response["failures"] == [
        {
            "arn": f"arn:aws:ecs:us-east-1:123456789012:container-instance/default/{'f' * 32}",
            "reason": "MISSING",
        }
    ]
    with pytest.raises(ClientError) as caught:
        ecs.start_task(taskDefinition="api", containerInstances=[instance] * 11)
    assert error(caught)[0] == "InvalidParameterException"


def test_client_token_makes_run_task_idempotent(ecs: Any) -> None:
    ecs.create_cluster()
    fargate_td(ecs)
    request = {
        "taskDefinition": "web",
        "launchType": "FARGATE",
        "networkConfiguration": network(),
        "clientToken": "token-1",
        "count": 2,
    }
    first = [t["taskArn"] for t in ecs.run_task(**request)["tasks"]]
    again = [t["taskArn"] for t in ecs.run_task(**request)["tasks"]]
    assert first == again
    assert len(ecs.list_tasks()["taskArns"]) == 2
    with pytest.raises(ClientError) as caught:
        ecs.run_task(**{**request, "count": 1})
    assert caught.value.response["Error"]["Code"] == "ConflictException"
    assert sorted(caught.value.response["resourceIds"]) == sorted(first)


def test_external_instances_take_only_external_tasks(ecs: Any) -> None:
    from tests.api.instance_helpers import AGENT_ATTRIBUTES

    ecs.create_cluster()
    external = register(ecs, attributes=[*AGENT_ATTRIBUTES, {"name": "ecs.capability.external"}])
    bridge_td(ecs)
    task = ecs.run_task(taskDefinition="api", launchType="EXTERNAL")["tasks"][0]
    assert task["launchType"] == "EXTERNAL"
    assert task["containerInstanceArn"] == external["containerInstanceArn"]
    with pytest.raises(ClientError) as caught:
        ecs.run_task(taskDefinition="api", launchType="EC2")
    assert error(caught) == (
        "InvalidParameterException",
        "No Container Instances were found in your cluster.",
    )
    ec2 = register(ecs, instanceIdentityDocument=identity("i-0fedcba9876543210"))
    assert (
        ecs.run_task(taskDefinition="api")["tasks"][0]["containerInstanceArn"] == ec2["containerInstanceArn"]
    )


def test_draining_and_disconnected_instances_take_no_new_tasks(ecs: Any) -> None:
    ecs.create_cluster()
    instance = register(ecs, instanceIdentityDocument=identity())["containerInstanceArn"]
    bridge_td(ecs)
    ecs.update_container_instances_state(containerInstances=[instance], status="DRAINING")
    response = ecs.run_task(taskDefinition="api")
    assert response["tasks"] == []
    assert response["failures"] == [{"arn": instance, "reason": "INACTIVE"}]
