"""`POST /_dockyard/placement/explain`: RunTask's placement reasoning, asked for without placing.

Instances register as the agent does; the explanation is compared with what RunTask then does,
and every bad request gets the error RunTask gives for it (code and message).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.agent.identity import registration_attributes
from dockyard.testing.server import ThreadedServer
from tests.api.instance_helpers import RESOURCES, identity, register
from tests.api.task_helpers import bridge_td, fargate_td, network

DISTINCT = "DistinctInstance placement constraint unsatisfied."
BINPACK = [{"type": "binpack", "field": "memory"}]


def instance(ecs: Any, number: int, *, memory: int, zone: str, custom: dict[str, str] | None = None) -> str:
    resources = [dict(r) for r in RESOURCES]
    resources[1]["integerValue"] = memory
    found = register(
        ecs,
        instanceIdentityDocument=identity(
            f"i-{number:017x}", availabilityZone=zone, privateIp=f"127.0.0.{number + 1}"
        ),
        attributes=registration_attributes(
            instance_type=None,
            zone=None,
            external=False,
            log_drivers=("json-file",),
            custom=custom or {},
        ),
        totalResources=resources,
    )
    return str(found["containerInstanceArn"])


def explain(server: ThreadedServer, body: Any, **query: str) -> tuple[int, dict[str, Any]]:
    url = f"{server.endpoint}/_dockyard/placement/explain"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, method="POST", data=data)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def entry(copy: dict[str, Any], arn: str) -> dict[str, Any]:
    return next(i for i in copy["instances"] if i["containerInstanceArn"] == arn)


def check(item: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in item["checks"] if c["check"] == name)


def remaining_memory(ecs: Any, arn: str) -> int:
    found = ecs.describe_container_instances(containerInstances=[arn])["containerInstances"][0]
    return int(next(r["integerValue"] for r in found["remainingResources"] if r["name"] == "MEMORY"))


@pytest.fixture
def three(ecs: Any) -> tuple[str, str, str]:
    """Instances with 3767, 1000 and 2000 MiB in zones a, b and c."""
    ecs.create_cluster()
    return (
        instance(ecs, 1, memory=3767, zone="us-east-1a"),
        instance(ecs, 2, memory=1000, zone="us-east-1b"),
        instance(ecs, 3, memory=2000, zone="us-east-1c", custom={"tier": "edge"}),
    )


def test_every_instance_every_check_and_the_choice(
    server: ThreadedServer, ecs: Any, three: tuple[str, str, str]
) -> None:
    big, tight, mid = three
    td = bridge_td(ecs, "api", memory=512, cpu=128)
    status, report = explain(server, {"taskDefinition": "api", "count": 2, "placementStrategy": BINPACK})
    assert status == 200, report
    assert report["taskDefinition"] == td and report["launchType"] == "EC2" and report["count"] == 2
    assert report["group"] == "family:api" and report["strategies"] == ["binpack(memory)"]
    assert report["demand"]["memory"] == 512 and report["demand"]["cpu"] == 128
    first, second = report["copies"]
    assert (first["choice"], second["choice"]) == (tight, mid)
    assert first["candidates"] == 3 and first["feasible"] == 3 and first["best"] == [tight]
    chosen = entry(first, tight)
    assert chosen["feasible"] and chosen["rank"] == [{"strategy": "binpack(memory)", "key": 1000}]
    assert chosen["availabilityZone"] == "us-east-1b" and chosen["ec2InstanceId"] == f"i-{2:017x}"
    assert chosen["remaining"] == {"cpu": 2048, "memory": 1000}
    assert {c["check"] for c in chosen["checks"]} >= {"status", "agent", "cpu", "memory", "distinctInstance"}
    assert all(c["passed"] for c in chosen["checks"])
    # the second copy sees the first: the tight instance now has 488 MiB left
    full = entry(second, tight)
    assert not full["feasible"] and full["failedCheck"] == "memory" and full["reason"] == "RESOURCE:MEMORY"
    assert check(full, "memory") == {
        "check": "memory",
        "passed": False,
        "reason": "RESOURCE:MEMORY",
        "detail": {"required": 512, "remaining": 488},
    }
    assert entry(second, big)["rank"] == [{"strategy": "binpack(memory)", "key": 3767}]
    assert report["failures"] == []
    # nothing was placed or reserved ...
    assert ecs.list_tasks()["taskArns"] == []
    assert remaining_memory(ecs, tight) == 1000
    # ... and RunTask does what the explanation said
    placed = ecs.run_task(taskDefinition="api", count=2, placementStrategy=BINPACK)["tasks"]
    assert [t["containerInstanceArn"] for t in placed] == [tight, mid]


def test_what_fits_nowhere_names_the_closest_instance(
    server: ThreadedServer, ecs: Any, three: tuple[str, str, str]
) -> None:
    big, tight, mid = three
    bridge_td(ecs, "huge", memory=5000)
    status, report = explain(server, {"taskDefinition": "huge"})
    assert status == 200
    (copy,) = report["copies"]
    assert copy["choice"] is None and copy["feasible"] == 0 and copy["best"] == []
    assert copy["outcome"] == {
        "placeable": False,
        "reason": "RESOURCE:MEMORY",
        "closest": big,
        "filtered": {"memory": 3},
    }
    assert check(entry(copy, tight), "memory")["detail"] == {"required": 5000, "remaining": 1000}
    assert (
        report["failures"]
        == ecs.run_task(taskDefinition="huge")["failures"]
        == [{"arn": big, "reason": "RESOURCE:MEMORY"}]
    )


def test_constraints_distinct_instance_and_member_of(
    server: ThreadedServer, ecs: Any, three: tuple[str, str, str]
) -> None:
    big, tight, mid = three
    bridge_td(ecs, "api", memory=64)
    distinct = [{"type": "distinctInstance"}]
    _, report = explain(server, {"taskDefinition": "api", "count": 4, "placementConstraints": distinct})
    choices = [c["choice"] for c in report["copies"]]
    assert sorted(choices[:3]) == sorted(three) and choices[3] is None
    fourth = report["copies"][3]
    assert {i["reason"] for i in fourth["instances"]} == {DISTINCT}
    assert check(entry(fourth, big), "distinctInstance")["detail"] == {
        "group": "family:api",
        "tasksOfGroup": 1,
    }
    (failure,) = report["failures"]
    assert failure["reason"] == DISTINCT and failure["arn"] in three

    member_of = [{"type": "memberOf", "expression": "attribute:tier == edge"}]
    _, report = explain(server, {"taskDefinition": "api", "count": 2, "placementConstraints": member_of})
    assert [c["choice"] for c in report["copies"]] == [mid, mid]
    unmatched = check(entry(report["copies"][0], big), "memberOf")
    assert unmatched["reason"] == "MemberOf placement constraint unsatisfied."
    assert unmatched["detail"] == {"unsatisfied": ["attribute:tier == edge"]}
    assert report["demand"]["placementConstraints"] == member_of


def test_spread_keys_count_the_group_per_zone(
    server: ThreadedServer, ecs: Any, three: tuple[str, str, str]
) -> None:
    bridge_td(ecs, "api", memory=64)
    spread = [{"type": "spread", "field": "attribute:ecs.availability-zone"}]
    _, report = explain(server, {"taskDefinition": "api", "count": 3, "placementStrategy": spread})
    assert sorted(c["choice"] for c in report["copies"]) == sorted(three)
    last = report["copies"][2]
    keys = sorted(i["rank"][0]["key"] for i in last["instances"])
    assert keys == [0, 1, 1]  # two zones have one task of the group already


def test_no_instances_is_what_run_task_refuses(server: ThreadedServer, ecs: Any) -> None:
    ecs.create_cluster(clusterName="empty")
    bridge_td(ecs, "api")
    _, report = explain(server, {"cluster": "empty", "taskDefinition": "api"})
    message = "No Container Instances were found in your cluster."
    assert report["runTaskError"] == {"code": "InvalidParameterException", "message": message}
    assert report["copies"][0]["outcome"]["reason"] == message and report["failures"] == []
    with pytest.raises(ClientError) as caught:
        ecs.run_task(cluster="empty", taskDefinition="api")
    assert caught.value.response["Error"]["Message"] == message


def test_fargate_has_no_instance_placement(server: ThreadedServer, ecs: Any) -> None:
    ecs.create_cluster()
    fargate_td(ecs, "web")
    subnets = network()["awsvpcConfiguration"]["subnets"]
    status, report = explain(
        server, {"taskDefinition": "web", "launchType": "FARGATE", "networkConfiguration": network()}
    )
    assert status == 200
    assert report["launchType"] == "FARGATE" and report["copies"] == []
    assert report["fargate"]["subnets"] == subnets
    assert report["fargate"]["availabilityZones"] == ["us-east-1a"]


API = {"taskDefinition": "api"}
BAD_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("missing cluster", {**API, "cluster": "nope"}),
    ("unknown task definition", {"taskDefinition": "nope"}),
    ("count above 10", {**API, "count": 11}),
    ("bad strategy field", {**API, "placementStrategy": [{"type": "binpack", "field": "x"}]}),
    ("bad constraint", {**API, "placementConstraints": [{"type": "memberOf"}]}),
    ("bad expression", {**API, "placementConstraints": [{"type": "memberOf", "expression": "x =="}]}),
    ("bad launch type", {**API, "launchType": "MOON"}),
    ("fargate constraints", {"taskDefinition": "web", "launchType": "FARGATE",
                             "networkConfiguration": network(),
                             "placementConstraints": [{"type": "distinctInstance"}]}),
    ("network for bridge", {**API, "networkConfiguration": network()}),
    ("override of no container", {**API, "overrides": {"containerOverrides": [{"name": "x"}]}}),
]  # fmt: skip


@pytest.mark.parametrize("name, body", BAD_REQUESTS, ids=[name for name, _ in BAD_REQUESTS])
def test_bad_requests_get_run_tasks_errors(
    server: ThreadedServer, ecs: Any, three: tuple[str, str, str], name: str, body: dict[str, Any]
) -> None:
    bridge_td(ecs, "api")
    fargate_td(ecs, "web")
    status, answer = explain(server, body)
    with pytest.raises(ClientError) as caught:
        ecs.run_task(**body)
    error = caught.value.response
    assert status == error["ResponseMetadata"]["HTTPStatusCode"]
    assert (answer["__type"], answer["message"]) == (error["Error"]["Code"], error["Error"]["Message"])
    assert ecs.list_tasks()["taskArns"] == []


def test_malformed_input(server: ThreadedServer, ecs: Any) -> None:
    status, answer = explain(server, b"{not json")
    assert (status, answer["__type"]) == (400, "SerializationException")
    status, answer = explain(server, {"count": 1})
    assert status == 400 and answer["__type"] == "ValidationException"
    assert "Value null at 'taskDefinition' failed to satisfy constraint" in answer["message"]
    status, answer = explain(server, {"taskDefinition": "api", "count": "two"})
    assert status == 400 and answer["__type"] == "SerializationException"


def test_the_region_comes_from_the_query(
    server: ThreadedServer, ecs: Any, three: tuple[str, str, str]
) -> None:
    bridge_td(ecs, "api")
    status, answer = explain(server, {"taskDefinition": "api"}, region="eu-west-1")
    assert (status, answer["__type"], answer["message"]) == (
        400,
        "ClusterNotFoundException",
        "Cluster not found.",
    )
    assert explain(server, {"taskDefinition": "api"}, region="us-east-1")[0] == 200
