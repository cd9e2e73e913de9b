"""Every RegisterTaskDefinition rule of reference §2, with the exception and message ECS sends (pure).

`validate_registration(td)` takes the normalized request (`taskdef_normalize.normalize_request`:
task cpu/memory as unit strings, role names expanded) and raises on the first broken rule:

```
family -> task cpu range -> containers (taskdef_container_rules, taskdef_ports)
  -> requiresCompatibilities (FARGATE: taskdef_fargate.fargate_problem; EXTERNAL: no awsvpc)
  -> ephemeralStorage -> placementConstraints (memberOf, a valid cluster query) -> volumes -> tags
```

`check_size` enforces the 64 KiB limit on the request JSON. `fargate_combination_valid` is
re-exported for RunTask's check of overridden cpu/memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from dockyard.core.cql import CQLError
from dockyard.core.cql import parse as parse_cql
from dockyard.core.tags import TagError, check_tags
from dockyard.services.ecs.errors import ClientException, InvalidParameterException
from dockyard.services.ecs.taskdef_container_rules import check_container_definitions
from dockyard.services.ecs.taskdef_fargate import (
    INVALID_TASK_CPU,
    fargate_combination_valid,
    fargate_problem,
    to_units,
)
from dockyard.services.ecs.taskdef_normalize import effective_network_mode

__all__ = [
    "validate_registration",
    "check_family",
    "check_size",
    "fargate_combination_valid",
    "MAX_TASK_DEFINITION_BYTES",
]

MAX_TASK_DEFINITION_BYTES = 65536
_FAMILY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
EC2_CPU_RANGE = (128, 196608)
EPHEMERAL_STORAGE_RANGE = (21, 200)


def validate_registration(td: Mapping[str, Any]) -> None:
    check_family(td.get("family"))
    cpu = to_units(td.get("cpu"))
    if cpu is not None and not EC2_CPU_RANGE[0] <= cpu <= EC2_CPU_RANGE[1]:
        raise ClientException(INVALID_TASK_CPU)
    mode = effective_network_mode(td)
    check_container_definitions(td, network_mode=mode)
    _check_compatibilities(td, mode)
    _check_ephemeral_storage(td)
    _check_placement_constraints(td)
    _check_volumes(td)
    try:
        check_tags(td.get("tags") or [])
    except TagError as exc:
        raise InvalidParameterException(str(exc)) from exc


def check_family(family: str | None) -> None:
    if not family:
        raise ClientException("Family can not be blank.")
    if not _FAMILY.match(family):
        raise ClientException("Family contains invalid characters.")


def check_size(request: Mapping[str, Any]) -> None:
    """The 64 KiB limit, measured on the request as compact JSON."""
    size = len(json.dumps(request, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_TASK_DEFINITION_BYTES:
        raise ClientException(
            f"Actual length: '{size}'. Max allowed length is '{MAX_TASK_DEFINITION_BYTES}' bytes."
        )


def _check_compatibilities(td: Mapping[str, Any], mode: str) -> None:
    required = td.get("requiresCompatibilities") or []
    if "FARGATE" in required:
        problem = fargate_problem(td)
        if problem is not None:
            raise ClientException(problem)
    if "EXTERNAL" in required and mode == "awsvpc":
        raise ClientException("External compatible task definitions do not support network mode awsvpc.")


def _check_ephemeral_storage(td: Mapping[str, Any]) -> None:
    storage = td.get("ephemeralStorage")
    if storage is None:
        return
    size = storage.get("sizeInGiB")
    low, high = EPHEMERAL_STORAGE_RANGE
    if size < low:
        raise ClientException(f"EphemeralStorage size should be at least {low}.")
    if size > high:
        raise ClientException(f"EphemeralStorage size should be at most {high}.")
    required = td.get("requiresCompatibilities")
    if required and "FARGATE" not in required:
        raise ClientException("Ephemeral storage is only supported for tasks hosted on Fargate.")


def _check_placement_constraints(td: Mapping[str, Any]) -> None:
    constraints = td.get("placementConstraints") or []
    if len(constraints) > 10:
        raise ClientException("The maximum number of placement constraints is 10.")
    for constraint in constraints:
        expression = (constraint.get("expression") or "").strip()
        if not expression:
            raise ClientException("Placement constraint of type memberOf must have an expression.")
        try:
            parse_cql(expression)
        except CQLError as exc:
            raise ClientException(f"Invalid placement constraint expression: {exc.message}") from exc


def _check_volumes(td: Mapping[str, Any]) -> None:
    seen: set[str] = set()
    for volume in td.get("volumes") or []:
        name = volume.get("name")
        if not name:
            raise ClientException("Volume.name should not be null or empty.")
        if name in seen:
            raise ClientException(f"Duplicate volume name '{name}'.")
        seen.add(name)
        docker = volume.get("dockerVolumeConfiguration")
        if docker is not None and docker.get("autoprovision") and docker.get("scope", "task") != "shared":
            raise ClientException("Autoprovision can only be used with a volume of shared scope.")
        efs = volume.get("efsVolumeConfiguration")
        if efs is not None:
            _check_efs(efs)


def _check_efs(efs: Mapping[str, Any]) -> None:
    auth = efs.get("authorizationConfig") or {}
    encrypted = efs.get("transitEncryption") == "ENABLED"
    if auth.get("iam") == "ENABLED" and not encrypted:
        raise ClientException("EFS IAM authorization requires TransitEncryption to be enabled")
    if auth.get("accessPointId"):
        if not encrypted:
            raise ClientException("EFS access points require TransitEncryption to be enabled")
        if efs.get("rootDirectory") not in (None, "/"):
            raise ClientException(
                'When using an EFS access point, the root directory must either be set to "/" or be omitted'
            )
