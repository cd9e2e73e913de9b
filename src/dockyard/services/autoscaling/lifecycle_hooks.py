"""Lifecycle hooks: PutLifecycleHook, DescribeLifecycleHooks, DeleteLifecycleHook,
CompleteLifecycleAction, RecordLifecycleActionHeartbeat, and the waits they put instances in.

A hook (kind `autoscaling:lifecycle-hook`, name `<group>/<hook>`) holds an instance in a wait
state at one transition until every hook of that transition is completed or times out:

```
launching:   Pending --(running)--> Pending:Wait --all CONTINUE--> Pending:Proceed --> InService
                                                 \\--ABANDON------> Pending:Proceed --> terminated
terminating: (scale-in, TerminateInstanceInAutoScalingGroup, unhealthy) --> Terminating:Wait
                                     --completed or timed out--> Terminating:Proceed --> terminated
```
A hook that is not completed within its HeartbeatTimeout (default 3600 s;
RecordLifecycleActionHeartbeat restarts it) takes its DefaultResult (default ABANDON). The wait is
recorded on the membership document (`dockyard.lifecycle`: the hooks still open, with their
deadlines, and the result so far); the group controller moves the instance on.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.autoscaling.api import api
from dockyard.services.autoscaling.deps import AutoScaling
from dockyard.services.autoscaling.errors import LimitExceededFault, ValidationError
from dockyard.services.autoscaling.resources import MEMBER, key, require_group
from dockyard.store import Conflict, Delete, Put

__all__ = [
    "HOOK",
    "LAUNCHING",
    "TERMINATING",
    "hooks_of",
    "enter_wait",
    "next_deadline",
    "expire",
    "put_lifecycle_hook",
    "describe_lifecycle_hooks",
    "delete_lifecycle_hook",
    "complete_lifecycle_action",
    "record_lifecycle_action_heartbeat",
]

HOOK = "autoscaling:lifecycle-hook"
LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
_WAIT = {LAUNCHING: "Pending:Wait", TERMINATING: "Terminating:Wait"}
_PROCEED = {LAUNCHING: "Pending:Proceed", TERMINATING: "Terminating:Proceed"}
_MAX_HOOKS = 50
_ATTEMPTS = 8

Document = dict[str, Any]


async def hooks_of(scaling: AutoScaling, ctx: RequestContext, group: str, transition: str) -> list[Document]:
    found = await scaling.store.list(HOOK, account_id=ctx.account_id, region=ctx.region, prefix=f"{group}/")
    return [h.value for h in found if h.value["LifecycleTransition"] == transition]


def enter_wait(member: Document, hooks: list[Document], *, now: float, token: str) -> bool:
    """Put a member into the wait of its transition when hooks exist; False when none do."""
    if not hooks:
        return False
    transition = hooks[0]["LifecycleTransition"]
    member["LifecycleState"] = _WAIT[transition]
    member["dockyard"]["lifecycle"] = {
        "transition": transition,
        "token": token,
        "open": {h["LifecycleHookName"]: now + float(h["HeartbeatTimeout"]) for h in hooks},
        "defaults": {h["LifecycleHookName"]: h["DefaultResult"] for h in hooks},
        "result": "CONTINUE",
    }
    return True


def _close(member: Document, hook: str, result: str) -> None:
    lifecycle = member["dockyard"]["lifecycle"]
    lifecycle["open"].pop(hook, None)
    if result == "ABANDON":
        lifecycle["result"] = "ABANDON"
    if not lifecycle["open"] or (result == "ABANDON" and lifecycle["transition"] == LAUNCHING):
        lifecycle["open"] = {}
        member["LifecycleState"] = _PROCEED[lifecycle["transition"]]


def expire(member: Document, now: float) -> bool:
    """Close the hooks whose heartbeat timed out, with their default result; True when changed."""
    lifecycle = member.get("dockyard", {}).get("lifecycle")
    if not lifecycle or not member["LifecycleState"].endswith(":Wait"):
        return False
    due = [name for name, deadline in lifecycle["open"].items() if deadline <= now]
    for name in due:
        _close(member, name, lifecycle["defaults"].get(name, "ABANDON"))
    return bool(due)


def next_deadline(member: Document) -> float | None:
    lifecycle = member.get("dockyard", {}).get("lifecycle")
    if not lifecycle or not member["LifecycleState"].endswith(":Wait") or not lifecycle["open"]:
        return None
    return float(min(lifecycle["open"].values()))


def _labels(member: Document) -> dict[str, str]:
    return {"group": member["AutoScalingGroupName"]}


def _hook_view(doc: Document) -> Document:
    return {k: v for k, v in doc.items() if k != "dockyard"}


@api.operation("PutLifecycleHook")
async def put_lifecycle_hook(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    group = (await require_group(scaling, ctx, request["AutoScalingGroupName"])).value["AutoScalingGroupName"]
    name = request["LifecycleHookName"]
    at = key(ctx, HOOK, f"{group}/{name}")
    current = await scaling.store.get(at)
    transition = request.get("LifecycleTransition") or (
        current.value["LifecycleTransition"] if current else None
    )
    if transition is None:
        raise ValidationError("LifecycleTransition must be specified for a new lifecycle hook.")
    if transition not in (LAUNCHING, TERMINATING):
        raise ValidationError(
            f"Invalid Lifecycle Transition: {transition}. "
            f"Valid transitions are {LAUNCHING} and {TERMINATING}."
        )
    result = request.get("DefaultResult") or (current.value["DefaultResult"] if current else "ABANDON")
    if result not in ("CONTINUE", "ABANDON"):
        raise ValidationError(f"Valid values for DefaultResult are CONTINUE and ABANDON, not {result}.")
    timeout = request.get("HeartbeatTimeout")
    if timeout is None:
        timeout = current.value["HeartbeatTimeout"] if current else 3600
    if not 30 <= timeout <= 7200:
        raise ValidationError("HeartbeatTimeout must be between 30 and 7200 seconds.")
    if current is None:
        existing = await scaling.store.list(
            HOOK, account_id=ctx.account_id, region=ctx.region, prefix=f"{group}/"
        )
        if len(existing) >= _MAX_HOOKS:
            raise LimitExceededFault(
                f"The maximum number of lifecycle hooks ({_MAX_HOOKS}) has been reached."
            )
    doc: Document = {
        "LifecycleHookName": name,
        "AutoScalingGroupName": group,
        "LifecycleTransition": transition,
        "HeartbeatTimeout": timeout,
        "GlobalTimeout": min(100 * timeout, 172800),
        "DefaultResult": result,
    }
    for member in ("NotificationTargetARN", "RoleARN", "NotificationMetadata"):
        value = (
            request.get(member)
            if request.get(member) is not None
            else (current.value.get(member) if current else None)
        )
        if value is not None:
            doc[member] = value
    await scaling.store.commit([Put(at, doc, expected_revision=current.revision if current else 0)])
    return {}


@api.operation("DescribeLifecycleHooks")
async def describe_lifecycle_hooks(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    group = (await require_group(scaling, ctx, request["AutoScalingGroupName"])).value["AutoScalingGroupName"]
    names = set(request.get("LifecycleHookNames") or [])
    found = await scaling.store.list(HOOK, account_id=ctx.account_id, region=ctx.region, prefix=f"{group}/")
    return {
        "LifecycleHooks": [
            _hook_view(h.value) for h in found if not names or h.value["LifecycleHookName"] in names
        ]
    }


@api.operation("DeleteLifecycleHook")
async def delete_lifecycle_hook(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    group = (await require_group(scaling, ctx, request["AutoScalingGroupName"])).value["AutoScalingGroupName"]
    name = request["LifecycleHookName"]
    at = key(ctx, HOOK, f"{group}/{name}")
    if await scaling.store.get(at) is None:
        raise ValidationError(f"No Lifecycle Hook found with name {name} for group {group}")
    await scaling.store.commit([Delete(at)])
    return {}


async def _act(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any], result: str | None
) -> None:
    """Complete (result) or heartbeat (None) the named hook's action on one instance."""
    group = (await require_group(scaling, ctx, request["AutoScalingGroupName"])).value["AutoScalingGroupName"]
    hook = request["LifecycleHookName"]
    hook_doc = await scaling.store.get(key(ctx, HOOK, f"{group}/{hook}"))
    if hook_doc is None:
        raise ValidationError(f"No Lifecycle Hook found with name {hook} for group {group}")
    token, instance_id = request.get("LifecycleActionToken"), request.get("InstanceId")
    if token is None and instance_id is None:
        raise ValidationError("Either LifecycleActionToken or InstanceId must be specified.")
    for _ in range(_ATTEMPTS):
        members = await scaling.store.find(
            MEMBER, "group", group, account_id=ctx.account_id, region=ctx.region
        )
        found = next(
            (
                m
                for m in members
                if m.value["LifecycleState"].endswith(":Wait")
                and hook in m.value["dockyard"].get("lifecycle", {}).get("open", {})
                and (instance_id is None or m.value["InstanceId"] == instance_id)
                and (token is None or m.value["dockyard"]["lifecycle"].get("token") == token)
            ),
            None,
        )
        if found is None:
            what = f"instance ID {instance_id}" if instance_id else f"token {token}"
            raise ValidationError(f"No active Lifecycle Action found with {what}")
        doc = copy.deepcopy(found.value)
        if result is None:
            doc["dockyard"]["lifecycle"]["open"][hook] = scaling.clock.now() + float(
                hook_doc.value["HeartbeatTimeout"]
            )
        else:
            _close(doc, hook, result)
        try:
            await scaling.store.commit(
                [Put(found.key, doc, expected_revision=found.revision, labels=_labels(doc))]
            )
            return
        except Conflict:
            continue


@api.operation("CompleteLifecycleAction")
async def complete_lifecycle_action(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    result = request["LifecycleActionResult"]
    if result not in ("CONTINUE", "ABANDON"):
        raise ValidationError(
            f"Valid values for LifecycleActionResult are CONTINUE and ABANDON, not {result}."
        )
    await _act(scaling, ctx, request, result)
    return {}


@api.operation("RecordLifecycleActionHeartbeat")
async def record_lifecycle_action_heartbeat(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    await _act(scaling, ctx, request, None)
    return {}
