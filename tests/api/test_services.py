"""CreateService, UpdateService, DeleteService, DescribeServices and ListServices with boto3:
what a user sees, and every error ECS answers with."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.api.service_helpers import describe, eventually, live, settle, stopped_report
from tests.api.task_helpers import bridge_td, fargate_td, network, report

SERVICE_ARN = "arn:aws:ecs:us-east-1:123456789012:service/default/web"
TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/1"


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def create(ecs: Any, name: str = "web", **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "serviceName": name,
        "taskDefinition": "web",
        "desiredCount": 1,
        "launchType": "FARGATE",
        "networkConfiguration": network(),
    }
    request.update(extra)
    service: dict[str, Any] = ecs.create_service(**{k: v for k, v in request.items() if v is not None})[
        "service"
    ]
    return service


@pytest.fixture
def web(ecs: Any) -> Any:
    ecs.create_cluster()
    fargate_td(ecs)
    return ecs


def test_create_service_defaults(web: Any) -> None:
    service = create(web, tags=[{"key": "team", "value": "a"}])
    assert service["serviceArn"] == SERVICE_ARN
    assert service["clusterArn"].endswith(":cluster/default")
    assert service["status"] == "ACTIVE"
    assert service["desiredCount"] == 1 and service["runningCount"] == 0
    assert service["launchType"] == "FARGATE" and service["platformVersion"] == "LATEST"
    assert service["schedulingStrategy"] == "REPLICA"
    assert service["deploymentController"] == {"type": "ECS"}
    assert service["propagateTags"] == "NONE" and service["enableECSManagedTags"] is False
    assert service["deploymentConfiguration"] == {
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }
    assert service["taskDefinition"].endswith(":task-definition/web:1")
    (deployment,) = service["deployments"]
    assert deployment["status"] == "PRIMARY" and deployment["rolloutState"] == "IN_PROGRESS"
    assert deployment["id"].startswith("ecs-svc/") and len(deployment["id"]) == len("ecs-svc/") + 19
    assert deployment["rolloutStateReason"] == f"ECS deployment {deployment['id']} in progress."
    assert service["currentServiceDeployment"].startswith(
        "arn:aws:ecs:us-east-1:123456789012:service-deployment/default/web/"
    )
    assert service["tags"] == [{"key": "team", "value": "a"}]
    described = describe(web, "web")
    assert "tags" not in described
    assert describe(web, "web", include=["TAGS"])["tags"] == [{"key": "team", "value": "a"}]
    assert web.list_tags_for_resource(resourceArn=SERVICE_ARN)["tags"] == [{"key": "team", "value": "a"}]


def test_service_tasks_carry_the_deployment(web: Any) -> None:
    service = create(web, desiredCount=2, propagateTags="SERVICE", tags=[{"key": "k", "value": "v"}])
    tasks = eventually(lambda: len(live(web, "web")) == 2 and live(web, "web"))
    for task in tasks:
        assert task["startedBy"] == service["deployments"][0]["id"]
        assert task["group"] == "service:web"
    full = web.describe_tasks(tasks=[tasks[0]["taskArn"]], include=["TAGS"])["tasks"][0]
    assert full["tags"] == [{"key": "k", "value": "v"}]
    assert sorted(web.list_tasks(serviceName="web")["taskArns"]) == sorted(t["taskArn"] for t in tasks)
    assert web.list_tasks(startedBy=service["deployments"][0]["id"])["taskArns"]
    assert eventually(lambda: describe(web, "web")["pendingCount"] == 2)


def test_create_is_not_idempotent_without_the_same_token(web: Any) -> None:
    first = create(web, clientToken="tok")
    again = create(web, clientToken="tok")
    assert again["serviceArn"] == first["serviceArn"]
    assert again["deployments"][0]["id"] == first["deployments"][0]["id"]
    for extra in ({"clientToken": "other"}, {}, {"clientToken": "tok", "desiredCount": 2}):
        with pytest.raises(ClientError) as caught:
            create(web, **extra)
        assert error(caught) == ("InvalidParameterException", "Creation of service was not idempotent.")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"cluster": "nope"}, ("ClusterNotFoundException", "Cluster not found.")),
        ({"taskDefinition": "missing"}, ("ClientException", "TaskDefinition not found.")),
        (
            {"networkConfiguration": None},
            (
                "InvalidParameterException",
                "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            ),
        ),
        (
            {"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]},
            (
                "InvalidParameterException",
                "Specifying both a launch type and capacity provider strategy is not supported. "
                "Remove one and try again.",
            ),
        ),
        ({"serviceName": "bad name"}, ("InvalidParameterException", None)),
        ({"clientToken": "x" * 37}, ("InvalidParameterException", None)),
        ({"desiredCount": None}, ("InvalidParameterException", None)),
        ({"desiredCount": -1}, ("InvalidParameterException", None)),
        ({"deploymentConfiguration": {"minimumHealthyPercent": 101}}, ("InvalidParameterException", None)),
        ({"healthCheckGracePeriodSeconds": -1}, ("InvalidParameterException", None)),
        ({"platformVersion": "9.9.9"}, ("PlatformUnknownException", None)),
        (
            {"placementConstraints": [{"type": "memberOf", "expression": "attribute:x =="}]},
            (
                "InvalidParameterException",
                "Placement constraints are not supported with FARGATE launch type.",
            ),
        ),
        ({"deploymentController": {"type": "CODE_DEPLOY"}}, ("UnsupportedFeatureException", None)),
        (
            {"serviceRegistries": [{"registryArn": "a"}, {"registryArn": "b"}]},
            ("InvalidParameterException", "Only one service registry is supported per service."),
        ),
        (
            {
                "loadBalancers": [
                    {
                        "targetGroupArn": TARGET_GROUP,
                        "containerName": "app",
                        "containerPort": 80,
                    }
                ]
            },
            (
                "InvalidParameterException",
                "Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS "
                "service role being passed has the proper permissions.",
            ),
        ),
        (
            {"loadBalancers": [{"targetGroupArn": "arn:x", "containerName": "nope", "containerPort": 80}]},
            ("InvalidParameterException", "The container nope does not exist in the task definition."),
        ),
        (
            {"loadBalancers": [{"targetGroupArn": "arn:x", "containerName": "app", "containerPort": 81}]},
            ("InvalidParameterException", "The container app did not have a container port 81 defined."),
        ),
    ],
)
def test_create_service_errors(web: Any, extra: dict[str, Any], expected: tuple[str, str | None]) -> None:
    with pytest.raises(ClientError) as caught:
        create(web, **extra)
    code, message = error(caught)
    assert code == expected[0]
    if expected[1] is not None:
        assert message == expected[1]
    assert web.list_services()["serviceArns"] == []


def test_inactive_task_definition_is_refused(web: Any) -> None:
    web.deregister_task_definition(taskDefinition="web:1")
    with pytest.raises(ClientError) as caught:
        create(web, taskDefinition="web:1")
    assert error(caught) == ("ClientException", "TaskDefinition is inactive")
    with pytest.raises(ClientError) as caught:
        create(web, taskDefinition="web")  # no ACTIVE revision left in the family
    assert error(caught) == ("ClientException", "TaskDefinition not found.")


def test_ec2_placement_is_validated(web: Any) -> None:
    bridge_td(web)
    with pytest.raises(ClientError) as caught:
        web.create_service(
            serviceName="api",
            taskDefinition="api",
            desiredCount=1,
            placementStrategy=[{"type": "binpack", "field": "disk"}],
        )
    assert error(caught) == (
        "InvalidParameterException",
        "Invalid field 'disk' for placement strategy of type binpack. Valid fields are cpu and memory.",
    )


def test_daemon_rules(web: Any) -> None:
    bridge_td(web)
    cases: list[tuple[dict[str, Any], str | None]] = [
        (
            {"desiredCount": 1},
            "The daemon scheduling strategy does not support a desired count for services. "
            "Remove the desired count value and try again",
        ),
        (
            {"placementStrategy": [{"type": "random"}]},
            "The daemon scheduling strategy does not support placement strategies. "
            "Remove the placement strategy and try again",
        ),
        (
            {"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]},
            "Specifying a capacity provider strategy is not supported when you create a service using "
            "the DAEMON scheduling strategy.",
        ),
        ({"deploymentConfiguration": {"maximumPercent": 200}}, None),
        ({"launchType": "FARGATE"}, None),
    ]
    for extra, message in cases:
        with pytest.raises(ClientError) as caught:
            web.create_service(serviceName="d", taskDefinition="api", schedulingStrategy="DAEMON", **extra)
        assert error(caught)[0] == "InvalidParameterException"
        if message is not None:
            assert error(caught)[1] == message
    service = web.create_service(serviceName="d", taskDefinition="api", schedulingStrategy="DAEMON")[
        "service"
    ]
    assert service["deploymentConfiguration"]["maximumPercent"] == 100
    assert service["deploymentConfiguration"]["minimumHealthyPercent"] == 0
    assert service["launchType"] == "EC2" and service["desiredCount"] == 0


def test_describe_services(web: Any) -> None:
    create(web)
    response = web.describe_services(services=["web", "nope", SERVICE_ARN])
    assert [s["serviceName"] for s in response["services"]] == ["web", "web"]
    assert response["failures"] == [
        {"arn": "arn:aws:ecs:us-east-1:123456789012:service/default/nope", "reason": "MISSING"}
    ]
    with pytest.raises(ClientError) as caught:
        web.describe_services(services=[])
    assert error(caught)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        web.describe_services(services=["a"] * 11)
    assert error(caught)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        web.describe_services(cluster="nope", services=["web"])
    assert error(caught) == ("ClusterNotFoundException", "Cluster not found.")


def test_list_services_pages_and_filters(web: Any) -> None:
    bridge_td(web)
    for n in range(12):
        create(web, f"svc-{n:02d}", desiredCount=0)
    web.create_service(serviceName="daemon", taskDefinition="api", schedulingStrategy="DAEMON")
    first = web.list_services()
    assert len(first["serviceArns"]) == 10 and "nextToken" in first
    rest = web.list_services(nextToken=first["nextToken"])
    assert len(rest["serviceArns"]) == 3 and "nextToken" not in rest
    assert len(web.list_services(maxResults=100)["serviceArns"]) == 13
    assert len(web.list_services(launchType="FARGATE", maxResults=100)["serviceArns"]) == 12
    assert [a.rsplit("/", 1)[1] for a in web.list_services(schedulingStrategy="DAEMON")["serviceArns"]] == [
        "daemon"
    ]
    assert web.list_services(launchType="EXTERNAL")["serviceArns"] == []
    paged = [a for p in web.get_paginator("list_services").paginate() for a in p["serviceArns"]]
    assert len(paged) == 13
    with pytest.raises(ClientError) as caught:
        web.list_services(maxResults=101)
    assert error(caught)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        web.list_services(cluster="nope")
    assert error(caught)[0] == "ClusterNotFoundException"
    counts = web.describe_clusters(clusters=["default"])["clusters"][0]
    assert counts["activeServicesCount"] == 13


def test_update_service_errors(web: Any) -> None:
    with pytest.raises(ClientError) as caught:
        web.update_service(service="web", desiredCount=2)
    assert error(caught) == ("ServiceNotFoundException", "Service not found.")
    create(web)
    with pytest.raises(ClientError) as caught:
        web.update_service(service="web", taskDefinition="missing")
    assert error(caught) == ("ClientException", "TaskDefinition not found.")
    with pytest.raises(ClientError) as caught:
        web.update_service(service="web", deploymentConfiguration={"minimumHealthyPercent": -1})
    assert error(caught)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        web.update_service(cluster="nope", service="web", desiredCount=1)
    assert error(caught)[0] == "ClusterNotFoundException"
    web.update_service(service="web", desiredCount=0)
    web.delete_service(service="web")
    with pytest.raises(ClientError) as caught:
        web.update_service(service="web", desiredCount=1)
    assert error(caught) == ("ServiceNotActiveException", "Service was not ACTIVE.")


def test_desired_count_update_keeps_the_deployment(web: Any) -> None:
    first = create(web)
    updated = web.update_service(service="web", desiredCount=3)["service"]
    assert updated["desiredCount"] == 3
    assert [d["id"] for d in updated["deployments"]] == [first["deployments"][0]["id"]]
    assert updated["deployments"][0]["desiredCount"] == 3
    same = web.update_service(service="web", taskDefinition="web:1", networkConfiguration=network())[
        "service"
    ]
    assert len(same["deployments"]) == 1
    forced = web.update_service(service="web", forceNewDeployment=True)["service"]
    assert [d["status"] for d in forced["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert forced["deployments"][0]["id"] != first["deployments"][0]["id"]
    fargate_td(web)
    rolled = web.update_service(service="web", taskDefinition="web")["service"]
    assert rolled["taskDefinition"].endswith("web:2")
    assert rolled["deployments"][0]["taskDefinition"].endswith("web:2")


def test_delete_service(web: Any, server: ThreadedServer) -> None:
    create(web, desiredCount=1)
    eventually(lambda: live(web, "web"))
    with pytest.raises(ClientError) as caught:
        web.delete_service(service="web")
    assert error(caught) == (
        "InvalidParameterException",
        "The service cannot be stopped while it is scaled above 0.",
    )
    deleted = web.delete_service(service="web", force=True)["service"]
    assert deleted["status"] == "DRAINING" and deleted["desiredCount"] == 0
    assert web.list_services()["serviceArns"] == []
    assert describe(web, "web")["status"] == "DRAINING"
    with pytest.raises(ClientError) as caught:
        create(web)
    assert error(caught) == ("InvalidParameterException", "Creation of service was not idempotent.")
    (task,) = eventually(lambda: [t for t in live(web, "web") if t["desiredStatus"] == "STOPPED"])
    assert task["stopCode"] == "ServiceSchedulerInitiated"
    report(server.endpoint, stopped_report(task))
    eventually(lambda: describe(web, "web")["status"] == "INACTIVE")
    with pytest.raises(ClientError) as caught:
        web.delete_service(service="web")
    assert error(caught) == ("ServiceNotFoundException", "Service not found.")
    again = create(web, desiredCount=0)
    assert again["status"] == "ACTIVE" and again["events"] == []
    assert web.list_services()["serviceArns"] == [SERVICE_ARN]


def test_delete_with_no_tasks_goes_inactive(web: Any, server: ThreadedServer) -> None:
    create(web, desiredCount=0)
    assert web.delete_service(service=SERVICE_ARN)["service"]["status"] == "DRAINING"
    eventually(lambda: describe(web, "web")["status"] == "INACTIVE")
    waiter = web.get_waiter("services_inactive")
    waiter.wait(services=["web"], WaiterConfig={"Delay": 1, "MaxAttempts": 5})


def test_cluster_cannot_be_deleted_while_a_service_is_active(web: Any) -> None:
    create(web, desiredCount=0)
    with pytest.raises(ClientError) as caught:
        web.delete_cluster(cluster="default")
    assert error(caught)[0] == "ClusterContainsServicesException"


def test_scale_to_zero_and_back(web: Any, server: ThreadedServer) -> None:
    create(web, desiredCount=2)
    eventually(lambda: len(live(web, "web")) == 2)
    settle(server, web, "web")
    web.update_service(service="web", desiredCount=0)
    eventually(lambda: settle(server, web, "web") == 0 and not live(web, "web"))
    assert describe(web, "web")["runningCount"] == 0
    web.update_service(service="web", desiredCount=1)
    eventually(lambda: len(live(web, "web")) == 1)
