"""From a RegisterTaskDefinition request to the TaskDefinition document ECS returns (pure).

```
request --normalize_request--> cpu/memory as unit strings, role names as ARNs
        --(validation)--> build_task_definition --> stored document:
            containerDefinitions with ECS's echoed defaults, computed compatibilities and
            requiresAttributes, revision, status ACTIVE, registeredAt/By, top-level "tags"
```

Defaults echoed per container, as DescribeTaskDefinition shows them: `cpu` 0, `essential` true,
`portMappings`/`environment`/`mountPoints`/`volumesFrom`/`systemControls` [], each port mapping's
`protocol` "tcp" and, for `awsvpc`/`host`, `hostPort` = `containerPort`; health checks get
interval 30, timeout 5, retries 3. Task level: `volumes` and `placementConstraints` [], EFS
`rootDirectory` "/". `networkMode` is echoed only when the request set it.

`compatibilities`: EXTERNAL (unless awsvpc), EC2 always, MANAGED_INSTANCES when requested,
FARGATE when awsvpc and `fargate_problem` finds nothing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dockyard.services.ecs.errors import ClientException, InvalidParameterException
from dockyard.services.ecs.taskdef_fargate import fargate_problem, is_ecr_image

__all__ = [
    "normalize_task_cpu",
    "normalize_task_memory",
    "normalize_role",
    "normalize_request",
    "effective_network_mode",
    "container_with_defaults",
    "compute_compatibilities",
    "compute_requires_attributes",
    "build_task_definition",
]

_CPU = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(vcpus?)?\s*$", re.IGNORECASE)
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(gib|gb|mib|mb)?\s*$", re.IGNORECASE)
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def _scaled(match: re.Match[str] | None, scale_for: Mapping[str, int]) -> int | None:
    if match is None:
        return None
    try:
        number = Decimal(match.group(1)) * scale_for.get((match.group(2) or "").lower(), 1)
    except InvalidOperation:
        return None
    if number <= 0 or number != number.to_integral_value() or number > 2**31 - 1:
        return None
    return int(number)


def normalize_task_cpu(value: str) -> str:
    """`"1 vCPU"`, `"1vcpu"`, `"0.25 vcpu"` or `"1024"` -> CPU units as a string (`"1024"`)."""
    units = _scaled(_CPU.match(value), {"vcpu": 1024, "vcpus": 1024})
    if units is None:
        raise InvalidParameterException("Invalid 'cpu' setting for task.")
    return str(units)


def normalize_task_memory(value: str) -> str:
    """`"1 GB"`, `"1GB"`, `"0.5 GB"`, `"512 MiB"` or `"512"` -> MiB as a string (`"1024"`)."""
    mib = _scaled(_MEMORY.match(value), {"gb": 1024, "gib": 1024})
    if mib is None:
        raise InvalidParameterException("Invalid 'memory' setting for task.")
    return str(mib)


def normalize_role(value: str, *, account_id: str) -> str:
    """A role ARN as given, or a bare role name completed with the caller's account."""
    if _ROLE_ARN.match(value):
        return value
    if _ROLE_NAME.match(value):
        return f"arn:aws:iam::{account_id}:role/{value}"
    raise ClientException("Role is not valid")


def normalize_request(request: Mapping[str, Any], *, account_id: str) -> dict[str, Any]:
    """A copy of the request with task cpu/memory in units and role names expanded to ARNs."""
    out = copy.deepcopy(dict(request))
    if out.get("cpu") is not None:
        out["cpu"] = normalize_task_cpu(out["cpu"])
    if out.get("memory") is not None:
        out["memory"] = normalize_task_memory(out["memory"])
    for member in ("taskRoleArn", "executionRoleArn"):
        if out.get(member) == "":
            # ECS takes an empty role as none (ecs-deploy sends "" for a task definition without one).
            del out[member]
        elif out.get(member) is not None:
            out[member] = normalize_role(out[member], account_id=account_id)
    return out


def effective_network_mode(td: Mapping[str, Any]) -> str:
    """The mode the task runs with: the requested one, else `bridge` (the Linux default)."""
    return str(td.get("networkMode") or "bridge")


def container_with_defaults(container: Mapping[str, Any], *, network_mode: str) -> dict[str, Any]:
    out = copy.deepcopy(dict(container))
    out.setdefault("cpu", 0)
    mappings = []
    for mapping in out.get("portMappings") or []:
        mapping = dict(mapping)
        port = mapping.get("containerPort")
        if network_mode in ("awsvpc", "host") and port is not None and not mapping.get("hostPort"):
            mapping["hostPort"] = port
        mapping.setdefault("protocol", "tcp")
        mappings.append(mapping)
    out["portMappings"] = mappings
    out.setdefault("essential", True)
    for member in ("environment", "mountPoints", "volumesFrom", "systemControls"):
        out.setdefault(member, [])
    health = out.get("healthCheck")
    if health is not None:
        out["healthCheck"] = {"interval": 30, "timeout": 5, "retries": 3, **health}
    return _ordered(out)


# The member order DescribeTaskDefinition prints (the botocore ContainerDefinition shape order).
_CONTAINER_ORDER = (
    "name", "image", "repositoryCredentials", "cpu", "memory", "memoryReservation", "links",
    "portMappings", "essential", "restartPolicy", "entryPoint", "command", "environment",
    "environmentFiles", "mountPoints", "volumesFrom", "linuxParameters", "secrets", "dependsOn",
    "startTimeout", "stopTimeout", "versionConsistency", "hostname", "user", "workingDirectory",
    "disableNetworking", "privileged", "readonlyRootFilesystem", "dnsServers", "dnsSearchDomains",
    "extraHosts", "dockerSecurityOptions", "interactive", "pseudoTerminal", "dockerLabels", "ulimits",
    "logConfiguration", "healthCheck", "systemControls", "resourceRequirements",
    "firelensConfiguration", "credentialSpecs",
)  # fmt: skip


def _ordered(container: dict[str, Any]) -> dict[str, Any]:
    rank = {name: i for i, name in enumerate(_CONTAINER_ORDER)}
    return dict(sorted(container.items(), key=lambda item: rank.get(item[0], len(rank))))


def _volume_with_defaults(volume: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(volume))
    efs = out.get("efsVolumeConfiguration")
    if efs is not None:
        efs.setdefault("rootDirectory", "/")
    return out


def compute_compatibilities(td: Mapping[str, Any]) -> list[str]:
    requested = td.get("requiresCompatibilities") or []
    awsvpc = effective_network_mode(td) == "awsvpc"
    found = [] if awsvpc else ["EXTERNAL"]
    found.append("EC2")
    if "MANAGED_INSTANCES" in requested:
        found.append("MANAGED_INSTANCES")
    if awsvpc and fargate_problem(td) is None:
        found.append("FARGATE")
    return found


_DOCKER_API = "com.amazonaws.ecs.capability.docker-remote-api."


def compute_requires_attributes(td: Mapping[str, Any]) -> list[dict[str, str]]:
    """The container-instance capabilities the task needs, as ECS lists them in requiresAttributes."""
    names: list[str] = []

    def need(name: str) -> None:
        if name not in names:
            names.append(name)

    mode = effective_network_mode(td)
    has_execution_role = bool(td.get("executionRoleArn"))
    for container in td.get("containerDefinitions") or []:
        if is_ecr_image(container.get("image") or ""):
            need("com.amazonaws.ecs.capability.ecr-auth")
            if has_execution_role:
                need("ecs.capability.execution-role-ecr-pull")
        if container.get("memoryReservation") is not None:
            need(_DOCKER_API + "1.21")
        if container.get("dockerLabels"):
            need(_DOCKER_API + "1.18")
        if container.get("privileged"):
            need("com.amazonaws.ecs.capability.privileged-container")
        log = container.get("logConfiguration")
        if log is not None:
            need(f"com.amazonaws.ecs.capability.logging-driver.{log.get('logDriver')}")
            need(_DOCKER_API + "1.19")
            if log.get("logDriver") == "awslogs" and has_execution_role:
                need("ecs.capability.execution-role-awslogs")
        if container.get("healthCheck") is not None:
            need("ecs.capability.container-health-check")
            need(_DOCKER_API + "1.24")
        if container.get("dependsOn") or container.get("startTimeout") or container.get("stopTimeout"):
            need("ecs.capability.container-ordering")
        for secret in [*(container.get("secrets") or []), *((log or {}).get("secretOptions") or [])]:
            source = str(secret.get("valueFrom", ""))
            need(
                "ecs.capability.secrets.asm.environment-variables"
                if source.startswith("arn:") and ":secretsmanager:" in source
                else "ecs.capability.secrets.ssm.environment-variables"
            )
        if container.get("repositoryCredentials"):
            need("com.amazonaws.ecs.capability.private-registry-authentication.secretsmanager")
        if container.get("environmentFiles"):
            need("ecs.capability.env-files.s3")
        firelens = container.get("firelensConfiguration")
        if firelens is not None:
            need(f"ecs.capability.firelens.{firelens.get('type')}")
    if td.get("taskRoleArn"):
        need("com.amazonaws.ecs.capability.task-iam-role")
        if mode == "host":
            need("com.amazonaws.ecs.capability.task-iam-role-network-host")
    for volume in td.get("volumes") or []:
        if volume.get("efsVolumeConfiguration") is not None:
            need("ecs.capability.efs")
            if (volume["efsVolumeConfiguration"].get("authorizationConfig") or {}).get("accessPointId"):
                need("ecs.capability.efsAuth")
        if volume.get("dockerVolumeConfiguration") is not None:
            need(_DOCKER_API + "1.25")
    if mode == "awsvpc":
        need(_DOCKER_API + "1.18")
        need("ecs.capability.task-eni")
    return [{"name": name} for name in names]


_TASK_ORDER = (
    "taskDefinitionArn", "containerDefinitions", "family", "taskRoleArn", "executionRoleArn",
    "networkMode", "revision", "volumes", "status", "requiresAttributes", "placementConstraints",
    "compatibilities", "runtimePlatform", "requiresCompatibilities", "cpu", "memory",
    "inferenceAccelerators", "pidMode", "ipcMode", "proxyConfiguration", "registeredAt",
    "deregisteredAt", "deleteRequestedAt", "registeredBy", "ephemeralStorage", "enableFaultInjection",
    "tags",
)  # fmt: skip


def build_task_definition(
    td: Mapping[str, Any], *, arn: str, revision: int, registered_at: float, registered_by: str
) -> dict[str, Any]:
    """The stored document for a validated, normalized request (`tags` kept at the top level)."""
    mode = effective_network_mode(td)
    doc: dict[str, Any] = {k: copy.deepcopy(v) for k, v in td.items() if v is not None}
    doc["containerDefinitions"] = [
        container_with_defaults(c, network_mode=mode) for c in td["containerDefinitions"]
    ]
    doc["volumes"] = [_volume_with_defaults(v) for v in td.get("volumes") or []]
    doc["placementConstraints"] = copy.deepcopy(list(td.get("placementConstraints") or []))
    doc["taskDefinitionArn"] = arn
    doc["revision"] = revision
    doc["status"] = "ACTIVE"
    attributes = compute_requires_attributes(td)
    if attributes:
        doc["requiresAttributes"] = attributes
    doc["compatibilities"] = compute_compatibilities(td)
    doc["registeredAt"] = registered_at
    doc["registeredBy"] = registered_by
    doc["tags"] = copy.deepcopy(list(td.get("tags") or []))
    rank = {name: i for i, name in enumerate(_TASK_ORDER)}
    return dict(sorted(doc.items(), key=lambda item: rank.get(item[0], len(rank))))
