"""Task definition registration rules, normalization and resource accounting (pure, no server)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from dockyard.core.cql import CQLError, parse
from dockyard.core.errors import AwsError
from dockyard.services.ecs.taskdef_fargate import fargate_combination_valid, fargate_problem
from dockyard.services.ecs.taskdef_lookup import task_resources
from dockyard.services.ecs.taskdef_normalize import (
    build_task_definition,
    compute_compatibilities,
    compute_requires_attributes,
    normalize_request,
    normalize_task_cpu,
    normalize_task_memory,
)
from dockyard.services.ecs.taskdef_validation import check_size, validate_registration

ACCOUNT = "123456789012"
Request = dict[str, Any]


def cql_error(expression: str) -> str:
    try:
        parse(expression)
    except CQLError as exc:
        return exc.message
    raise AssertionError(f"{expression!r} parses")


def ec2(**task: Any) -> Request:
    return {
        "family": "web",
        "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}],
        **task,
    }


def fargate(**task: Any) -> Request:
    return {
        "family": "web",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "nginx"}],
        **task,
    }


def container(req: Request, **members: Any) -> Request:
    req = copy.deepcopy(req)
    req["containerDefinitions"][0].update(members)
    return req


def with_containers(req: Request, *containers: dict[str, Any]) -> Request:
    return {**req, "containerDefinitions": list(containers)}


def run(req: Request) -> None:
    validate_registration(normalize_request(req, account_id=ACCOUNT))


def c(name: str, **members: Any) -> dict[str, Any]:
    return {"name": name, "image": "nginx", "memory": 64, **members}


HEALTH = {"command": ["CMD", "true"]}
AWSLOGS = {"logDriver": "awslogs", "options": {"awslogs-group": "g", "awslogs-region": "r"}}
BAD_MEMORY = "Invalid 'memory' setting for task."
BAD_CQL = f"Invalid placement constraint expression: {cql_error('attribute:x ==')}"

# (id, request, error code, message)
INVALID: list[tuple[str, Request, str, str]] = [
    ("family blank", ec2(family=""), "ClientException", "Family can not be blank."),
    ("family chars", ec2(family="web app"), "ClientException", "Family contains invalid characters."),
    ("family too long", ec2(family="a" * 256), "ClientException", "Family contains invalid characters."),
    ("cpu unparsable", ec2(cpu="lots"), "InvalidParameterException", "Invalid 'cpu' setting for task."),
    ("memory unparsable", ec2(memory="1 TB"), "InvalidParameterException", BAD_MEMORY),
    (
        "cpu below EC2 range",
        ec2(cpu="64"),
        "ClientException",
        "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the "
        "Amazon ECS Developer Guide.",
    ),
    ("no containers", ec2(containerDefinitions=[]), "ClientException", "Container list cannot be empty."),
    (
        "11 containers",
        with_containers(ec2(), *(c(f"c{i}") for i in range(11))),
        "ClientException",
        "Too many containers.",
    ),
    (
        "container name empty",
        container(ec2(), name=""),
        "ClientException",
        "Container.name should not be null or empty.",
    ),
    (
        "container name chars",
        container(ec2(), name="my app"),
        "ClientException",
        "Container.name contains invalid characters.",
    ),
    (
        "image empty",
        container(ec2(), image=""),
        "ClientException",
        "Container.image should not be null or empty.",
    ),
    (
        "duplicate names",
        with_containers(ec2(), c("a"), c("a")),
        "ClientException",
        "Container names must be unique within a task definition.",
    ),
    (
        "no essential",
        with_containers(ec2(), c("a", essential=False), c("b", essential=False)),
        "ClientException",
        "Task definition doesn't have any essential container.",
    ),
    (
        "EC2 memory rule",
        with_containers(ec2(), {"name": "app", "image": "nginx"}),
        "ClientException",
        "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' "
        "must be specified.",
    ),
    (
        "memory below reservation",
        container(ec2(), memory=128, memoryReservation=256),
        "ClientException",
        "Invalid setting for container 'app'. 'memory' must be greater than or equal to 'memoryReservation'.",
    ),
    (
        "container memory above task",
        container(ec2(memory="256"), memory=512),
        "ClientException",
        "The 'memory' setting for container 'app' is greater than for the task.",
    ),
    (
        "container cpu sum above task",
        with_containers(ec2(cpu="256"), c("a", cpu=200), c("b", cpu=100)),
        "ClientException",
        "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.",
    ),
    (
        "reservation sum above task",
        with_containers(ec2(memory="512"), c("a", memory=300), c("b", memory=None, memoryReservation=300)),
        "ClientException",
        "The sum of all container 'memoryReservation' values cannot be greater than the value of the task "
        "'memory'.",
    ),
    (
        "awsvpc host port differs",
        container(ec2(networkMode="awsvpc"), portMappings=[{"containerPort": 80, "hostPort": 8080}]),
        "ClientException",
        "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
    ),
    (
        "host host port differs",
        container(ec2(networkMode="host"), portMappings=[{"containerPort": 80, "hostPort": 81}]),
        "ClientException",
        "When networkMode=host, the host ports and container ports in port mappings must match.",
    ),
    (
        "none with ports",
        container(ec2(networkMode="none"), portMappings=[{"containerPort": 80}]),
        "ClientException",
        "Port mappings are not supported when networkMode=none.",
    ),
    (
        "mapping without container port",
        container(ec2(), portMappings=[{"hostPort": 80}]),
        "ClientException",
        "Invalid 'containerPort' setting for container 'app'.",
    ),
    (
        "host port mapped twice",
        with_containers(
            ec2(), c("a", portMappings=[{"containerPort": 80, "hostPort": 80}]),
            c("b", portMappings=[{"containerPort": 81, "hostPort": 80}]),
        ),
        "ClientException",
        "TCP host port '80' is mapped multiple times in task.",
    ),
    (
        "awsvpc same port in two containers",
        with_containers(
            ec2(networkMode="awsvpc"), c("a", portMappings=[{"containerPort": 80}]),
            c("b", portMappings=[{"containerPort": 80}]),
        ),
        "ClientException",
        "TCP host port '80' is mapped multiple times in task.",
    ),
    (
        "range and single port",
        container(ec2(), portMappings=[{"containerPortRange": "8000-8010", "containerPort": 8000}]),
        "ClientException",
        "cannot specify both single port and port range",
    ),
    (
        "reversed range",
        container(ec2(), portMappings=[{"containerPortRange": "9000-8000"}]),
        "ClientException",
        "Invalid 'containerPortRange' setting for container 'app'.",
    ),
    (
        "range in host mode",
        container(ec2(networkMode="host"), portMappings=[{"containerPortRange": "8000-8010"}]),
        "ClientException",
        "Container port ranges are not supported when networkMode=host.",
    ),
    (
        "overlapping ranges",
        container(ec2(), portMappings=[{"containerPortRange": "8000-8010"}, {"containerPortRange": "8005-8020"}]),  # noqa: E501
        "ClientException",
        "container port is used multiple times in task",
    ),
    (
        "duplicate mapping names",
        with_containers(
            ec2(), c("a", portMappings=[{"containerPort": 80, "name": "web"}]),
            c("b", portMappings=[{"containerPort": 81, "name": "web"}]),
        ),
        "ClientException",
        "port mapping name is already used",
    ),
    (
        "links in awsvpc",
        with_containers(ec2(networkMode="awsvpc"), c("a", links=["b"]), c("b")),
        "ClientException",
        "Links are not supported when networkMode=awsvpc.",
    ),
    (
        "hostname in awsvpc",
        container(ec2(networkMode="awsvpc"), hostname="box"),
        "ClientException",
        "hostname is not supported on container when networkMode=awsvpc.",
    ),
    (
        "extraHosts in awsvpc",
        container(ec2(networkMode="awsvpc"), extraHosts=[{"hostname": "a", "ipAddress": "10.0.0.1"}]),
        "ClientException",
        "Extra hosts are not supported on container when networkMode=awsvpc.",
    ),
    (
        "dependsOn unknown",
        container(ec2(), dependsOn=[{"containerName": "db", "condition": "START"}]),
        "ClientException",
        "Cannot depend on container + 'db' because it does not exist",
    ),
    (
        "dependsOn self",
        container(ec2(), dependsOn=[{"containerName": "app", "condition": "START"}]),
        "ClientException",
        "Container dependency cycle detected: app -> app.",
    ),
    (
        "dependsOn cycle",
        with_containers(
            ec2(), c("a", dependsOn=[{"containerName": "b", "condition": "START"}]),
            c("b", dependsOn=[{"containerName": "a", "condition": "START"}]),
        ),
        "ClientException",
        "Container dependency cycle detected: a -> b -> a.",
    ),
    (
        "COMPLETE on essential",
        with_containers(ec2(), c("a", dependsOn=[{"containerName": "b", "condition": "COMPLETE"}]), c("b")),
        "ClientException",
        "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
    ),
    (
        "HEALTHY without health check",
        with_containers(ec2(), c("a", dependsOn=[{"containerName": "b", "condition": "HEALTHY"}]), c("b")),
        "ClientException",
        "A dependency container with HEALTHY condition must have health check configured",
    ),
    (
        "health interval",
        container(ec2(), healthCheck={**HEALTH, "interval": 4}),
        "ClientException",
        "Invalid 'healthCheck' setting for container 'app'. 'interval' must be between 5 and 300.",
    ),
    (
        "health timeout",
        container(ec2(), healthCheck={**HEALTH, "timeout": 61}),
        "ClientException",
        "Invalid 'healthCheck' setting for container 'app'. 'timeout' must be between 2 and 60.",
    ),
    (
        "health retries",
        container(ec2(), healthCheck={**HEALTH, "retries": 11}),
        "ClientException",
        "Invalid 'healthCheck' setting for container 'app'. 'retries' must be between 1 and 10.",
    ),
    (
        "health startPeriod",
        container(ec2(), healthCheck={**HEALTH, "startPeriod": 301}),
        "ClientException",
        "Invalid 'healthCheck' setting for container 'app'. 'startPeriod' must be between 0 and 300.",
    ),
    (
        "unknown volume",
        container(ec2(), mountPoints=[{"sourceVolume": "data", "containerPath": "/data"}]),
        "ClientException",
        "Unknown volume 'data'.",
    ),
    (
        "mount without volume name",
        container(ec2(), mountPoints=[{"containerPath": "/data"}]),
        "ClientException",
        "Unknown volume 'null'.",
    ),
    (
        "volumesFrom unknown",
        container(ec2(), volumesFrom=[{"sourceContainer": "db"}]),
        "ClientException",
        "Invalid 'volumesFrom' setting. Unknown container: 'db'.",
    ),
    (
        "awslogs options",
        container(ec2(), logConfiguration={"logDriver": "awslogs", "options": {"awslogs-group": "g"}}),
        "ClientException",
        "Log driver awslogs requires options: awslogs-region",
    ),
    (
        "secrets without execution role",
        container(ec2(), secrets=[{"name": "DB", "valueFrom": "db-password"}]),
        "ClientException",
        "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
    ),
    (
        "ulimit soft above hard",
        container(ec2(), ulimits=[{"name": "nofile", "softLimit": 2048, "hardLimit": 1024}]),
        "ClientException",
        "Soft limit exceeds hard limit for ulimit nofile.",
    ),
    ("bad task role", ec2(taskRoleArn="arn:aws:s3:::bucket"), "ClientException", "Role is not valid"),
    ("bad execution role", ec2(executionRoleArn="not a role"), "ClientException", "Role is not valid"),
    (
        "fargate bridge",
        fargate(networkMode="bridge"),
        "ClientException",
        "Fargate only supports network mode \u2018awsvpc\u2019.",
    ),
    (
        "fargate default network mode",
        {k: v for k, v in fargate().items() if k != "networkMode"},
        "ClientException",
        "Fargate only supports network mode \u2018awsvpc\u2019.",
    ),
    (
        "fargate no cpu",
        {k: v for k, v in fargate().items() if k != "cpu"},
        "ClientException",
        "Fargate requires that 'cpu' be defined at the task level.",
    ),
    (
        "fargate no memory",
        container({k: v for k, v in fargate().items() if k != "memory"}, memory=512),
        "ClientException",
        "Fargate requires that 'memory' be defined at the task level.",
    ),
    (
        "fargate cpu value",
        fargate(cpu="384"),
        "ClientException",
        "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the "
        "Amazon ECS Developer Guide.",
    ),
    (
        "fargate combination",
        fargate(cpu="4096", memory="2048"),
        "ClientException",
        "No Fargate configuration exists for given values: 4096 CPU, 2048 memory. "
        "See the Amazon ECS documentation for the valid values.",
    ),
    (
        "fargate privileged",
        container(fargate(), privileged=True),
        "ClientException",
        "Fargate requires that the 'privileged' setting be 'false'.",
    ),
    (
        "fargate host path",
        fargate(volumes=[{"name": "data", "host": {"sourcePath": "/srv"}}]),
        "ClientException",
        "Fargate compatible task definitions do not support sourcePath",
    ),
    (
        "fargate docker volume",
        fargate(volumes=[{"name": "data", "dockerVolumeConfiguration": {"scope": "task"}}]),
        "ClientException",
        "Fargate compatible task definitions do not support dockerVolumeConfiguration",
    ),
    (
        "fargate pidMode host",
        fargate(pidMode="host"),
        "ClientException",
        "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode "
        "is 'task'.",
    ),
    (
        "fargate ipcMode",
        fargate(ipcMode="task"),
        "ClientException",
        "Fargate compatible task definitions do not support ipcMode",
    ),
    (
        "fargate placement constraints",
        fargate(placementConstraints=[{"type": "memberOf", "expression": "attribute:x == y"}]),
        "ClientException",
        "Fargate compatible task definitions do not support constraints",
    ),
    (
        "fargate devices",
        container(fargate(), linuxParameters={"devices": [{"hostPath": "/dev/fuse"}]}),
        "ClientException",
        "Fargate compatible task definitions do not support devices",
    ),
    (
        "fargate capability",
        container(fargate(), linuxParameters={"capabilities": {"add": ["NET_ADMIN"]}}),
        "ClientException",
        "NET_ADMIN is not allowed on Fargate.",
    ),
    (
        "fargate awslogs without role",
        container(
            fargate(),
            logConfiguration=AWSLOGS,
        ),
        "ClientException",
        "Fargate requires task definition to have execution role ARN to support log driver awslogs.",
    ),
    (
        "fargate ECR image without role",
        container(fargate(), image="123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"),
        "ClientException",
        "Fargate requires task definition to have execution role ARN to support ECR images.",
    ),
    (
        "fargate container memory above task",
        container(fargate(), memory=1024),
        "ClientException",
        "The 'memory' setting for container 'app' is greater than for the task.",
    ),
    (
        "external awsvpc",
        ec2(requiresCompatibilities=["EXTERNAL"], networkMode="awsvpc"),
        "ClientException",
        "External compatible task definitions do not support network mode awsvpc.",
    ),
    (
        "ephemeral storage small",
        fargate(ephemeralStorage={"sizeInGiB": 20}),
        "ClientException",
        "EphemeralStorage size should be at least 21.",
    ),
    (
        "ephemeral storage large",
        fargate(ephemeralStorage={"sizeInGiB": 201}),
        "ClientException",
        "EphemeralStorage size should be at most 200.",
    ),
    (
        "ephemeral storage on EC2",
        ec2(requiresCompatibilities=["EC2"], ephemeralStorage={"sizeInGiB": 30}),
        "ClientException",
        "Ephemeral storage is only supported for tasks hosted on Fargate.",
    ),
    (
        "memberOf without expression",
        ec2(placementConstraints=[{"type": "memberOf"}]),
        "ClientException",
        "Placement constraint of type memberOf must have an expression.",
    ),
    (
        "memberOf bad expression",
        ec2(placementConstraints=[{"type": "memberOf", "expression": "attribute:x =="}]),
        "ClientException",
        BAD_CQL,
    ),
    (
        "efs iam without encryption",
        ec2(volumes=[{"name": "d", "efsVolumeConfiguration": {"fileSystemId": "fs-1",
                                                              "authorizationConfig": {"iam": "ENABLED"}}}]),
        "ClientException",
        "EFS IAM authorization requires TransitEncryption to be enabled",
    ),
    (
        "reserved tag",
        ec2(tags=[{"key": "aws:owner", "value": "me"}]),
        "InvalidParameterException",
        "Tag keys must not begin with the reserved prefix 'aws:'.",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "code", "message"), [r[1:] for r in INVALID], ids=[r[0] for r in INVALID]
)
def test_invalid_registration(request_: Request, code: str, message: str) -> None:
    with pytest.raises(AwsError) as err:
        run(request_)
    assert (err.value.code, err.value.message) == (code, message)


VALID: list[tuple[str, Request]] = [
    ("minimal EC2", ec2()),
    ("reservation only", container(ec2(), memory=None, memoryReservation=64)),
    ("task memory only", ec2(memory="512", containerDefinitions=[{"name": "app", "image": "nginx"}])),
    ("memory equals reservation", container(ec2(), memory=128, memoryReservation=128)),
    ("fargate", fargate()),
    ("fargate string units", fargate(cpu="1 vCPU", memory="2 GB")),
    ("fargate 16 vCPU", fargate(cpu="16384", memory="122880")),
    ("awsvpc host port 0", container(ec2(networkMode="awsvpc"), portMappings=[{"containerPort": 80, "hostPort": 0}])),  # noqa: E501
    ("tcp and udp share a port", container(ec2(), portMappings=[
        {"containerPort": 53, "protocol": "tcp"}, {"containerPort": 53, "protocol": "udp"}])),
    ("bridge dynamic ports twice", with_containers(
        ec2(), c("a", portMappings=[{"containerPort": 80}]), c("b", portMappings=[{"containerPort": 80}]))),
    ("links in bridge", with_containers(ec2(), c("a", links=["b"]), c("b"))),
    ("complete on non-essential", with_containers(
        ec2(), c("a", dependsOn=[{"containerName": "b", "condition": "SUCCESS"}]), c("b", essential=False))),
    ("healthy with check", with_containers(
        ec2(), c("a", dependsOn=[{"containerName": "b", "condition": "HEALTHY"}]), c("b", healthCheck=HEALTH))),  # noqa: E501
    ("mounted volume", container(ec2(volumes=[{"name": "data"}]), mountPoints=[{"sourceVolume": "data"}])),
    ("role name", ec2(taskRoleArn="my-role", executionRoleArn="arn:aws:iam::123456789012:role/path/exec")),
    ("fargate with role and awslogs", container(
        fargate(executionRoleArn="exec"),
        logConfiguration=AWSLOGS)),
    ("fargate ephemeral storage", fargate(ephemeralStorage={"sizeInGiB": 200})),
    ("port range", container(ec2(), portMappings=[{"containerPortRange": "8000-8099"}])),
    ("memberOf", ec2(placementConstraints=[{"type": "memberOf", "expression": "attribute:os == linux"}])),
]  # fmt: skip


@pytest.mark.parametrize("request_", [r[1] for r in VALID], ids=[r[0] for r in VALID])
def test_valid_registration(request_: Request) -> None:
    run(request_)


@pytest.mark.parametrize(
    ("given", "normalize", "expected"),
    [
        ("1024", normalize_task_cpu, "1024"),
        ("1 vCPU", normalize_task_cpu, "1024"),
        ("1vcpu", normalize_task_cpu, "1024"),
        ("0.25 vCPU", normalize_task_cpu, "256"),
        ("2 vcpus", normalize_task_cpu, "2048"),
        ("512", normalize_task_memory, "512"),
        ("1 GB", normalize_task_memory, "1024"),
        ("1GB", normalize_task_memory, "1024"),
        ("0.5 GB", normalize_task_memory, "512"),
        ("2GiB", normalize_task_memory, "2048"),
    ],
)
def test_units(given: str, normalize: Callable[[str], str], expected: str) -> None:
    assert normalize(given) == expected


@pytest.mark.parametrize("given", ["", "0", "-1", "1.5", "0.1 vCPU", "one"])
def test_cpu_rejected(given: str) -> None:
    with pytest.raises(AwsError, match="Invalid 'cpu' setting for task."):
        normalize_task_cpu(given)


@pytest.mark.parametrize(
    ("cpu", "memory", "valid"),
    [
        ("256", "512", True),
        ("256", "4096", False),
        ("512", "4096", True),
        ("1024", "1536", False),
        ("4096", "30720", True),
        ("8192", "20480", True),
        ("8192", "18432", False),
        ("16384", "40960", True),
        (None, "512", False),
        ("100", "512", False),
    ],
)
def test_fargate_combinations(cpu: str | None, memory: str, valid: bool) -> None:
    assert fargate_combination_valid(cpu, memory) is valid


def test_windows_fargate_needs_one_vcpu() -> None:
    assert not fargate_combination_valid("512", "1024", windows=True)
    td = fargate(
        cpu="512", memory="1024", runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}
    )
    assert fargate_problem(td) is not None


def built(req: Request) -> dict[str, Any]:
    td = normalize_request(req, account_id=ACCOUNT)
    validate_registration(td)
    return build_task_definition(td, arn="arn", revision=3, registered_at=1.5, registered_by="me")


def test_container_defaults() -> None:
    doc = built(container(ec2(), portMappings=[{"containerPort": 80}], healthCheck=HEALTH))
    (app,) = doc["containerDefinitions"]
    assert app["cpu"] == 0 and app["essential"] is True
    assert app["portMappings"] == [{"containerPort": 80, "protocol": "tcp"}]
    assert app["environment"] == app["mountPoints"] == app["volumesFrom"] == app["systemControls"] == []
    assert app["healthCheck"] == {"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3}
    assert "networkMode" not in doc
    assert doc["volumes"] == [] and doc["placementConstraints"] == []
    assert (doc["revision"], doc["status"], doc["registeredAt"], doc["registeredBy"]) == (
        3,
        "ACTIVE",
        1.5,
        "me",
    )
    assert doc["tags"] == []


def test_awsvpc_host_port_filled() -> None:
    doc = built(container(fargate(), portMappings=[{"containerPort": 8080}]))
    assert doc["containerDefinitions"][0]["portMappings"] == [
        {"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}
    ]
    assert (doc["cpu"], doc["memory"]) == ("256", "512")


def test_roles_expanded() -> None:
    doc = built(ec2(taskRoleArn="app-role"))
    assert doc["taskRoleArn"] == "arn:aws:iam::123456789012:role/app-role"


def test_empty_roles_are_none() -> None:
    doc = built(ec2(taskRoleArn="", executionRoleArn=""))
    assert "taskRoleArn" not in doc and "executionRoleArn" not in doc


@pytest.mark.parametrize(
    ("req", "expected"),
    [
        (ec2(), ["EXTERNAL", "EC2"]),
        (ec2(networkMode="host"), ["EXTERNAL", "EC2"]),
        (ec2(networkMode="awsvpc"), ["EC2"]),
        (fargate(), ["EC2", "FARGATE"]),
        (fargate(requiresCompatibilities=None), ["EC2", "FARGATE"]),
        (fargate(requiresCompatibilities=["MANAGED_INSTANCES"]), ["EC2", "MANAGED_INSTANCES", "FARGATE"]),
        (container(fargate(requiresCompatibilities=["EC2"]), privileged=True), ["EC2"]),
    ],
)
def test_compatibilities(req: Request, expected: list[str]) -> None:
    assert compute_compatibilities(normalize_request(req, account_id=ACCOUNT)) == expected


def test_requires_attributes() -> None:
    td = normalize_request(
        container(
            fargate(taskRoleArn="r", executionRoleArn="e"),
            image="123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
            secrets=[{"name": "A", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:a-AbCdEf"}],
            dependsOn=[],
            stopTimeout=30,
        ),
        account_id=ACCOUNT,
    )
    names = [a["name"] for a in compute_requires_attributes(td)]
    assert names == [
        "com.amazonaws.ecs.capability.ecr-auth",
        "ecs.capability.execution-role-ecr-pull",
        "ecs.capability.container-ordering",
        "ecs.capability.secrets.asm.environment-variables",
        "com.amazonaws.ecs.capability.task-iam-role",
        "com.amazonaws.ecs.capability.docker-remote-api.1.18",
        "ecs.capability.task-eni",
    ]
    assert compute_requires_attributes(normalize_request(ec2(), account_id=ACCOUNT)) == []


@pytest.mark.parametrize(
    ("td", "expected"),
    [
        ({"cpu": "512", "memory": "1024", "containerDefinitions": [{"cpu": 10, "memory": 64}]}, (512, 1024)),
        (
            {"containerDefinitions": [{"cpu": 10, "memory": 64}, {"memoryReservation": 32, "memory": 128}]},
            (10, 96),
        ),
        ({"containerDefinitions": [{}]}, (0, 0)),
        ({"cpu": "1 vCPU", "memory": "2 GB", "containerDefinitions": []}, (1024, 2048)),
        ({"cpu": 256, "containerDefinitions": [{"memory": 100}]}, (256, 100)),
    ],
)
def test_task_resources(td: dict[str, Any], expected: tuple[int, int]) -> None:
    assert task_resources(td) == expected


def test_size_limit() -> None:
    check_size(ec2())
    big = container(ec2(), environment=[{"name": f"V{i}", "value": "x" * 100} for i in range(700)])
    with pytest.raises(AwsError, match=r"^Actual length: '\d+'. Max allowed length is '65536' bytes.$"):
        check_size(big)
