"""The stored Task document: how a new task looks, and the status order it moves through.

A task is stored in the shape DescribeTasks returns. What only Dockyard needs lives under the
document's `dockyard` member (never serialized): the node the task is placed on, the resources it
reserved there, its awsvpc network block and the task definition it runs (a snapshot, so a task
keeps running what it was started with whatever happens to the definition later).
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.networking import attachment
from dockyard.services.ecs.resources import ecs_arn
from dockyard.services.ecs.task_request import Launch

__all__ = ["STATUS_ORDER", "status_rank", "new_task", "FARGATE_NODE", "node_of"]

STATUS_ORDER = (
    "PROVISIONING",
    "PENDING",
    "ACTIVATING",
    "RUNNING",
    "DEACTIVATING",
    "STOPPING",
    "DEPROVISIONING",
    "STOPPED",
)
_RANK = {status: i for i, status in enumerate(STATUS_ORDER)}
FARGATE_NODE = "fargate"


def status_rank(status: str) -> int:
    return _RANK.get(status, 0)


def node_of(task: dict[str, Any]) -> str | None:
    node = task.get("dockyard", {}).get("node")
    return str(node) if node is not None else None


def _container_overrides(td: dict[str, Any], overrides: dict[str, Any]) -> list[dict[str, Any]]:
    given = {item["name"]: item for item in overrides.get("containerOverrides", [])}
    return [given.get(c["name"], {"name": c["name"]}) for c in td.get("containerDefinitions", [])]


def new_task(
    ecs: Ecs,
    ctx: RequestContext,
    launch: Launch,
    *,
    task_id: str,
    instance: dict[str, Any] | None,
    network: dict[str, Any] | None,
    reserved: dict[str, Any] | None,
) -> dict[str, Any]:
    td = launch.task_definition
    cluster = launch.cluster["clusterName"]
    task_arn = ecs_arn(ctx, f"task/{cluster}/{task_id}")
    now = ecs.clock.now()
    overrides = {
        "containerOverrides": _container_overrides(td, launch.overrides),
        "inferenceAcceleratorOverrides": launch.overrides.get("inferenceAcceleratorOverrides", []),
    }
    for name in ("cpu", "memory", "taskRoleArn", "executionRoleArn", "ephemeralStorage"):
        if launch.overrides.get(name) is not None:
            overrides[name] = launch.overrides[name]
    containers = []
    by_name = {item["name"]: item for item in launch.overrides.get("containerOverrides", [])}
    for definition in td.get("containerDefinitions", []):
        override = by_name.get(definition["name"], {})
        container: dict[str, Any] = {
            "containerArn": ecs_arn(ctx, f"container/{cluster}/{task_id}/{ecs.ids.uuid()}"),
            "taskArn": task_arn,
            "name": definition["name"],
            "image": definition.get("image", ""),
            "lastStatus": "PENDING",
            "networkInterfaces": [],
            "healthStatus": "UNKNOWN",
            "cpu": str(override.get("cpu", definition.get("cpu", 0))),
        }
        memory = override.get("memory", definition.get("memory"))
        reservation = override.get("memoryReservation", definition.get("memoryReservation"))
        if memory is not None:
            container["memory"] = str(memory)
        if reservation is not None:
            container["memoryReservation"] = str(reservation)
        if network is not None:
            container["networkInterfaces"] = [
                {"attachmentId": network["attachmentId"], "privateIpv4Address": network["privateIpv4Address"]}
            ]
        containers.append(container)

    task: dict[str, Any] = {
        "taskArn": task_arn,
        "clusterArn": launch.cluster["clusterArn"],
        "taskDefinitionArn": td["taskDefinitionArn"],
        "overrides": overrides,
        # PROVISIONING while an ENI is attached (awsvpc) or capacity is found; otherwise PENDING at once.
        "lastStatus": "PROVISIONING" if network is not None or launch.capacity_provider else "PENDING",
        "desiredStatus": "RUNNING",
        "containers": containers,
        "version": 1,
        "connectivity": "CONNECTED",
        "connectivityAt": now,
        "createdAt": now,
        "group": launch.group,
        "launchType": launch.launch_type,
        "healthStatus": "UNKNOWN",
        "tags": launch.tags,
        "enableExecuteCommand": launch.enable_execute_command,
        "attachments": [],
        "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
    }
    if launch.task_cpu is not None:
        task["cpu"] = str(launch.task_cpu)
    if launch.task_memory is not None:
        task["memory"] = str(launch.task_memory)
    if launch.started_by is not None:
        task["startedBy"] = launch.started_by
    if launch.capacity_provider is not None:
        task["capacityProviderName"] = launch.capacity_provider
    if network is not None:
        task["attachments"] = [attachment(network, "PRECREATED")]
        task["availabilityZone"] = network["availabilityZone"]
    if launch.launch_type == "FARGATE":
        storage = launch.overrides.get("ephemeralStorage") or td.get("ephemeralStorage") or {"sizeInGiB": 20}
        task["platformVersion"] = launch.platform_version
        task["platformFamily"] = "Linux"
        task["ephemeralStorage"] = {"sizeInGiB": storage["sizeInGiB"]}
        task["fargateEphemeralStorage"] = {"sizeInGiB": storage["sizeInGiB"]}
        node = FARGATE_NODE
    elif instance is not None:
        task["containerInstanceArn"] = instance["containerInstanceArn"]
        for attribute in instance.get("attributes", []):
            if attribute.get("name") == "ecs.availability-zone" and "availabilityZone" not in task:
                task["availabilityZone"] = attribute.get("value")
        node = instance["containerInstanceArn"]
    else:  # waiting in PROVISIONING for capacity (capacity_launch.py): no agent has it yet
        node = None
    task["dockyard"] = {
        "node": node,
        "region": ctx.region,
        "accountId": ctx.account_id,
        "taskDefinition": td,
        "network": network,
        "reserved": reserved,
        **launch.extra,
    }
    return task
