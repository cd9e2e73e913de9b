"""What ELBv2 asks EC2: subnets, security groups, the VPC and instances, through EC2's operations.

Each helper calls EC2 in process (`Elbv2.ec2`) in the caller's account and region and turns EC2's
answer into what ELBv2 says about it (`SubnetNotFound`, `InvalidSecurityGroup`, ...).
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.errors import InvalidSecurityGroup, SubnetNotFound, ValidationError

__all__ = [
    "subnets",
    "default_subnets",
    "check_security_groups",
    "default_security_group",
    "check_vpc",
    "instances",
]


async def _call(elb: Elbv2, ctx: RequestContext, operation: str, request: dict[str, Any]) -> dict[str, Any]:
    return await elb.ec2.call(operation, request, account_id=ctx.account_id, region=ctx.region)


async def subnets(elb: Elbv2, ctx: RequestContext, subnet_ids: list[str]) -> list[dict[str, Any]]:
    """The subnets `subnet_ids` name, in that order; SubnetNotFound for one EC2 does not know."""
    for subnet_id in subnet_ids:
        if not subnet_id.startswith("subnet-"):
            raise SubnetNotFound(f"The subnet ID '{subnet_id}' is not valid")
    try:
        found = (await _call(elb, ctx, "DescribeSubnets", {"SubnetIds": list(dict.fromkeys(subnet_ids))}))[
            "Subnets"
        ]
    except AwsError as error:
        missing = next((s for s in subnet_ids if s in error.message), subnet_ids[0])
        raise SubnetNotFound(f"The subnet ID '{missing}' is not valid") from None
    by_id = {s["SubnetId"]: s for s in found}
    return [by_id[s] for s in subnet_ids]


async def default_subnets(elb: Elbv2, ctx: RequestContext) -> list[dict[str, Any]]:
    """The default VPC's default subnets (one per availability zone)."""
    found = await _call(
        elb, ctx, "DescribeSubnets", {"Filters": [{"Name": "default-for-az", "Values": ["true"]}]}
    )
    return sorted(found["Subnets"], key=lambda s: s["AvailabilityZone"])


async def check_security_groups(elb: Elbv2, ctx: RequestContext, group_ids: list[str], vpc_id: str) -> None:
    """InvalidSecurityGroup unless every group exists in `vpc_id`."""
    for group_id in group_ids:
        if not group_id.startswith("sg-"):
            raise InvalidSecurityGroup(f"Security group '{group_id}' does not exist")
    try:
        found = (
            await _call(elb, ctx, "DescribeSecurityGroups", {"GroupIds": list(dict.fromkeys(group_ids))})
        )["SecurityGroups"]
    except AwsError as error:
        missing = next((g for g in group_ids if g in error.message), group_ids[0])
        raise InvalidSecurityGroup(f"Security group '{missing}' does not exist") from None
    for group in found:
        if group.get("VpcId") != vpc_id:
            raise InvalidSecurityGroup(
                f"Security group '{group['GroupId']}' does not belong to VPC '{vpc_id}'"
            )


async def default_security_group(elb: Elbv2, ctx: RequestContext, vpc_id: str) -> str:
    """The id of the VPC's security group named `default` (what an ALB gets without any)."""
    request = {
        "Filters": [{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    }
    found = (await _call(elb, ctx, "DescribeSecurityGroups", request))["SecurityGroups"]
    return str(found[0]["GroupId"])


async def check_vpc(elb: Elbv2, ctx: RequestContext, vpc_id: str) -> dict[str, Any]:
    """The VPC `vpc_id` names; ValidationError when EC2 does not know it."""
    try:
        found = (await _call(elb, ctx, "DescribeVpcs", {"VpcIds": [vpc_id]}))["Vpcs"]
    except AwsError:
        found = []
    if not found:
        raise ValidationError(f"The VPC ID '{vpc_id}' is not found")
    return dict(found[0])


async def instances(elb: Elbv2, ctx: RequestContext, instance_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The instances EC2 knows among `instance_ids`, by id (unknown ids are simply absent)."""
    wanted = sorted({i for i in instance_ids if i.startswith("i-")})
    if not wanted:
        return {}
    request = {"Filters": [{"Name": "instance-id", "Values": wanted}]}
    found: dict[str, dict[str, Any]] = {}
    while True:
        answer = await _call(elb, ctx, "DescribeInstances", request)
        for reservation in answer.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                found[instance["InstanceId"]] = instance
        token = answer.get("NextToken")
        if not token:
            return found
        request = {**request, "NextToken": token}
