"""ListServiceDeployments, DescribeServiceDeployments and DescribeServiceRevisions: the 2024
service history API, as boto3 sees it."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.service_helpers import eventually
from tests.api.task_helpers import fargate_td, network

PREFIX = "arn:aws:ecs:us-east-1:123456789012:"


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


@pytest.fixture
def web(ecs: Any) -> Any:
    ecs.create_cluster()
    fargate_td(ecs)
    ecs.create_service(
        serviceName="web",
        taskDefinition="web",
        desiredCount=0,
        launchType="FARGATE",
        networkConfiguration=network(),
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    return ecs


def test_history_of_a_service(web: Any) -> None:
    eventually(
        lambda: web.list_service_deployments(service="web")["serviceDeployments"][0]["status"] == "SUCCESSFUL"
    )
    web.register_task_definition(
        family="web",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "other"}],
    )
    web.update_service(service="web", taskDefinition="web")
    briefs = eventually(
        lambda: [b for b in web.list_service_deployments(service="web")["serviceDeployments"]]
    )
    assert len(briefs) == 2
    newest, oldest = briefs
    assert newest["createdAt"] >= oldest["createdAt"]
    assert newest["serviceArn"] == PREFIX + "service/default/web"
    assert newest["targetServiceRevisionArn"].startswith(PREFIX + "service-revision/default/web/")
    assert newest["serviceDeploymentArn"].startswith(PREFIX + "service-deployment/default/web/")
    eventually(
        lambda: (
            web.list_service_deployments(service="web", status=["SUCCESSFUL"])["serviceDeployments"].__len__()
            == 2
        )
    )
    described = web.describe_service_deployments(
        serviceDeploymentArns=[newest["serviceDeploymentArn"], PREFIX + "service-deployment/default/web/nope"]
    )
    (deployment,) = described["serviceDeployments"]
    assert described["failures"] == [
        {"arn": PREFIX + "service-deployment/default/web/nope", "reason": "MISSING"}
    ]
    assert deployment["status"] == "SUCCESSFUL" and "finishedAt" in deployment
    assert deployment["deploymentCircuitBreaker"] == {
        "status": "MONITORING_COMPLETE",
        "failureCount": 0,
        "threshold": 3,
    }
    assert deployment["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True,
        "rollback": True,
    }
    assert [s["arn"] for s in deployment["sourceServiceRevisions"]] == [oldest["targetServiceRevisionArn"]]
    revisions = web.describe_service_revisions(
        serviceRevisionArns=[newest["targetServiceRevisionArn"], oldest["targetServiceRevisionArn"]]
    )
    assert revisions["failures"] == []
    new, old = revisions["serviceRevisions"]
    assert new["taskDefinition"].endswith("web:2") and old["taskDefinition"].endswith("web:1")
    assert new["containerImages"][0] == {"containerName": "app", "image": "other"}
    assert new["launchType"] == "FARGATE" and new["platformVersion"] == "LATEST"
    assert new["networkConfiguration"] == network()
    service = web.describe_services(services=["web"])["services"][0]
    assert service["currentServiceDeployment"] == newest["serviceDeploymentArn"]
    assert [r["arn"] for r in service["currentServiceRevisions"]] == [newest["targetServiceRevisionArn"]]


def test_filters_and_pages(web: Any) -> None:
    for _ in range(3):
        web.update_service(service="web", forceNewDeployment=True)
    everything = web.list_service_deployments(service="web")["serviceDeployments"]
    assert len(everything) == 4
    page = web.list_service_deployments(service="web", maxResults=3)
    rest = web.list_service_deployments(service="web", nextToken=page["nextToken"])
    assert [b["serviceDeploymentArn"] for b in page["serviceDeployments"] + rest["serviceDeployments"]] == [
        b["serviceDeploymentArn"] for b in everything
    ]
    stopped = web.list_service_deployments(service="web", status=["STOPPED"])["serviceDeployments"]
    assert all(b["status"] == "STOPPED" for b in stopped)
    later = everything[0]["createdAt"] + datetime.timedelta(seconds=2)
    earlier = everything[-1]["createdAt"] - datetime.timedelta(seconds=2)
    assert web.list_service_deployments(service="web", createdAt={"after": later})["serviceDeployments"] == []
    assert (
        len(web.list_service_deployments(service="web", createdAt={"before": later})["serviceDeployments"])
        == 4
    )
    assert (
        web.list_service_deployments(service="web", createdAt={"before": earlier})["serviceDeployments"] == []
    )


def test_errors(web: Any) -> None:
    with pytest.raises(ClientError) as caught:
        web.list_service_deployments(service="nope")
    assert error(caught) == ("ServiceNotFoundException", "Service not found.")
    with pytest.raises(ClientError) as caught:
        web.list_service_deployments(service="web", cluster="nope")
    assert error(caught)[0] == "ClusterNotFoundException"
    with pytest.raises(ClientError) as caught:
        web.list_service_deployments(service="web", maxResults=101)
    assert error(caught)[0] == "InvalidParameterException"
    for call, field in (
        (web.describe_service_deployments, "serviceDeploymentArns"),
        (web.describe_service_revisions, "serviceRevisionArns"),
    ):
        with pytest.raises(ClientError) as caught:
            call(**{field: []})
        assert error(caught)[0] == "InvalidParameterException"
        with pytest.raises(ClientError) as caught:
            call(**{field: ["x"] * 21})
        assert error(caught)[0] == "InvalidParameterException"
        assert call(**{field: ["not-an-arn"]})["failures"] == [{"arn": "not-an-arn", "reason": "MISSING"}]
