"""Container instance documents: keys and ARNs, lookup, attribute rules, counts and views.

A container instance is stored (kind `ecs:container-instance`, name `<cluster>/<32 hex>`) in the
shape DescribeContainerInstances returns, minus what is computed on read: `runningTasksCount` and
`pendingTasksCount` come from the task documents placed on it. Internal fields live under the
document's `dockyard` member: `hostAddress` (the instance's private address) and `platformDevices`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import parse_arn
from dockyard.core.cql import InstanceView
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.errors import InvalidParameterException
from dockyard.services.ecs.resources import CONTAINER_INSTANCE, TASK, ecs_arn, key
from dockyard.store import Conflict, Key, Put, Versioned

__all__ = [
    "MAX_CUSTOM_ATTRIBUTES",
    "instance_arn",
    "instance_key",
    "instance_ref",
    "is_builtin",
    "custom_attribute_count",
    "check_attribute",
    "get_instance",
    "tasks_by_instance",
    "task_counts",
    "render_instance",
    "instance_view",
    "modify",
]

MAX_CUSTOM_ATTRIBUTES = 10
_BUILTIN_PREFIXES = ("ecs.", "com.amazonaws.ecs.")
_NAME = re.compile(r"[A-Za-z0-9_./\\-]{1,128}")
_VALUE = re.compile(r"[A-Za-z0-9_./\\@: -]{1,128}")
_PENDING = frozenset({"PROVISIONING", "PENDING", "ACTIVATING"})

Document = dict[str, Any]


def instance_arn(ctx: RequestContext, cluster: str, instance_id: str) -> str:
    return ecs_arn(ctx, f"container-instance/{cluster}/{instance_id}")


def instance_key(ctx: RequestContext, cluster: str, instance_id: str) -> Key:
    return key(ctx, CONTAINER_INSTANCE, f"{cluster}/{instance_id}")


def instance_ref(value: str) -> tuple[str | None, str]:
    """(cluster named by the reference or None, instance id) for an id or either ARN format."""
    parsed = parse_arn(value)
    if parsed is None or parsed.resource_type != "container-instance":
        return None, value
    parts = parsed.resource_path.split("/")
    return (parts[0] if len(parts) == 2 else None), parts[-1]


def is_builtin(name: str) -> bool:
    """Attributes ECS and its agent set (`ecs.*`, `com.amazonaws.ecs.*`) are not custom."""
    return name.startswith(_BUILTIN_PREFIXES)


def custom_attribute_count(attributes: Iterable[Mapping[str, Any]]) -> int:
    return sum(1 for a in attributes if not is_builtin(str(a.get("name", ""))))


def check_attribute(attribute: Mapping[str, Any]) -> None:
    """AWS's attribute rules (reference §5.3): InvalidParameterException when one is broken."""
    name = attribute.get("name", "")
    if not _NAME.fullmatch(name):
        raise InvalidParameterException(
            f"Attribute name '{name}' is not valid. An attribute name must contain between 1 and 128 "
            "characters: letters, numbers, hyphens, underscores, forward slashes, back slashes or periods."
        )
    value = attribute.get("value")
    if value is not None and (not _VALUE.fullmatch(value) or value != value.strip(" ")):
        raise InvalidParameterException(
            f"Attribute value '{value}' is not valid. An attribute value must contain between 1 and 128 "
            "characters: letters, numbers, hyphens, underscores, periods, at signs, forward slashes, "
            "back slashes, colons or spaces, and cannot start or end with a space."
        )


async def get_instance(ecs: Ecs, ctx: RequestContext, cluster: str, ref: str) -> Versioned | None:
    """The stored instance (any status) a request names in `cluster`, or None."""
    named_cluster, instance_id = instance_ref(ref)
    if named_cluster is not None and named_cluster != cluster:
        return None
    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", instance_id):
        return None
    return await ecs.store.get(instance_key(ctx, cluster, instance_id))


async def tasks_by_instance(ecs: Ecs, ctx: RequestContext, cluster: str) -> dict[str, list[Document]]:
    """The cluster's task documents grouped by the container instance ARN they are placed on."""
    grouped: dict[str, list[Document]] = {}
    for task in await ecs.store.list(
        TASK, account_id=ctx.account_id, region=ctx.region, prefix=f"{cluster}/"
    ):
        node = task.value.get("containerInstanceArn")
        if node:
            grouped.setdefault(node, []).append(task.value)
    return grouped


def task_counts(tasks: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """(runningTasksCount, pendingTasksCount): desired RUNNING and not stopped; PENDING-side."""
    running = pending = 0
    for task in tasks:
        last = task.get("lastStatus")
        if task.get("desiredStatus") == "RUNNING" and last != "STOPPED":
            running += 1
        if last in _PENDING:
            pending += 1
    return running, pending


def render_instance(
    doc: Mapping[str, Any], tasks: Iterable[Mapping[str, Any]], *, tags: bool = True, health: bool = False
) -> Document:
    """The ContainerInstance a response shows, with counts computed from `tasks`."""
    out = dict(doc)
    out["runningTasksCount"], out["pendingTasksCount"] = task_counts(tasks)
    out.setdefault("tags", [])
    if not tags:
        out.pop("tags")
    if not health:
        out.pop("healthStatus", None)
    return out


def instance_view(doc: Mapping[str, Any], tasks: Iterable[Mapping[str, Any]]) -> InstanceView:
    """What the cluster query language sees of an instance and the tasks placed on it."""
    tasks = list(tasks)
    running, _ = task_counts(tasks)
    return InstanceView(
        attributes={a["name"]: a.get("value") for a in doc.get("attributes", [])},
        ec2_instance_id=str(doc.get("ec2InstanceId", "")),
        registered_at=float(doc.get("registeredAt", 0.0)),
        running_tasks_count=running,
        agent_connected=bool(doc.get("agentConnected", False)),
        agent_version=(doc.get("versionInfo") or {}).get("agentVersion"),
        task_groups=frozenset(
            t["group"] for t in tasks if t.get("group") and t.get("lastStatus") != "STOPPED"
        ),
    )


async def modify(ecs: Ecs, at: Key, mutate: Callable[[Document], Document | None]) -> Versioned | None:
    """Read-modify-write one document with compare-and-swap, retrying on conflict.

    `mutate` gets a private copy and returns the new document, or None to leave it unchanged
    (then the current version is returned). Returns None when the document does not exist.
    """
    while True:
        current = await ecs.store.get(at)
        if current is None:
            return None
        changed = mutate(copy.deepcopy(current.value))
        if changed is None:
            return current
        try:
            revision = await ecs.store.commit([Put(at, changed, expected_revision=current.revision)])
        except Conflict:
            continue
        return Versioned(at, changed, revision)
