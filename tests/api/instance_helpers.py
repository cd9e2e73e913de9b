"""Helpers for API tests that need container instances and tasks, driven as an agent would."""

from __future__ import annotations

import json
from typing import Any

from dockyard.store import Key, Put
from dockyard.testing.server import ThreadedServer

ACCOUNT = "123456789012"
REGION = "us-east-1"

RESOURCES: list[dict[str, Any]] = [
    {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
    {"name": "MEMORY", "type": "INTEGER", "integerValue": 3767},
    {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2375", "2376", "51678", "51679"]},
    {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
]

AGENT_ATTRIBUTES: list[dict[str, Any]] = [
    {"name": "ecs.os-type", "value": "linux"},
    {"name": "ecs.cpu-architecture", "value": "x86_64"},
    {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.41"},
    {"name": "ecs.capability.task-eni"},
]


def identity(instance_id: str = "i-0123456789abcdef0", **extra: str) -> str:
    doc = {
        "instanceId": instance_id,
        "instanceType": "t3.medium",
        "availabilityZone": "us-east-1a",
        "region": REGION,
        "privateIp": "127.0.0.2",
        **extra,
    }
    return json.dumps(doc)


def register(ecs: Any, cluster: str = "default", **overrides: Any) -> dict[str, Any]:
    """RegisterContainerInstance as the agent sends it; returns the ContainerInstance."""
    request: dict[str, Any] = {
        "cluster": cluster,
        "totalResources": RESOURCES,
        "versionInfo": {
            "agentVersion": "1.80.0",
            "agentHash": "abc123",
            "dockerVersion": "DockerVersion: 20.10",
        },
        "attributes": AGENT_ATTRIBUTES,
    }
    request.update(overrides)
    response: dict[str, Any] = ecs.register_container_instance(**request)["containerInstance"]
    return response


def run_task(ecs: Any, cluster: str, instance_arn: str, *, group: str | None = None) -> str:
    """Start a task on an instance (StartTask, EC2 launch type); returns its ARN."""
    families = ecs.list_task_definition_families(familyPrefix="sleeper", status="ACTIVE")["families"]
    if not families:
        ecs.register_task_definition(
            family="sleeper", containerDefinitions=[{"name": "sleep", "image": "busybox", "memory": 64}]
        )
    request: dict[str, Any] = {
        "cluster": cluster,
        "taskDefinition": "sleeper",
        "containerInstances": [instance_arn],
    }
    if group:
        request["group"] = group
    response = ecs.start_task(**request)
    assert not response["failures"], response["failures"]
    arn: str = response["tasks"][0]["taskArn"]
    return arn


def report_running(ecs: Any, cluster: str, task_arn: str) -> None:
    ecs.submit_task_state_change(cluster=cluster, task=task_arn, status="RUNNING")


def seed_service(
    server: ThreadedServer, cluster: str, name: str, status: str = "ACTIVE", **fields: Any
) -> None:
    """Store a service document directly (the services API is written elsewhere)."""
    doc = {
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{name}",
        "serviceName": name,
        "status": status,
        **fields,
    }
    key = Key(ACCOUNT, REGION, "ecs:service", f"{cluster}/{name}")
    server.run(server.server.store.commit([Put(key, doc)]))


def stored(server: ThreadedServer, kind: str, name: str) -> dict[str, Any] | None:
    found = server.run(server.server.store.get(Key(ACCOUNT, REGION, kind, name)))
    return None if found is None else dict(found.value)
