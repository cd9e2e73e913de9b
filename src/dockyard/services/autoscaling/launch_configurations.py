"""Launch configurations: Create, Describe, Delete.

A launch configuration is immutable; the controller turns it into a RunInstances request
(`run_request`). User data arrives base64-encoded (the SDKs and the CLI encode it) and is returned
the same way.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.autoscaling.api import api
from dockyard.services.autoscaling.deps import AutoScaling
from dockyard.services.autoscaling.errors import AlreadyExistsFault, ResourceInUseFault, ValidationError
from dockyard.services.autoscaling.resources import (
    GROUP,
    LAUNCH_CONFIGURATION,
    key,
    launch_configuration_arn,
    page,
)
from dockyard.store import Conflict, Delete, Put

__all__ = [
    "run_request",
    "not_found",
    "create_launch_configuration",
    "describe_launch_configurations",
    "delete_launch_configuration",
]


def not_found(name: str) -> ValidationError:
    return ValidationError(f"Launch configuration name not found - Launch configuration {name} not found")


def run_request(config: dict[str, Any]) -> dict[str, Any]:
    """The RunInstances members a launch configuration stands for."""
    request: dict[str, Any] = {"ImageId": config["ImageId"], "InstanceType": config["InstanceType"]}
    if config.get("UserData"):
        request["UserData"] = config["UserData"]
    if config.get("KeyName"):
        request["KeyName"] = config["KeyName"]
    groups = config.get("SecurityGroups", [])
    if groups:
        ids = [g for g in groups if g.startswith("sg-")]
        names = [g for g in groups if not g.startswith("sg-")]
        if ids:
            request["SecurityGroupIds"] = ids
        if names:
            request["SecurityGroups"] = names
    profile = config.get("IamInstanceProfile")
    if profile:
        request["IamInstanceProfile"] = {"Arn": profile} if profile.startswith("arn:") else {"Name": profile}
    request["Monitoring"] = {"Enabled": bool(config.get("InstanceMonitoring", {}).get("Enabled", True))}
    if config.get("MetadataOptions"):
        request["MetadataOptions"] = config["MetadataOptions"]
    return request


@api.operation("CreateLaunchConfiguration")
async def create_launch_configuration(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    name = request["LaunchConfigurationName"]
    if request.get("InstanceId"):
        raise ValidationError(
            "Dockyard does not create launch configurations from an instance (InstanceId); "
            "give ImageId and InstanceType."
        )
    for member in ("ImageId", "InstanceType"):
        if not request.get(member):
            raise ValidationError(f"{member} must be specified.")
    doc: dict[str, Any] = {
        "LaunchConfigurationName": name,
        "LaunchConfigurationARN": launch_configuration_arn(ctx, scaling.ids.uuid(), name),
        "ImageId": request["ImageId"],
        "KeyName": request.get("KeyName", ""),
        "SecurityGroups": list(request.get("SecurityGroups", [])),
        "ClassicLinkVPCSecurityGroups": [],
        "UserData": request.get("UserData", ""),
        "InstanceType": request["InstanceType"],
        "KernelId": request.get("KernelId", ""),
        "RamdiskId": request.get("RamdiskId", ""),
        "BlockDeviceMappings": list(request.get("BlockDeviceMappings", [])),
        "InstanceMonitoring": {"Enabled": bool(request.get("InstanceMonitoring", {}).get("Enabled", True))},
        "CreatedTime": scaling.clock.now(),
        "EbsOptimized": bool(request.get("EbsOptimized", False)),
    }
    for member in (
        "IamInstanceProfile",
        "AssociatePublicIpAddress",
        "MetadataOptions",
        "PlacementTenancy",
        "SpotPrice",
    ):
        if request.get(member) is not None:
            doc[member] = request[member]
    try:
        await scaling.store.commit([Put(key(ctx, LAUNCH_CONFIGURATION, name), doc, expected_revision=0)])
    except Conflict:
        raise AlreadyExistsFault(
            "Launch Configuration by this name already exists - A launch configuration already exists "
            f"with the name {name}"
        ) from None
    return {}


@api.operation("DescribeLaunchConfigurations")
async def describe_launch_configurations(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    names = request.get("LaunchConfigurationNames", [])
    docs = await scaling.store.list(LAUNCH_CONFIGURATION, account_id=ctx.account_id, region=ctx.region)
    selected = [d.value for d in docs if not names or d.key.name in names]
    items, token = page(selected, request, key=lambda d: d["LaunchConfigurationName"], default=50, limit=100)
    return {"LaunchConfigurations": items, **({"NextToken": token} if token else {})}


@api.operation("DeleteLaunchConfiguration")
async def delete_launch_configuration(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    name = request["LaunchConfigurationName"]
    found = await scaling.store.get(key(ctx, LAUNCH_CONFIGURATION, name))
    if found is None:
        raise not_found(name)
    for group in await scaling.store.list(GROUP, account_id=ctx.account_id, region=ctx.region):
        if group.value.get("LaunchConfigurationName") == name:
            raise ResourceInUseFault(
                f"Cannot delete launch configuration {name} because it is attached to AutoScalingGroup "
                f"{group.key.name}"
            )
    await scaling.store.commit([Delete(found.key, expected_revision=found.revision)])
    return {}
