"""The task metadata endpoint against a fake MetadataSource, through aiohttp's test client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from dockyard.agent.metadata import (
    ContainerView,
    HealthView,
    NetworkView,
    PortView,
    TagsError,
    TaskView,
    VolumeView,
    awsvpc_network_view,
    metadata_app,
    render_container,
    render_task,
    rfc3339,
)
from dockyard.agent.plan import NetworkAttachment

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/prod/0f3c5a1b2c3d4e5f60718293a4b5c6d7"
INSTANCE_ARN = "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/abc"
CREATED, STARTED = 1601597707.620912, 1601597708.0625

WEB = ContainerView(
    docker_id="d0c1",
    name="web",
    docker_name="ecs-web-3-web-aaaaaaaaaaaaaaaaaaaa",
    image="nginx:1.25",
    image_id="sha256:abc",
    container_arn="arn:aws:ecs:us-east-1:123456789012:container/prod/0f3c/1111",
    ports=(PortView(80, "tcp", 32768, "127.0.0.5"),),
    labels={"com.amazonaws.ecs.container-name": "web"},
    desired_status="RUNNING",
    known_status="RUNNING",
    cpu=0,
    memory=256,
    created_at=CREATED,
    started_at=STARTED,
    networks=(NetworkView("bridge", ("172.17.0.2",)),),
    health=HealthView("HEALTHY", since=STARTED, exit_code=0, output=""),
    volumes=(VolumeView(source="/data", destination="/srv"),),
    log_driver="json-file",
    log_options={"max-size": "10m"},
)
SIDECAR = ContainerView(
    docker_id="d0c2",
    name="sidecar",
    docker_name="ecs-web-3-sidecar-bbbbbbbbbbbbbbbbbbbb",
    image="busybox",
    desired_status="STOPPED",
    known_status="STOPPED",
    exit_code=0,
    cpu=128,
    finished_at=STARTED + 10,
)
PENDING = ContainerView(docker_id="", name="late", docker_name="ecs-web-3-late-c", image="busybox")
TASK = TaskView(
    cluster="prod",
    task_arn=TASK_ARN,
    family="web",
    revision=3,
    desired_status="RUNNING",
    known_status="RUNNING",
    containers=(WEB, SIDECAR, PENDING),
    cpu=0.25,
    memory=512,
    pull_started_at=CREATED - 5,
    pull_stopped_at=CREATED - 1,
    availability_zone="us-east-1a",
    launch_type="EC2",
    container_instance_arn=INSTANCE_ARN,
)
ATTACHMENT = NetworkAttachment(
    private_ipv4_address="172.31.3.17",
    subnet_cidr="172.31.0.0/20",
    gateway="172.31.0.1",
    mac_address="0a:58:ac:1f:03:11",
    private_dns_name="ip-172-31-3-17.ec2.internal",
    vpc_id="vpc-1",
)
FARGATE_APP = ContainerView(
    docker_id="0f3c5a1b2c3d4e5f60718293a4b5c6d7-1234567890",
    name="app",
    docker_name="app",
    image="app:1",
    known_status="RUNNING",
    cpu=256,
    memory=512,
    ports=(PortView(8080, "tcp", 8080),),
    networks=(awsvpc_network_view(ATTACHMENT),),
)
FARGATE_TASK = TaskView(
    cluster="arn:aws:ecs:us-east-1:123456789012:cluster/prod",
    task_arn=TASK_ARN,
    family="app",
    revision="7",
    desired_status="RUNNING",
    known_status="RUNNING",
    containers=(FARGATE_APP,),
    cpu=1.0,
    memory=2048,
    launch_type="FARGATE",
    vpc_id="vpc-1",
    service_name="api",
    ephemeral_storage_utilized=30,
    ephemeral_storage_reserved=20496,
)
STATS = {"read": "2020-10-02T00:15:09Z", "id": "d0c1", "network_rate_stats": {"rx_bytes_per_sec": 1.5}}


class FakeSource:
    def __init__(self) -> None:
        self.endpoints: dict[str, tuple[TaskView, ContainerView]] = {
            "eid-web": (TASK, WEB),
            "eid-side": (TASK, SIDECAR),
            "eid-fargate": (FARGATE_TASK, FARGATE_APP),
            "eid-late": (TASK, PENDING),
        }
        self.stats_by_id: dict[str, Mapping[str, Any]] = {"d0c1": STATS}
        self.tags: dict[str, Mapping[str, str] | TagsError] = {
            TASK_ARN: {"team": "payments"},
            INSTANCE_ARN: {"rack": "r1"},
        }

    async def lookup(self, endpoint_id: str) -> tuple[TaskView, ContainerView] | None:
        return self.endpoints.get(endpoint_id)

    async def stats(self, docker_id: str) -> Mapping[str, Any] | None:
        return self.stats_by_id.get(docker_id)

    async def resource_tags(self, resource_arn: str) -> Mapping[str, str]:
        found = self.tags[resource_arn]
        if isinstance(found, TagsError):
            raise found
        return found


@pytest.fixture
def source() -> FakeSource:
    return FakeSource()


@pytest.fixture
async def client(source: FakeSource) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(metadata_app(source))) as test_client:
        yield test_client


async def get(client: TestClient[Any, Any], path: str) -> tuple[int, Any]:
    response = await client.get(path)
    assert response.headers["Content-Type"].startswith("application/json")
    return response.status, await response.json()


# -- documents ----------------------------------------------------------------------------------------


async def test_v4_container(client: TestClient[Any, Any]) -> None:
    status, doc = await get(client, "/v4/eid-web")
    assert status == 200
    assert doc == {
        "DockerId": "d0c1",
        "Name": "web",
        "DockerName": "ecs-web-3-web-aaaaaaaaaaaaaaaaaaaa",
        "Image": "nginx:1.25",
        "ImageID": "sha256:abc",
        "Ports": [{"ContainerPort": 80, "Protocol": "tcp", "HostPort": 32768, "HostIp": "127.0.0.5"}],
        "Labels": {"com.amazonaws.ecs.container-name": "web"},
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Limits": {"CPU": 2, "Memory": 256},
        "CreatedAt": "2020-10-02T00:15:07.620912Z",
        "StartedAt": "2020-10-02T00:15:08.0625Z",
        "Type": "NORMAL",
        "Health": {"status": "HEALTHY", "statusSince": "2020-10-02T00:15:08.0625Z"},
        "Volumes": [{"Source": "/data", "Destination": "/srv"}],
        "LogDriver": "json-file",
        "LogOptions": {"max-size": "10m"},
        "ContainerARN": "arn:aws:ecs:us-east-1:123456789012:container/prod/0f3c/1111",
        "Networks": [{"NetworkMode": "bridge", "IPv4Addresses": ["172.17.0.2"]}],
    }


async def test_v3_container_has_no_v4_fields(client: TestClient[Any, Any]) -> None:
    status, doc = await get(client, "/v3/eid-web")
    assert status == 200
    assert doc["Ports"] == [{"ContainerPort": 80, "Protocol": "tcp", "HostPort": 32768}]
    assert doc["Networks"] == [{"NetworkMode": "bridge", "IPv4Addresses": ["172.17.0.2"]}]
    for key in ("ContainerARN", "LogDriver", "LogOptions"):
        assert key not in doc


async def test_stopped_container_shows_exit_code_zero(client: TestClient[Any, Any]) -> None:
    _, doc = await get(client, "/v4/eid-side")
    assert doc["ExitCode"] == 0 and doc["KnownStatus"] == "STOPPED"
    assert doc["FinishedAt"] == "2020-10-02T00:15:18.0625Z"
    assert doc["Limits"] == {"CPU": 128, "Memory": 0}
    for key in ("Ports", "Labels", "Health", "CreatedAt", "StartedAt", "Networks", "ContainerARN"):
        assert key not in doc
    assert doc["ImageID"] == ""  # always present, as in the agent


async def test_v4_task_ec2(client: TestClient[Any, Any]) -> None:
    status, doc = await get(client, "/v4/eid-side/task")
    assert status == 200
    assert [c["Name"] for c in doc.pop("Containers")] == ["web", "sidecar", "late"]
    assert doc == {
        "Cluster": "prod",
        "TaskARN": TASK_ARN,
        "Family": "web",
        "Revision": "3",
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Limits": {"CPU": 0.25, "Memory": 512},
        "PullStartedAt": "2020-10-02T00:15:02.620912Z",
        "PullStoppedAt": "2020-10-02T00:15:06.620912Z",
        "AvailabilityZone": "us-east-1a",
        "LaunchType": "EC2",
        "FaultInjectionEnabled": False,
    }


async def test_v4_task_fargate_awsvpc(client: TestClient[Any, Any]) -> None:
    _, doc = await get(client, "/v4/eid-fargate/task")
    assert doc["Cluster"] == "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
    assert doc["Revision"] == "7" and doc["Limits"] == {"CPU": 1, "Memory": 2048}
    assert (doc["VPCID"], doc["ServiceName"]) == ("vpc-1", "api")
    assert doc["EphemeralStorageMetrics"] == {"Utilized": 30, "Reserved": 20496}
    (app,) = doc["Containers"]
    assert app["Ports"] == [{"ContainerPort": 8080, "Protocol": "tcp", "HostPort": 8080}]
    assert app["Networks"] == [
        {
            "NetworkMode": "awsvpc",
            "IPv4Addresses": ["172.31.3.17"],
            "AttachmentIndex": 0,
            "MACAddress": "0a:58:ac:1f:03:11",
            "IPv4SubnetCIDRBlock": "172.31.0.0/20",
            "PrivateDNSName": "ip-172-31-3-17.ec2.internal",
            "SubnetGatewayIpv4Address": "172.31.0.1/20",
        }
    ]
    _, v3 = await get(client, "/v3/eid-fargate/task")
    assert v3["Containers"][0]["Networks"] == [{"NetworkMode": "awsvpc", "IPv4Addresses": ["172.31.3.17"]}]
    for key in ("LaunchType", "VPCID", "ServiceName", "EphemeralStorageMetrics", "FaultInjectionEnabled"):
        assert key not in v3


async def test_task_with_tags(client: TestClient[Any, Any]) -> None:
    _, doc = await get(client, "/v4/eid-web/taskWithTags")
    assert doc["TaskTags"] == {"team": "payments"}
    assert doc["ContainerInstanceTags"] == {"rack": "r1"}
    assert "Errors" not in doc
    _, fargate = await get(client, "/v4/eid-fargate/task")
    assert "TaskTags" not in fargate


async def test_task_with_tags_errors(client: TestClient[Any, Any], source: FakeSource) -> None:
    source.tags[INSTANCE_ARN] = TagsError(
        "User is not authorized", code="AccessDeniedException", status_code=400, request_id="req-1"
    )
    _, doc = await get(client, "/v4/eid-web/taskWithTags")
    assert "ContainerInstanceTags" not in doc and doc["TaskTags"] == {"team": "payments"}
    assert doc["Errors"] == [
        {
            "ErrorField": "ContainerInstanceTags",
            "ErrorCode": "AccessDeniedException",
            "ErrorMessage": "User is not authorized",
            "StatusCode": 400,
            "RequestId": "req-1",
            "ResourceARN": INSTANCE_ARN,
        }
    ]
    _, v3 = await get(client, "/v3/eid-web/taskWithTags")
    assert "Errors" not in v3 and v3["TaskTags"] == {"team": "payments"}


async def test_fargate_task_with_tags_has_no_instance_tags(
    client: TestClient[Any, Any], source: FakeSource
) -> None:
    source.tags[TASK_ARN] = {}
    _, doc = await get(client, "/v4/eid-fargate/taskWithTags")
    assert doc["TaskTags"] == {} and "ContainerInstanceTags" not in doc


# -- stats ---------------------------------------------------------------------------------------------


async def test_container_stats(client: TestClient[Any, Any]) -> None:
    assert await get(client, "/v4/eid-web/stats") == (200, STATS)
    status, v3 = await get(client, "/v3/eid-web/stats")
    assert status == 200 and "network_rate_stats" not in v3 and v3["id"] == "d0c1"
    assert await get(client, "/v4/eid-side/stats") == (500, "Unable to get container stats for: d0c2")


async def test_task_stats(client: TestClient[Any, Any]) -> None:
    status, doc = await get(client, "/v4/eid-late/task/stats")
    assert status == 200
    assert doc == {"d0c1": STATS, "d0c2": None}  # not-yet-created containers are left out


# -- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        (
            "/v4/nope",
            404,
            "V4 container metadata handler: unable to get container ID from request: "
            "unable to get docker ID from v3 endpoint ID: nope",
        ),
        (
            "/v4/nope/task",
            404,
            "V4 task metadata handler: unable to get task arn from request: "
            "unable to get task Arn from v3 endpoint ID: nope",
        ),
        (
            "/v4/nope/taskWithTags",
            404,
            "V4 task metadata handler: unable to get task arn from request: "
            "unable to get task Arn from v3 endpoint ID: nope",
        ),
        (
            "/v4/nope/stats",
            404,
            "V4 container stats handler: unable to get task arn from request: "
            "unable to get task Arn from v3 endpoint ID: nope",
        ),
        (
            "/v4/nope/task/stats",
            404,
            "V4 task stats handler: unable to get task arn from request: "
            "unable to get task Arn from v3 endpoint ID: nope",
        ),
        (
            "/v3/nope",
            500,
            "V3 container metadata handler: unable to get container ID from request: "
            "unable to get docker ID from v3 endpoint ID: nope",
        ),
        (
            "/v3/nope/task",
            500,
            "V3 task metadata handler: unable to get task arn from request: "
            "unable to get task Arn from v3 endpoint ID: nope",
        ),
        (
            "/v3/nope/stats",
            400,
            "V3 container stats handler: unable to get task arn from request: "
            "unable to get task Arn from v3 endpoint ID: nope",
        ),
        (
            "/v3/nope/task/stats",
            400,
            "V3 task stats handler: unable to get task arn from request: "
            "unable to get task Arn from v3 endpoint ID: nope",
        ),
    ],
)
async def test_unknown_endpoint_id(client: TestClient[Any, Any], path: str, status: int, body: str) -> None:
    assert await get(client, path) == (status, body)


# -- task protection (ECS_AGENT_URI) --------------------------------------------------------------------


async def protection(
    client: TestClient[Any, Any], method: str, path: str, data: str | None = None
) -> tuple[int, Any]:
    response = await client.request(method, path, data=data)
    return response.status, await response.json()


NO_CREDS = {
    "error": {
        "Arn": TASK_ARN,
        "Code": "AccessDeniedException",
        "Message": "Invalid Request: no task IAM role credentials available for task",
    }
}
NOT_FOUND = {
    "error": {"Code": "ResourceNotFoundException", "Message": "Failed to find a task for the request"}
}
BAD_REQUEST = {
    "error": {
        "Code": "InvalidParameterException",
        "Message": "UpdateTaskProtection: failed to decode request",
    }
}


@pytest.mark.parametrize(
    ("method", "eid", "data", "status", "body"),
    [
        ("GET", "eid-web", None, 403, NO_CREDS),
        ("GET", "nope", None, 404, NOT_FOUND),
        ("PUT", "eid-web", '{"ProtectionEnabled":true,"ExpiresInMinutes":60}', 403, NO_CREDS),
        ("PUT", "eid-web", '{"protectionEnabled":false}', 403, NO_CREDS),
        ("PUT", "nope", '{"ProtectionEnabled":true}', 404, NOT_FOUND),
        ("PUT", "eid-web", "not json", 400, BAD_REQUEST),
        ("PUT", "eid-web", "", 400, BAD_REQUEST),
        ("PUT", "eid-web", '{"ProtectionEnabled":true,"Extra":1}', 400, BAD_REQUEST),
        ("PUT", "eid-web", '{"ProtectionEnabled":"yes"}', 400, BAD_REQUEST),
        ("PUT", "nope", "not json", 400, BAD_REQUEST),  # decoded before the task is looked up
        (
            "PUT",
            "eid-web",
            '{"ExpiresInMinutes":60}',
            400,
            {
                "error": {
                    "Arn": TASK_ARN,
                    "Code": "InvalidParameterException",
                    "Message": "Invalid request: does not contain 'ProtectionEnabled' field",
                }
            },
        ),
    ],
)
async def test_task_protection(
    client: TestClient[Any, Any], method: str, eid: str, data: str | None, status: int, body: Any
) -> None:
    assert await protection(client, method, f"/api/{eid}/task-protection/v1/state", data) == (status, body)


# -- rendering helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1.5, "1970-01-01T00:00:01.5Z"),
        (1601597707.620912, "2020-10-02T00:15:07.620912Z"),
        (1700000000.0, "2023-11-14T22:13:20Z"),
        (1700000000.000001, "2023-11-14T22:13:20.000001Z"),
    ],
)
def test_rfc3339(epoch: float, text: str) -> None:
    assert rfc3339(epoch) == text


def test_task_without_limits_or_optional_fields() -> None:
    bare = TaskView(cluster="c", task_arn="a", family="f", revision=1, desired_status="", known_status="NONE")
    assert render_task(bare) == {
        "Cluster": "c",
        "TaskARN": "a",
        "Family": "f",
        "Revision": "1",
        "KnownStatus": "NONE",
        "FaultInjectionEnabled": False,
    }
    assert render_task(bare, version=3) == {
        "Cluster": "c",
        "TaskARN": "a",
        "Family": "f",
        "Revision": "1",
        "KnownStatus": "NONE",
    }


def test_health_with_failure_details() -> None:
    view = ContainerView(
        docker_id="x",
        name="n",
        docker_name="n",
        image="i",
        health=HealthView("UNHEALTHY", since=0.25, exit_code=1, output="boom"),
    )
    assert render_container(view)["Health"] == {
        "status": "UNHEALTHY",
        "statusSince": "1970-01-01T00:00:00.25Z",
        "exitCode": 1,
        "output": "boom",
    }
