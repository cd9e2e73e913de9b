"""The control-plane side of the agent channel (see docs/agent-protocol.md): work items and heartbeats.

The HTTP routes in `dockyard.server.agent_routes` call these; they hold no HTTP themselves.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.core.arns import parse_arn
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import CONTAINER_INSTANCE, TASK
from dockyard.services.ecs.service_targets import agent_desired_status
from dockyard.store import Conflict, Key, Put

__all__ = ["work_items", "work_item", "heartbeat", "instance_key"]

# A heartbeat is written at most this often per instance (polls are far more frequent).
HEARTBEAT_WRITE_INTERVAL = 10.0


def work_item(task: dict[str, Any]) -> dict[str, Any]:
    internal = task.get("dockyard", {})
    td = internal.get("taskDefinition", {})
    item: dict[str, Any] = {
        "taskArn": task["taskArn"],
        "clusterArn": task["clusterArn"],
        "region": internal.get("region"),
        "accountId": internal.get("accountId"),
        "desiredStatus": agent_desired_status(task),  # RUNNING while its targets drain
        "lastStatus": task.get("lastStatus"),
        "launchType": task.get("launchType"),
        "availabilityZone": task.get("availabilityZone"),
        "group": task.get("group"),
        "taskDefinition": td,
        "overrides": task.get("overrides", {}),
        "cpu": task.get("cpu"),
        "memory": task.get("memory"),
        "network": internal.get("network"),
        "containers": [
            {"name": c["name"], "containerArn": c["containerArn"]} for c in task.get("containers", [])
        ],
        "version": task.get("version", 1),
        "containerInstanceArn": task.get("containerInstanceArn"),
        "tags": task.get("tags", []),
        "pullStartedAt": task.get("pullStartedAt"),
        "pullStoppedAt": task.get("pullStoppedAt"),
    }
    for name in ("startedBy", "stopCode", "stoppedReason"):
        if task.get(name) is not None:
            item[name] = task[name]
    return item


async def work_items(ecs: Ecs, node: str, *, since: int = 0) -> tuple[list[str], list[dict[str, Any]]]:
    """The ARNs of every task placed on `node` that has not reached STOPPED, and the work items of
    those that changed after revision `since` (all of them when `since` is 0). Unchanged tasks are
    neither read nor sent: an agent keeps the item it already has."""
    listed: list[str] = []
    items: list[dict[str, Any]] = []
    for key, revision in await ecs.store.find_revisions(TASK, "node", node):
        listed.append(f"arn:aws:ecs:{key.region}:{key.account_id}:task/{key.name}")
        if revision > since:
            found = await ecs.store.get(key)
            if found is not None:
                items.append(work_item(found.value))
    return listed, items


def instance_key(instance_arn: str) -> Key | None:
    parsed = parse_arn(instance_arn)
    if parsed is None or parsed.resource_type != "container-instance":
        return None
    parts = parsed.resource_path.split("/")
    if len(parts) != 2:
        return None
    return Key(parsed.account_id, parsed.region, CONTAINER_INSTANCE, "/".join(parts))


async def heartbeat(ecs: Ecs, instance_arn: str) -> str:
    """Record that the instance's agent is connected. Returns "ok", "unknown" (no such instance)
    or "deregistered" (INACTIVE: its agent should stop, as ECS's agent does)."""
    key = instance_key(instance_arn)
    if key is None:
        return "unknown"
    now = ecs.clock.now()
    for _attempt in range(4):
        current = await ecs.store.get(key)
        if current is None:
            return "unknown"
        if current.value.get("status") == "INACTIVE":
            return "deregistered"
        doc = current.value
        internal = doc.get("dockyard", {})
        if doc.get("agentConnected") and now - float(internal.get("lastSeen", 0)) < HEARTBEAT_WRITE_INTERVAL:
            return "ok"
        updated = copy.deepcopy(doc)
        updated["agentConnected"] = True
        updated.setdefault("dockyard", {})["lastSeen"] = now
        try:
            await ecs.store.commit([Put(key, updated, expected_revision=current.revision)])
            return "ok"
        except Conflict:
            continue
    return "ok"
