"""Checking and resolving what a group is made of: capacity bounds, launch source, zones, tags,
termination policies. Used by CreateAutoScalingGroup and UpdateAutoScalingGroup.

Launch templates, subnets and zones are EC2's: they are checked by calling EC2's operations, and
EC2's refusal becomes Auto Scaling's `ValidationError` with AWS's wording.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.services.autoscaling.deps import AutoScaling
from dockyard.services.autoscaling.errors import ValidationError
from dockyard.services.autoscaling.launch_configurations import not_found as lc_not_found
from dockyard.services.autoscaling.resources import LAUNCH_CONFIGURATION, key

__all__ = [
    "TERMINATION_POLICIES",
    "check_capacity",
    "check_termination_policies",
    "check_unsupported",
    "launch_source",
    "zones",
    "group_tags",
]

TERMINATION_POLICIES = (
    "Default",
    "OldestInstance",
    "NewestInstance",
    "OldestLaunchConfiguration",
    "OldestLaunchTemplate",
    "ClosestToNextInstanceHour",
    "AllocationStrategy",
)


def check_capacity(low: int, high: int, desired: int) -> None:
    if high < low:
        raise ValidationError(f"Max bound, {high}, must be greater than or equal to min bound, {low}")
    if not low <= desired <= high:
        raise ValidationError(
            f"Desired capacity:{desired} must be between the specified min size:{low} and max size:{high}"
        )


def check_termination_policies(policies: list[str]) -> None:
    for policy in policies:
        if policy not in TERMINATION_POLICIES:
            raise ValidationError(
                f"Valid requests must contain valid termination policies: '{policy}' is not one of "
                f"{', '.join(TERMINATION_POLICIES)}"
            )


def check_unsupported(request: dict[str, Any]) -> None:
    """Members Dockyard cannot honour: answered as AWS answers for things that do not exist."""
    if request.get("TargetGroupARNs"):
        raise ValidationError(
            "Provided Target Groups may not be valid. Please ensure they exist and try again."
        )
    if request.get("LoadBalancerNames"):
        raise ValidationError(
            "Provided Load Balancers may not be valid. Please ensure they exist and try again."
        )
    if request.get("TrafficSources"):
        raise ValidationError(
            "Provided Traffic Sources may not be valid. Please ensure they exist and try again."
        )
    if request.get("MixedInstancesPolicy") or request.get("InstanceId"):
        raise ValidationError(
            "Dockyard's Auto Scaling launches from a LaunchTemplate or a LaunchConfigurationName; "
            "MixedInstancesPolicy and InstanceId are not supported."
        )


async def _ec2(
    scaling: AutoScaling, ctx: RequestContext, operation: str, request: dict[str, Any]
) -> dict[str, Any]:
    return await scaling.ec2.call(operation, request, account_id=ctx.account_id, region=ctx.region)


async def launch_source(scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    """`{"LaunchConfigurationName": ...}` or `{"LaunchTemplate": {Id, Name, Version}}`, checked."""
    config = request.get("LaunchConfigurationName")
    template = request.get("LaunchTemplate")
    if config and template:
        raise ValidationError(
            "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or "
            "MixedInstancesPolicy parameter."
        )
    if config:
        if await scaling.store.get(key(ctx, LAUNCH_CONFIGURATION, config)) is None:
            raise lc_not_found(config)
        return {"LaunchConfigurationName": config}
    if template:
        template_id, name = template.get("LaunchTemplateId"), template.get("LaunchTemplateName")
        if bool(template_id) == bool(name):
            raise ValidationError("Valid requests must contain either launchTemplateId or LaunchTemplateName")
        version = template.get("Version") or "$Default"
        lookup = {"LaunchTemplateIds": [template_id]} if template_id else {"LaunchTemplateNames": [name]}
        try:
            found = (await _ec2(scaling, ctx, "DescribeLaunchTemplates", lookup))["LaunchTemplates"][0]
            await _ec2(
                scaling,
                ctx,
                "DescribeLaunchTemplateVersions",
                {"LaunchTemplateId": found["LaunchTemplateId"], "Versions": [version]},
            )
        except AwsError as exc:
            what = f"template ID {template_id}" if template_id else f"template name {name}"
            if "version" in exc.message.lower() or "Version" in exc.code:
                raise ValidationError(
                    f"You must use a valid fully-formed launch template. {exc.message}"
                ) from None
            raise ValidationError(
                f"You must use a valid fully-formed launch template. The specified launch template, with "
                f"{what}, does not exist."
            ) from None
        return {
            "LaunchTemplate": {
                "LaunchTemplateId": found["LaunchTemplateId"],
                "LaunchTemplateName": found["LaunchTemplateName"],
                "Version": version,
            }
        }
    raise ValidationError(
        "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or "
        "MixedInstancesPolicy parameter."
    )


async def zones(
    scaling: AutoScaling, ctx: RequestContext, *, subnets: str | None, zone_names: list[str] | None
) -> tuple[list[str], dict[str, str]]:
    """The group's zones (in order) and the subnet each launches into, from VPCZoneIdentifier
    (comma-separated subnet ids) or AvailabilityZones (their default subnets)."""
    subnet_ids = [s.strip() for s in (subnets or "").split(",") if s.strip()]
    if not subnet_ids and not zone_names:
        raise ValidationError("At least one Availability Zone or VPC Subnet is required.")
    try:
        if subnet_ids:
            found = (await _ec2(scaling, ctx, "DescribeSubnets", {"SubnetIds": subnet_ids}))["Subnets"]
        else:
            await _ec2(scaling, ctx, "DescribeAvailabilityZones", {"ZoneNames": list(zone_names or [])})
            found = (
                await _ec2(
                    scaling,
                    ctx,
                    "DescribeSubnets",
                    {
                        "Filters": [
                            {"Name": "default-for-az", "Values": ["true"]},
                            {"Name": "availability-zone", "Values": list(zone_names or [])},
                        ]
                    },
                )
            )["Subnets"]
    except AwsError as exc:
        raise ValidationError(exc.message) from None
    by_id = {s["SubnetId"]: s for s in found}
    ordered = (
        [by_id[s] for s in subnet_ids] if subnet_ids else sorted(found, key=lambda s: s["AvailabilityZone"])
    )
    by_zone: dict[str, str] = {}
    for subnet in ordered:
        by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
    if subnet_ids and zone_names and set(zone_names) != set(by_zone):
        raise ValidationError(
            "The availability zones of the specified subnets and the Auto Scaling group do not match"
        )
    return list(by_zone), by_zone


def group_tags(name: str, tags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tags as DescribeAutoScalingGroups shows them (ResourceId = the group, merged by key)."""
    merged: dict[str, dict[str, Any]] = {}
    for tag in tags:
        tag_key = str(tag.get("Key", ""))
        if not tag_key:
            raise ValidationError("Tag key must not be empty.")
        if tag_key.lower().startswith("aws:"):
            raise ValidationError(f"Tag keys starting with 'aws:' are reserved for internal use: {tag_key}")
        merged[tag_key] = {
            "ResourceId": name,
            "ResourceType": "auto-scaling-group",
            "Key": tag_key,
            "Value": str(tag.get("Value") or ""),
            "PropagateAtLaunch": bool(tag.get("PropagateAtLaunch", False)),
        }
    if len(merged) > 50:
        raise ValidationError("The number of tags exceeds the limit of 50 tags per Auto Scaling group.")
    return list(merged.values())
