"""Task definitions through boto3: register, describe, deregister, delete, list, families."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.aws.dispatch import RequestContext
from dockyard.core.clock import SystemClock
from dockyard.core.errors import AwsError
from dockyard.core.ids import RandomIds
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.task_definitions import (
    deregister_task_definition,
    register_task_definition,
    resolve_task_definition,
    task_resources,
)
from dockyard.store import SqliteStore

ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition"
APP = {"name": "app", "image": "nginx", "memory": 128}
PORT_80_TO_81 = {"containerPort": 80, "hostPort": 81}


def register(ecs: Any, family: str = "web", **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("containerDefinitions", [APP])
    return ecs.register_task_definition(family=family, **kwargs)  # type: ignore[no-any-return]


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_register_echoes_aws_defaults(ecs: Any) -> None:
    td = register(ecs, containerDefinitions=[{**APP, "portMappings": [{"containerPort": 80}]}])[
        "taskDefinition"
    ]
    assert td["taskDefinitionArn"] == f"{ARN}/web:1"
    assert (td["family"], td["revision"], td["status"]) == ("web", 1, "ACTIVE")
    assert td["containerDefinitions"] == [
        {
            "name": "app",
            "image": "nginx",
            "cpu": 0,
            "memory": 128,
            "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
            "essential": True,
            "environment": [],
            "mountPoints": [],
            "volumesFrom": [],
            "systemControls": [],
        }
    ]
    assert td["volumes"] == [] and td["placementConstraints"] == []
    assert td["compatibilities"] == ["EXTERNAL", "EC2"]
    assert "networkMode" not in td and "requiresAttributes" not in td
    assert td["registeredBy"] == "arn:aws:iam::123456789012:root"
    assert td["registeredAt"].timestamp() > 0


def test_fargate_registration_normalizes_units(ecs: Any) -> None:
    td = register(
        ecs,
        family="api",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="1 vCPU",
        memory="2 GB",
        executionRoleArn="ecsTaskExecutionRole",
        containerDefinitions=[{"name": "app", "image": "nginx", "portMappings": [{"containerPort": 8080}]}],
    )["taskDefinition"]
    assert (td["cpu"], td["memory"]) == ("1024", "2048")
    assert td["compatibilities"] == ["EC2", "FARGATE"]
    assert td["executionRoleArn"] == "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
    assert td["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}
    ]
    assert {"name": "ecs.capability.task-eni"} in td["requiresAttributes"]


def test_revisions_increment_and_are_never_reused(ecs: Any) -> None:
    assert [register(ecs)["taskDefinition"]["revision"] for _ in range(3)] == [1, 2, 3]
    for rev in (1, 2, 3):
        ecs.deregister_task_definition(taskDefinition=f"web:{rev}")
    ecs.delete_task_definitions(taskDefinitions=["web:1", "web:2", "web:3"])
    assert register(ecs)["taskDefinition"]["revision"] == 4
    assert register(ecs, family="other")["taskDefinition"]["revision"] == 1


def test_concurrent_registrations_get_distinct_revisions(ecs: Any) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        revisions = list(pool.map(lambda _: register(ecs)["taskDefinition"]["revision"], range(16)))
    assert sorted(revisions) == list(range(1, 17))


def test_tags_returned_by_register_and_describe_with_include(ecs: Any) -> None:
    tags = [{"key": "team", "value": "web"}]
    assert register(ecs, tags=tags)["tags"] == tags
    plain = ecs.describe_task_definition(taskDefinition="web")
    assert "tags" not in plain
    assert ecs.describe_task_definition(taskDefinition="web", include=["TAGS"])["tags"] == tags
    register(ecs, family="bare")
    assert ecs.describe_task_definition(taskDefinition="bare", include=["TAGS"])["tags"] == []


def test_describe_by_family_revision_and_arn(ecs: Any) -> None:
    register(ecs)
    register(ecs)
    assert ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]["revision"] == 2
    assert ecs.describe_task_definition(taskDefinition="web:1")["taskDefinition"]["revision"] == 1
    assert ecs.describe_task_definition(taskDefinition=f"{ARN}/web:2")["taskDefinition"]["revision"] == 2
    ecs.deregister_task_definition(taskDefinition="web:2")
    assert ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]["revision"] == 1
    inactive = ecs.describe_task_definition(taskDefinition="web:2")["taskDefinition"]
    assert inactive["status"] == "INACTIVE" and "deregisteredAt" in inactive


@pytest.mark.parametrize(
    "ref", ["nope", "web:9", "web:x", f"{ARN}/nope:1", "arn:aws:ecs:eu-west-1:1:task-definition/web:1"]
)
def test_describe_missing(ecs: Any, ref: str) -> None:
    register(ecs)
    with pytest.raises(ClientError) as err:
        ecs.describe_task_definition(taskDefinition=ref)
    assert error_of(err) == ("ClientException", "Unable to describe task definition.")


def test_describe_family_without_active_revision(ecs: Any) -> None:
    register(ecs)
    ecs.deregister_task_definition(taskDefinition="web:1")
    with pytest.raises(ClientError) as err:
        ecs.describe_task_definition(taskDefinition="web")
    assert error_of(err) == ("ClientException", "Unable to describe task definition.")


def test_deregister(ecs: Any) -> None:
    register(ecs)
    td = ecs.deregister_task_definition(taskDefinition=f"{ARN}/web:1")["taskDefinition"]
    assert td["status"] == "INACTIVE"
    again = ecs.deregister_task_definition(taskDefinition="web:1")["taskDefinition"]
    assert again["deregisteredAt"] == td["deregisteredAt"]


@pytest.mark.parametrize(
    ("ref", "code", "message"),
    [
        ("web", "ClientException", "Revision is missing."),
        ("web:one", "InvalidParameterException", "Invalid revision number. Number: one"),
        ("web:7", "ClientException", "Unable to describe task definition."),
    ],
)
def test_deregister_errors(ecs: Any, ref: str, code: str, message: str) -> None:
    register(ecs)
    with pytest.raises(ClientError) as err:
        ecs.deregister_task_definition(taskDefinition=ref)
    assert error_of(err) == (code, message)
    assert ecs.describe_task_definition(taskDefinition="web:1")["taskDefinition"]["status"] == "ACTIVE"


def test_delete_task_definitions(ecs: Any) -> None:
    register(ecs)
    register(ecs)
    ecs.deregister_task_definition(taskDefinition="web:1")
    result = ecs.delete_task_definitions(taskDefinitions=["web:1", "web:2", "web:9", "web"])
    (deleted,) = result["taskDefinitions"]
    assert deleted["taskDefinitionArn"] == f"{ARN}/web:1"
    assert deleted["status"] == "DELETE_IN_PROGRESS" and "deleteRequestedAt" in deleted
    assert result["failures"] == [
        {
            "arn": f"{ARN}/web:2",
            "reason": "The specified task definition is still in ACTIVE status. "
            "Please deregister the target and try again.",
        },
        {
            "arn": f"{ARN}/web:9",
            "reason": "The specified task definition does not exist. "
            "Specify a valid account, family, revision and try again.",
        },
        {
            "arn": "web",
            "reason": "The specified task definition identifier is invalid. "
            "Specify a valid name or ARN and try again.",
        },
    ]
    assert (
        ecs.describe_task_definition(taskDefinition="web:1")["taskDefinition"]["status"]
        == "DELETE_IN_PROGRESS"
    )
    listed = ecs.list_task_definitions(status="DELETE_IN_PROGRESS")["taskDefinitionArns"]
    assert listed == [f"{ARN}/web:1"]


def test_delete_limits(ecs: Any) -> None:
    with pytest.raises(ClientError) as err:
        ecs.delete_task_definitions(taskDefinitions=[f"web:{i}" for i in range(1, 12)])
    assert error_of(err) == (
        "InvalidParameterException",
        "Size of TaskDefinition references list cannot exceed 10",
    )


def test_list_sorted_by_family_then_numeric_revision(ecs: Any) -> None:
    for _ in range(10):
        register(ecs)
    register(ecs, family="api")
    arns = ecs.list_task_definitions()["taskDefinitionArns"]
    assert arns == [f"{ARN}/api:1"] + [f"{ARN}/web:{i}" for i in range(1, 11)]
    desc = ecs.list_task_definitions(sort="DESC")["taskDefinitionArns"]
    assert desc == list(reversed(arns))
    assert ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"] == arns[1:]
    assert ecs.list_task_definitions(familyPrefix="we")["taskDefinitionArns"] == []


def test_list_by_status(ecs: Any) -> None:
    register(ecs)
    register(ecs)
    ecs.deregister_task_definition(taskDefinition="web:1")
    assert ecs.list_task_definitions()["taskDefinitionArns"] == [f"{ARN}/web:2"]
    assert ecs.list_task_definitions(status="INACTIVE")["taskDefinitionArns"] == [f"{ARN}/web:1"]


@pytest.mark.parametrize("sort", ["ASC", "DESC"])
def test_list_pagination(ecs: Any, sort: str) -> None:
    for family in ("a", "b", "c"):
        for _ in range(3):
            register(ecs, family=family)
    expected = ecs.list_task_definitions(sort=sort)["taskDefinitionArns"]
    seen: list[str] = []
    kwargs: dict[str, Any] = {"maxResults": 4, "sort": sort}
    while True:
        page = ecs.list_task_definitions(**kwargs)
        assert len(page["taskDefinitionArns"]) <= 4
        seen += page["taskDefinitionArns"]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert seen == expected and len(seen) == 9
    paginator = ecs.get_paginator("list_task_definitions")
    pages = paginator.paginate(sort=sort, PaginationConfig={"PageSize": 2})
    assert [arn for p in pages for arn in p["taskDefinitionArns"]] == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"maxResults": 0}, "maxResults must be between 1 and 100."),
        ({"nextToken": "garbage"}, "Invalid nextToken."),
    ],
)
def test_list_bad_paging(ecs: Any, kwargs: dict[str, Any], message: str) -> None:
    for operation in (ecs.list_task_definitions, ecs.list_task_definition_families):
        with pytest.raises(ClientError) as err:
            operation(**kwargs)
        assert error_of(err) == ("InvalidParameterException", message)


def test_list_families(ecs: Any) -> None:
    register(ecs, family="web")
    register(ecs, family="worker")
    register(ecs, family="api")
    ecs.deregister_task_definition(taskDefinition="worker:1")
    assert ecs.list_task_definition_families()["families"] == ["api", "web", "worker"]
    assert ecs.list_task_definition_families(status="ALL")["families"] == ["api", "web", "worker"]
    assert ecs.list_task_definition_families(status="ACTIVE")["families"] == ["api", "web"]
    assert ecs.list_task_definition_families(status="INACTIVE")["families"] == ["worker"]
    assert ecs.list_task_definition_families(familyPrefix="w")["families"] == ["web", "worker"]
    first = ecs.list_task_definition_families(maxResults=2)
    assert first["families"] == ["api", "web"]
    rest = ecs.list_task_definition_families(maxResults=2, nextToken=first["nextToken"])
    assert rest["families"] == ["worker"] and "nextToken" not in rest


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        (
            {"requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512"},
            "ClientException",
            "Fargate only supports network mode \u2018awsvpc\u2019.",
        ),
        (
            {"containerDefinitions": [{"name": "app", "image": "nginx"}]},
            "ClientException",
            "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' "
            "must be specified.",
        ),
        (
            {"networkMode": "awsvpc", "containerDefinitions": [{**APP, "portMappings": [PORT_80_TO_81]}]},
            "ClientException",
            "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
        ),
        ({"cpu": "a lot"}, "InvalidParameterException", "Invalid 'cpu' setting for task."),
        ({"family": "bad/family"}, "ClientException", "Family contains invalid characters."),
        ({"containerDefinitions": []}, "ClientException", "Container list cannot be empty."),
    ],
)  # fmt: skip
def test_invalid_registration_stores_nothing(
    ecs: Any, kwargs: dict[str, Any], code: str, message: str
) -> None:
    with pytest.raises(ClientError) as err:
        register(ecs, **kwargs)
    assert error_of(err) == (code, message)
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []
    assert ecs.list_task_definition_families()["families"] == []
    assert register(ecs)["taskDefinition"]["revision"] == 1


def test_size_limit(ecs: Any) -> None:
    environment = [{"name": f"VAR_{i}", "value": "x" * 200} for i in range(400)]
    with pytest.raises(ClientError) as err:
        register(ecs, containerDefinitions=[{**APP, "environment": environment}])
    code, message = error_of(err)
    assert code == "ClientException"
    assert message.startswith("Actual length: '") and message.endswith("Max allowed length is '65536' bytes.")


CTX = RequestContext("123456789012", "us-east-1", "req", "test", "ecs", "RegisterTaskDefinition")


async def test_resolve_task_definition_for_run_task() -> None:
    store = SqliteStore(":memory:")
    deps = Ecs(store=store, clock=SystemClock(), ids=RandomIds())
    request = {
        "family": "job",
        "containerDefinitions": [{"name": "a", "image": "x", "cpu": 100, "memory": 300}],
    }
    await register_task_definition(deps, CTX, request)
    await register_task_definition(deps, CTX, request)
    await deregister_task_definition(deps, CTX, {"taskDefinition": "job:2"})
    latest = await resolve_task_definition(deps, CTX, "job")
    assert latest.value["revision"] == 1
    inactive = await resolve_task_definition(deps, CTX, f"{ARN}/job:2")
    assert inactive.value["status"] == "INACTIVE"
    assert task_resources(latest.value) == (100, 300)
    with pytest.raises(AwsError) as err:
        await resolve_task_definition(deps, CTX, "missing")
    assert (err.value.code, err.value.message) == ("ClientException", "TaskDefinition not found.")
    store.close()
