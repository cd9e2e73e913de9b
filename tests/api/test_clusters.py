"""Clusters through boto3: create, describe (with include), list, update, delete and their errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.api.instance_helpers import register, report_running, run_task, seed_service

ARN = "arn:aws:ecs:us-east-1:123456789012:cluster/"


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    body = caught.value.response["Error"]
    return body["Code"], body["Message"]


# CreateCluster ---------------------------------------------------------------------------------


def test_create_cluster_without_a_name_creates_default(ecs: Any) -> None:
    cluster = ecs.create_cluster()["cluster"]
    assert cluster == {
        "clusterArn": ARN + "default",
        "clusterName": "default",
        "status": "ACTIVE",
        "registeredContainerInstancesCount": 0,
        "runningTasksCount": 0,
        "pendingTasksCount": 0,
        "activeServicesCount": 0,
        "statistics": [],
        "tags": [],
        "settings": [{"name": "containerInsights", "value": "disabled"}],
        "capacityProviders": [],
        "defaultCapacityProviderStrategy": [],
    }


def test_create_cluster_with_everything(ecs: Any) -> None:
    cluster = ecs.create_cluster(
        clusterName="prod_web-1",
        tags=[{"key": "team", "value": "web"}, {"key": "env", "value": "prod"}],
        settings=[{"name": "containerInsights", "value": "enhanced"}],
        configuration={"executeCommandConfiguration": {"logging": "DEFAULT"}},
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=[
            {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
            {"capacityProvider": "FARGATE_SPOT", "weight": 4},
        ],
        serviceConnectDefaults={"namespace": "internal"},
    )["cluster"]
    assert cluster["clusterArn"] == ARN + "prod_web-1"
    assert cluster["tags"] == [{"key": "team", "value": "web"}, {"key": "env", "value": "prod"}]
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    assert cluster["configuration"] == {"executeCommandConfiguration": {"logging": "DEFAULT"}}
    assert cluster["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert cluster["defaultCapacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE", "weight": 1, "base": 1},
        {"capacityProvider": "FARGATE_SPOT", "weight": 4, "base": 0},
    ]
    assert cluster["serviceConnectDefaults"] == {"namespace": "internal"}


def test_create_existing_active_cluster_returns_it_unchanged(ecs: Any) -> None:
    first = ecs.create_cluster(clusterName="c1", tags=[{"key": "a", "value": "1"}])["cluster"]
    again = ecs.create_cluster(
        clusterName="c1",
        tags=[{"key": "b", "value": "2"}],
        settings=[{"name": "containerInsights", "value": "enabled"}],
    )["cluster"]
    assert again == first
    assert ecs.list_clusters()["clusterArns"] == [ARN + "c1"]


def test_create_after_delete_makes_the_cluster_active_again(ecs: Any) -> None:
    ecs.create_cluster(clusterName="c1", tags=[{"key": "a", "value": "1"}])
    ecs.delete_cluster(cluster="c1")
    cluster = ecs.create_cluster(
        clusterName="c1", settings=[{"name": "containerInsights", "value": "enabled"}]
    )["cluster"]
    assert cluster["status"] == "ACTIVE"
    assert cluster["tags"] == []
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert ecs.list_clusters()["clusterArns"] == [ARN + "c1"]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"clusterName": "bad name"}, "Cluster name can have up to 255 letters"),
        ({"clusterName": "x" * 256}, "Cluster name can have up to 255 letters"),
        ({"clusterName": "a:b"}, "Cluster name can have up to 255 letters"),
        ({"settings": [{"name": "containerInsights", "value": "on"}]}, "should be one of [enhanced, enabled"),
        ({"tags": [{"key": "aws:owner", "value": "x"}]}, "reserved prefix 'aws:'"),
        (
            {"capacityProviders": ["my-asg-provider"]},
            "The specified capacity provider 'my-asg-provider' does not exist",
        ),
        (
            {"defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]},
            "cannot contain a capacity provider that is not associated with the cluster",
        ),
        (
            {
                "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
                "defaultCapacityProviderStrategy": [
                    {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
                    {"capacityProvider": "FARGATE_SPOT", "base": 2, "weight": 1},
                ],
            },
            "maximum of one capacity provider with a base value greater than 0",
        ),
    ],
)
def test_create_cluster_rejects_bad_input_and_stores_nothing(
    ecs: Any, request_: dict[str, Any], message: str
) -> None:
    request_ = {"clusterName": "c1", **request_}
    with pytest.raises(ClientError) as caught:
        ecs.create_cluster(**request_)
    code, text = error(caught)
    assert code == "InvalidParameterException"
    assert message in text
    assert ecs.list_clusters()["clusterArns"] == []


def test_create_cluster_validates_model_constraints_on_the_wire(ecs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        ecs.create_cluster(clusterName="c1", tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])
    assert error(caught)[0] == "ValidationException"
    with pytest.raises(ClientError) as caught:
        ecs.create_cluster(
            clusterName="c1",
            capacityProviders=["FARGATE"],
            defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1001}],
        )
    assert error(caught)[0] == "ValidationException"


# DescribeClusters ------------------------------------------------------------------------------


def test_describe_clusters_defaults_to_default_and_reports_missing(ecs: Any) -> None:
    response = ecs.describe_clusters()
    assert response["clusters"] == []
    assert response["failures"] == [{"arn": ARN + "default", "reason": "MISSING"}]
    ecs.create_cluster()
    assert ecs.describe_clusters()["clusters"][0]["clusterName"] == "default"


def test_describe_clusters_by_name_and_arn_with_failures(ecs: Any) -> None:
    ecs.create_cluster(clusterName="a")
    ecs.create_cluster(clusterName="b")
    response = ecs.describe_clusters(clusters=["a", ARN + "b", "nope", ARN + "gone"])
    assert [c["clusterName"] for c in response["clusters"]] == ["a", "b"]
    assert response["failures"] == [
        {"arn": ARN + "nope", "reason": "MISSING"},
        {"arn": ARN + "gone", "reason": "MISSING"},
    ]


def test_describe_clusters_hides_optional_members_unless_included(ecs: Any) -> None:
    ecs.create_cluster(
        clusterName="c1",
        tags=[{"key": "team", "value": "web"}],
        settings=[{"name": "containerInsights", "value": "enabled"}],
        configuration={"executeCommandConfiguration": {"logging": "NONE"}},
    )
    plain = ecs.describe_clusters(clusters=["c1"])["clusters"][0]
    assert plain["tags"] == [] and plain["settings"] == [] and plain["statistics"] == []
    assert "configuration" not in plain and "attachments" not in plain
    full = ecs.describe_clusters(
        clusters=["c1"], include=["TAGS", "SETTINGS", "CONFIGURATIONS", "STATISTICS", "ATTACHMENTS"]
    )["clusters"][0]
    assert full["tags"] == [{"key": "team", "value": "web"}]
    assert full["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert full["configuration"] == {"executeCommandConfiguration": {"logging": "NONE"}}
    assert full["attachments"] == []
    assert {s["name"]: s["value"] for s in full["statistics"]} == {
        "runningEC2TasksCount": "0",
        "runningFargateTasksCount": "0",
        "pendingEC2TasksCount": "0",
        "pendingFargateTasksCount": "0",
        "activeEC2ServiceCount": "0",
        "activeFargateServiceCount": "0",
        "drainingEC2ServiceCount": "0",
        "drainingFargateServiceCount": "0",
    }


def test_describe_clusters_rejects_more_than_100(ecs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        ecs.describe_clusters(clusters=[f"c{i}" for i in range(101)])
    assert error(caught) == ("InvalidParameterException", "clusters can have at most 100 items.")


def test_cluster_counts_come_from_instances_tasks_and_services(ecs: Any, server: ThreadedServer) -> None:
    ecs.create_cluster(clusterName="c1")
    first = register(ecs, "c1")
    second = register(ecs, "c1")
    third = register(ecs, "c1")
    ecs.update_container_instances_state(
        cluster="c1", containerInstances=[second["containerInstanceArn"]], status="DRAINING"
    )
    ecs.deregister_container_instance(cluster="c1", containerInstance=third["containerInstanceArn"])
    running = run_task(ecs, "c1", first["containerInstanceArn"])
    report_running(ecs, "c1", running)
    run_task(ecs, "c1", first["containerInstanceArn"])
    seed_service(server, "c1", "web", launchType="FARGATE")
    seed_service(server, "c1", "api", launchType="EC2")
    seed_service(server, "c1", "old", status="DRAINING", launchType="EC2")
    seed_service(server, "c1", "gone", status="INACTIVE")
    cluster = ecs.describe_clusters(clusters=["c1"], include=["STATISTICS"])["clusters"][0]
    assert cluster["registeredContainerInstancesCount"] == 2
    assert cluster["runningTasksCount"] == 1
    assert cluster["pendingTasksCount"] == 1
    assert cluster["activeServicesCount"] == 2
    stats = {s["name"]: s["value"] for s in cluster["statistics"]}
    assert stats["runningEC2TasksCount"] == "1"
    assert stats["pendingEC2TasksCount"] == "1"
    assert stats["activeFargateServiceCount"] == "1"
    assert stats["activeEC2ServiceCount"] == "1"
    assert stats["drainingEC2ServiceCount"] == "1"


# ListClusters ----------------------------------------------------------------------------------


def test_list_clusters_shows_active_ones_in_pages(ecs: Any) -> None:
    for name in ("e", "a", "d", "c", "b"):
        ecs.create_cluster(clusterName=name)
    ecs.delete_cluster(cluster="d")
    first = ecs.list_clusters(maxResults=2)
    assert first["clusterArns"] == [ARN + "a", ARN + "b"]
    second = ecs.list_clusters(maxResults=2, nextToken=first["nextToken"])
    assert second["clusterArns"] == [ARN + "c", ARN + "e"]
    assert "nextToken" not in second
    paginator = ecs.get_paginator("list_clusters")
    arns = [arn for p in paginator.paginate(PaginationConfig={"PageSize": 1}) for arn in p["clusterArns"]]
    assert arns == [ARN + n for n in ("a", "b", "c", "e")]


def test_list_clusters_rejects_bad_paging(ecs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        ecs.list_clusters(maxResults=101)
    assert error(caught)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        ecs.list_clusters(nextToken="not-a-token!")
    assert error(caught)[0] == "InvalidParameterException"


# UpdateCluster / UpdateClusterSettings ---------------------------------------------------------


def test_update_cluster_settings(ecs: Any) -> None:
    ecs.create_cluster(clusterName="c1")
    cluster = ecs.update_cluster_settings(
        cluster="c1", settings=[{"name": "containerInsights", "value": "enhanced"}]
    )["cluster"]
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    described = ecs.describe_clusters(clusters=["c1"], include=["SETTINGS"])["clusters"][0]
    assert described["settings"] == [{"name": "containerInsights", "value": "enhanced"}]


def test_update_cluster_configuration_and_service_connect(ecs: Any) -> None:
    ecs.create_cluster(clusterName="c1", configuration={"managedStorageConfiguration": {"kmsKeyId": "k1"}})
    cluster = ecs.update_cluster(
        cluster=ARN + "c1",
        configuration={
            "executeCommandConfiguration": {"logging": "OVERRIDE", "logConfiguration": {"s3BucketName": "b"}}
        },
        serviceConnectDefaults={"namespace": "internal"},
        settings=[{"name": "containerInsights", "value": "enabled"}],
    )["cluster"]
    assert cluster["configuration"] == {
        "managedStorageConfiguration": {"kmsKeyId": "k1"},
        "executeCommandConfiguration": {"logging": "OVERRIDE", "logConfiguration": {"s3BucketName": "b"}},
    }
    assert cluster["serviceConnectDefaults"] == {"namespace": "internal"}
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]


@pytest.mark.parametrize("operation", ["update_cluster", "update_cluster_settings"])
def test_update_missing_or_deleted_cluster(ecs: Any, operation: str) -> None:
    settings = [{"name": "containerInsights", "value": "enabled"}]
    with pytest.raises(ClientError) as caught:
        getattr(ecs, operation)(cluster="nope", settings=settings)
    assert error(caught) == ("ClusterNotFoundException", "Cluster not found.")
    ecs.create_cluster(clusterName="c1")
    ecs.delete_cluster(cluster="c1")
    with pytest.raises(ClientError) as caught:
        getattr(ecs, operation)(cluster="c1", settings=settings)
    assert error(caught) == ("ClusterNotFoundException", "Cluster not found.")


def test_update_cluster_rejects_bad_setting_value(ecs: Any) -> None:
    ecs.create_cluster(clusterName="c1")
    with pytest.raises(ClientError) as caught:
        ecs.update_cluster_settings(cluster="c1", settings=[{"name": "containerInsights", "value": "yes"}])
    assert error(caught)[0] == "InvalidParameterException"
    settings = ecs.describe_clusters(clusters=["c1"], include=["SETTINGS"])["clusters"][0]["settings"]
    assert settings == [{"name": "containerInsights", "value": "disabled"}]


# DeleteCluster ---------------------------------------------------------------------------------


def test_delete_cluster_makes_it_inactive_but_describable(ecs: Any) -> None:
    ecs.create_cluster(clusterName="c1", tags=[{"key": "a", "value": "b"}])
    deleted = ecs.delete_cluster(cluster="c1")["cluster"]
    assert deleted["status"] == "INACTIVE"
    assert deleted["clusterArn"] == ARN + "c1"
    described = ecs.describe_clusters(clusters=["c1"])["clusters"]
    assert described[0]["status"] == "INACTIVE"
    assert ecs.list_clusters()["clusterArns"] == []
    with pytest.raises(ClientError) as caught:
        ecs.delete_cluster(cluster="c1")
    assert error(caught) == ("ClusterNotFoundException", "Cluster not found.")


def test_delete_missing_cluster(ecs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        ecs.delete_cluster(cluster="nope")
    assert error(caught) == ("ClusterNotFoundException", "Cluster not found.")


def test_delete_cluster_with_container_instances(ecs: Any) -> None:
    ecs.create_cluster(clusterName="c1")
    instance = register(ecs, "c1")
    with pytest.raises(ClientError) as caught:
        ecs.delete_cluster(cluster="c1")
    assert error(caught) == (
        "ClusterContainsContainerInstancesException",
        "The Cluster cannot be deleted while Container Instances are active or draining.",
    )
    ecs.update_container_instances_state(
        cluster="c1", containerInstances=[instance["containerInstanceArn"]], status="DRAINING"
    )
    with pytest.raises(ClientError) as caught:
        ecs.delete_cluster(cluster="c1")
    assert error(caught)[0] == "ClusterContainsContainerInstancesException"
    ecs.deregister_container_instance(cluster="c1", containerInstance=instance["containerInstanceArn"])
    assert ecs.delete_cluster(cluster="c1")["cluster"]["status"] == "INACTIVE"


def test_delete_cluster_with_services(ecs: Any, server: ThreadedServer) -> None:
    ecs.create_cluster(clusterName="c1")
    seed_service(server, "c1", "web", status="DRAINING")
    with pytest.raises(ClientError) as caught:
        ecs.delete_cluster(cluster="c1")
    assert error(caught) == (
        "ClusterContainsServicesException",
        "The Cluster cannot be deleted while Services are active.",
    )
    seed_service(server, "c1", "web", status="INACTIVE")
    assert ecs.delete_cluster(cluster="c1")["cluster"]["status"] == "INACTIVE"


def test_delete_cluster_with_tasks(ecs: Any) -> None:
    from tests.api.task_helpers import fargate_td, network

    ecs.create_cluster(clusterName="c1")
    fargate_td(ecs)
    response = ecs.run_task(
        cluster="c1", taskDefinition="web", launchType="FARGATE", networkConfiguration=network()
    )
    task = response["tasks"][0]["taskArn"]
    with pytest.raises(ClientError) as caught:
        ecs.delete_cluster(cluster="c1")
    assert error(caught) == (
        "ClusterContainsTasksException",
        "The Cluster cannot be deleted while Tasks are active.",
    )
    ecs.submit_task_state_change(cluster="c1", task=task, status="STOPPED", reason="done")
    assert ecs.delete_cluster(cluster="c1")["cluster"]["status"] == "INACTIVE"


def test_force_deregistration_stops_the_instances_tasks(ecs: Any) -> None:
    import time

    ecs.create_cluster(clusterName="c1")
    instance = register(ecs, "c1")
    task = run_task(ecs, "c1", instance["containerInstanceArn"])
    ecs.deregister_container_instance(
        cluster="c1", containerInstance=instance["containerInstanceArn"], force=True
    )
    deadline = time.monotonic() + 5
    described: dict[str, Any] = {}
    while time.monotonic() < deadline:
        described = ecs.describe_tasks(cluster="c1", tasks=[task])["tasks"][0]
        if described["lastStatus"] == "STOPPED":
            break
        time.sleep(0.02)
    assert described["lastStatus"] == "STOPPED"
    assert described["stopCode"] == "TerminationNotice"
    assert ecs.delete_cluster(cluster="c1")["cluster"]["status"] == "INACTIVE"
