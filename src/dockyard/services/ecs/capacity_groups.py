"""What ECS asks of Auto Scaling (and EC2) for its capacity providers, through their operations.

ECS never reads Auto Scaling's or EC2's tables: every call here is the other service's own
operation, made in process (`Ecs.peers`) with the identity `ecs.amazonaws.com`, exactly as ECS
calls them on AWS:

| call                                   | for                                                   |
|----------------------------------------|-------------------------------------------------------|
| DescribeAutoScalingGroups              | the group behind a provider, its instances and sizes  |
| DescribeLaunchTemplateVersions (EC2), DescribeLaunchConfigurations | the group's instance type |
| SetDesiredCapacity                     | managed scaling                                       |
| SetInstanceProtection                  | managed termination protection                        |
| Put/Describe/DeleteLifecycleHook, CompleteLifecycleAction | managed draining                   |
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.aws.local_client import LocalClient
from dockyard.core.errors import AwsError
from dockyard.core.instance_types import InstanceType, instance_type
from dockyard.services.ecs import errors
from dockyard.services.ecs.deps import Ecs

__all__ = [
    "DRAINING_HOOK",
    "group_name",
    "describe_group",
    "group_instance_type",
    "set_desired_capacity",
    "set_protection",
    "draining_hook",
    "set_draining_hook",
    "complete_termination",
]

# The lifecycle hook ECS puts on a group whose provider has managed draining.
DRAINING_HOOK = "ecs-managed-draining-termination-hook"
_DEFAULT_TYPE = "m1.small"  # what EC2 launches when a launch template names no type

Document = dict[str, Any]


def _client(ecs: Ecs, which: str) -> LocalClient:
    client: LocalClient | None = getattr(ecs.peers, which)
    if client is None:
        raise errors.ServerException(f"Dockyard's {which} API is not running in this server.")
    return client


def group_name(ref: str) -> str:
    """A group named by name or ARN (`...:autoScalingGroupName/<name>`)."""
    marker = ":autoScalingGroupName/"
    return ref.split(marker, 1)[1] if ref.startswith("arn:") and marker in ref else ref


async def describe_group(ecs: Ecs, ctx: RequestContext, ref: str) -> Document | None:
    """The group (with its Instances) a name or ARN names, or None."""
    name = group_name(ref)
    if not name:
        return None
    response = await _client(ecs, "autoscaling").call(
        "DescribeAutoScalingGroups",
        {"AutoScalingGroupNames": [name]},
        account_id=ctx.account_id,
        region=ctx.region,
    )
    groups = response.get("AutoScalingGroups", [])
    if not groups:
        return None
    group: Document = groups[0]
    if ref.startswith("arn:") and group.get("AutoScalingGroupARN") != ref:
        return None
    return group


async def group_instance_type(ecs: Ecs, ctx: RequestContext, group: Document) -> InstanceType | None:
    """The instance type the group launches: its instances', else its launch template's or
    launch configuration's."""
    for member in group.get("Instances", []):
        if member.get("InstanceType"):
            return instance_type(member["InstanceType"])
    name = _DEFAULT_TYPE
    try:
        if group.get("LaunchTemplate"):
            template = group["LaunchTemplate"]
            request: Document = {"Versions": [template.get("Version") or "$Default"]}
            if template.get("LaunchTemplateId"):
                request["LaunchTemplateId"] = template["LaunchTemplateId"]
            else:
                request["LaunchTemplateName"] = template["LaunchTemplateName"]
            response = await _client(ecs, "ec2").call(
                "DescribeLaunchTemplateVersions", request, account_id=ctx.account_id, region=ctx.region
            )
            versions = response.get("LaunchTemplateVersions", [])
            if versions:
                name = versions[0].get("LaunchTemplateData", {}).get("InstanceType") or name
        elif group.get("LaunchConfigurationName"):
            response = await _client(ecs, "autoscaling").call(
                "DescribeLaunchConfigurations",
                {"LaunchConfigurationNames": [group["LaunchConfigurationName"]]},
                account_id=ctx.account_id,
                region=ctx.region,
            )
            configs = response.get("LaunchConfigurations", [])
            if configs:
                name = configs[0].get("InstanceType") or name
    except AwsError:
        return None
    return instance_type(name)


async def set_desired_capacity(ecs: Ecs, ctx: RequestContext, group: str, desired: int) -> None:
    await _client(ecs, "autoscaling").call(
        "SetDesiredCapacity",
        {"AutoScalingGroupName": group, "DesiredCapacity": desired, "HonorCooldown": False},
        account_id=ctx.account_id,
        region=ctx.region,
    )


async def set_protection(ecs: Ecs, ctx: RequestContext, group: str, ids: list[str], protected: bool) -> None:
    for start in range(0, len(ids), 50):
        await _client(ecs, "autoscaling").call(
            "SetInstanceProtection",
            {
                "AutoScalingGroupName": group,
                "InstanceIds": ids[start : start + 50],
                "ProtectedFromScaleIn": protected,
            },
            account_id=ctx.account_id,
            region=ctx.region,
        )


async def draining_hook(ecs: Ecs, ctx: RequestContext, group: str) -> bool:
    """Whether the group carries ECS's managed-draining lifecycle hook."""
    response = await _client(ecs, "autoscaling").call(
        "DescribeLifecycleHooks",
        {"AutoScalingGroupName": group, "LifecycleHookNames": [DRAINING_HOOK]},
        account_id=ctx.account_id,
        region=ctx.region,
    )
    return bool(response.get("LifecycleHooks"))


async def set_draining_hook(ecs: Ecs, ctx: RequestContext, group: str, present: bool) -> None:
    """Put (or delete) the hook that holds terminating instances until ECS has drained them."""
    if present:
        await _client(ecs, "autoscaling").call(
            "PutLifecycleHook",
            {
                "AutoScalingGroupName": group,
                "LifecycleHookName": DRAINING_HOOK,
                "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
                "HeartbeatTimeout": 3600,
                "DefaultResult": "CONTINUE",
            },
            account_id=ctx.account_id,
            region=ctx.region,
        )
    else:
        await _client(ecs, "autoscaling").call(
            "DeleteLifecycleHook",
            {"AutoScalingGroupName": group, "LifecycleHookName": DRAINING_HOOK},
            account_id=ctx.account_id,
            region=ctx.region,
        )


async def complete_termination(ecs: Ecs, ctx: RequestContext, group: str, instance_id: str) -> None:
    """Let a drained instance's termination go on."""
    await _client(ecs, "autoscaling").call(
        "CompleteLifecycleAction",
        {
            "AutoScalingGroupName": group,
            "LifecycleHookName": DRAINING_HOOK,
            "InstanceId": instance_id,
            "LifecycleActionResult": "CONTINUE",
        },
        account_id=ctx.account_id,
        region=ctx.region,
    )
