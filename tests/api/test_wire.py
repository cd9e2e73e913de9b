"""The AWS wire layer as raw HTTP clients meet it: routing, validation, errors, request ids, reset."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from dockyard.testing.server import ThreadedServer

TARGET = "AmazonEC2ContainerServiceV20141113"


def call(
    server: ThreadedServer,
    body: bytes | str,
    *,
    target: str | None = "ListClusters",
    content_type: str = "application/x-amz-json-1.1",
) -> tuple[int, dict[str, str], Any]:
    headers = {"Content-Type": content_type}
    if target is not None:
        headers["X-Amz-Target"] = f"{TARGET}.{target}" if "." not in target else target
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(server.endpoint + "/", data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, dict(exc.headers), json.loads(raw) if raw.startswith(b"{") else raw


def test_success_carries_a_request_id_and_json_content_type(server: ThreadedServer) -> None:
    status, headers, body = call(server, "{}")
    assert status == 200
    assert body == {"clusterArns": []}
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert len(headers["x-amzn-RequestId"]) == 36


def test_malformed_json_is_a_serialization_exception(server: ThreadedServer) -> None:
    status, headers, body = call(server, "{not json")
    assert status == 400
    assert body["__type"] == "SerializationException"
    assert "x-amzn-RequestId" in headers


def test_a_json_document_that_is_not_an_object(server: ThreadedServer) -> None:
    status, _, body = call(server, "[1, 2]")
    assert status == 400 and body["__type"] == "SerializationException"


def test_empty_body_means_no_parameters(server: ThreadedServer) -> None:
    status, _, body = call(server, b"")
    assert status == 200 and body == {"clusterArns": []}


@pytest.mark.parametrize(
    ("target", "payload", "message"),
    [
        ("ListClusters", {"maxResults": "ten"}, "STRING_VALUE can not be converted to an Integer"),
        ("CreateCluster", {"clusterName": 5}, "NUMBER_VALUE can not be converted to a String"),
        ("CreateCluster", {"tags": {"key": "a"}}, "Start of structure or map found where not expected"),
        (
            "RunTask",
            {"taskDefinition": "x", "enableExecuteCommand": "yes"},
            "STRING_VALUE can not be converted to a Boolean",
        ),
        ("RunTask", {"taskDefinition": ["x"]}, "Start of list found where not expected"),
    ],
)
def test_wrong_types_are_serialization_exceptions(
    server: ThreadedServer, target: str, payload: dict[str, Any], message: str
) -> None:
    status, _, body = call(server, json.dumps(payload), target=target)
    assert status == 400
    assert body == {"__type": "SerializationException", "message": message}


def test_missing_required_members_and_bad_enums_are_validation_errors(server: ThreadedServer) -> None:
    status, _, body = call(server, json.dumps({"launchType": "MAINFRAME", "count": 1}), target="RunTask")
    assert status == 400
    assert body["__type"] == "ValidationException"
    assert body["message"] == (
        "2 validation errors detected: Value null at 'taskDefinition' failed to satisfy constraint: "
        "Member must not be null; Value 'MAINFRAME' at 'launchType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]"
    )


def test_nested_validation_paths(server: ThreadedServer) -> None:
    payload = {"family": "f", "containerDefinitions": [{"name": "a", "portMappings": [{"protocol": "sctp"}]}]}
    status, _, body = call(server, json.dumps(payload), target="RegisterTaskDefinition")
    assert status == 400
    assert "at 'containerDefinitions.1.member.portMappings.1.member.protocol'" in body["message"]
    assert "Member must satisfy enum value set: [tcp, udp]" in body["message"]


def test_unknown_members_are_ignored(server: ThreadedServer) -> None:
    status, _, body = call(server, json.dumps({"clusterName": "x", "surprise": True}), target="CreateCluster")
    assert status == 200
    assert body["cluster"]["clusterName"] == "x"
    assert "surprise" not in json.dumps(body)


def test_unknown_operation_and_unknown_service(server: ThreadedServer) -> None:
    status, _, body = call(server, "{}", target="LaunchRockets")
    assert status == 400 and body["__type"] == "UnknownOperationException"
    status, _, body = call(server, "{}", target="NoSuchService_2020.Op")
    assert status == 400 and body["__type"] == "UnknownOperationException"


def test_a_modelled_operation_dockyard_does_not_serve(server: ThreadedServer) -> None:
    status, _, body = call(
        server,
        json.dumps({"cluster": "x", "task": "t", "container": "c", "interactive": True, "command": "sh"}),
        target="ExecuteCommand",
    )
    assert status == 400
    assert body["__type"] == "UnknownOperationException"
    assert "ExecuteCommand" in body["message"]


def test_oversized_bodies_are_refused(server: ThreadedServer) -> None:
    huge = json.dumps({"clusterName": "x" * (33 * 1024 * 1024)})  # over the 32 MiB request limit
    status, _, _ = call(server, huge, target="CreateCluster")
    assert status == 413


def test_region_comes_from_the_credential_scope(server: ThreadedServer) -> None:
    from tests.conftest import make_client

    west = make_client(server.endpoint, "ecs", region="eu-west-1")
    arn = west.create_cluster(clusterName="regional")["cluster"]["clusterArn"]
    assert arn == "arn:aws:ecs:eu-west-1:123456789012:cluster/regional"
    east = make_client(server.endpoint, "ecs")
    assert east.list_clusters()["clusterArns"] == []


def test_reset_endpoints_wipe_state(server: ThreadedServer) -> None:
    from tests.conftest import make_client

    ecs = make_client(server.endpoint, "ecs")
    for path in ("/_dockyard/reset", "/moto-api/reset"):
        ecs.create_cluster(clusterName="temp")
        request = urllib.request.Request(server.endpoint + path, data=b"", method="POST")
        with urllib.request.urlopen(request) as response:
            assert response.status == 200
        assert ecs.list_clusters()["clusterArns"] == []


def test_health(server: ThreadedServer) -> None:
    with urllib.request.urlopen(server.endpoint + "/health") as response:
        assert json.loads(response.read())["status"] == "ok"
