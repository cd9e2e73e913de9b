"""Helpers for task API tests: task definitions, the default subnets, and an agent's view."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

from dockyard.services.ecs.networking import default_subnets

ACCOUNT = "123456789012"
REGION = "us-east-1"


def subnets() -> list[str]:
    return [s.subnet_id for s in default_subnets(ACCOUNT, REGION)]


def network(subnet_ids: list[str] | None = None) -> dict[str, Any]:
    return {"awsvpcConfiguration": {"subnets": subnet_ids or subnets()[:1]}}


def fargate_td(ecs: Any, family: str = "web", **extra: Any) -> str:
    response = ecs.register_task_definition(
        family=family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": "app", "image": "dockyard/hello:latest", "portMappings": [{"containerPort": 80}]},
            {"name": "sidecar", "image": "dockyard/busybox:latest", "essential": False},
        ],
        **extra,
    )
    return str(response["taskDefinition"]["taskDefinitionArn"])


def bridge_td(ecs: Any, family: str = "api", *, memory: int = 128, host_port: int = 0, cpu: int = 128) -> str:
    response = ecs.register_task_definition(
        family=family,
        containerDefinitions=[
            {
                "name": "app",
                "image": "dockyard/hello:latest",
                "memory": memory,
                "cpu": cpu,
                "portMappings": [{"containerPort": 80, "hostPort": host_port}],
            }
        ],
    )
    return str(response["taskDefinition"]["taskDefinitionArn"])


def http(endpoint: str, method: str, path: str, body: Any = None, **query: str) -> tuple[int, Any]:
    url = endpoint + path + ("?" + urllib.parse.urlencode(query) if query else "")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, method=method, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def poll(endpoint: str, node: str, revision: int = 0, wait: float = 0) -> dict[str, Any]:
    status, body = http(
        endpoint,
        "GET",
        f"/_dockyard/agent/v1/nodes/{urllib.parse.quote(node, safe='')}/tasks",
        revision=str(revision),
        wait=str(wait),
    )
    assert status == 200, body
    return dict(body)


def report(endpoint: str, *reports: dict[str, Any]) -> dict[str, Any]:
    status, body = http(endpoint, "POST", "/_dockyard/agent/v1/reports", {"tasks": list(reports)})
    assert status == 200, body
    return dict(body)
