"""The default VPC as EC2 describes it: DescribeVpcs, DescribeSubnets, DescribeAvailabilityZones and
DescribeAccountAttributes.

Every account and region has exactly the default VPC of `dockyard.core.vpc` (172.31.0.0/16, a /20
default subnet in each of zones a, b and c); it cannot be deleted and no other VPC can be made.
Their tags are real (CreateTags works on them).
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.vpc import VPC_CIDR, default_subnets, default_vpc_id, derived_id, zone_id, zone_names
from dockyard.services.ec2.api import api
from dockyard.services.ec2.deps import Ec2
from dockyard.services.ec2.errors import (
    InvalidParameterValue,
    InvalidSubnetIDMalformed,
    InvalidSubnetIDNotFound,
    InvalidVpcIDMalformed,
    InvalidVpcIDNotFound,
    malformed_id,
    not_found_ids,
)
from dockyard.services.ec2.filters import check_filters, matches, page, tag_fields
from dockyard.services.ec2.resources import check_dry_run
from dockyard.services.ec2.tags import Tag, all_tags

__all__ = [
    "vpc_document",
    "subnet_documents",
    "describe_vpcs",
    "describe_subnets",
    "describe_availability_zones",
    "describe_account_attributes",
]


def vpc_document(ctx: RequestContext) -> dict[str, Any]:
    vpc_id = default_vpc_id(ctx.account_id, ctx.region)
    return {
        "VpcId": vpc_id,
        "OwnerId": ctx.account_id,
        "State": "available",
        "CidrBlock": str(VPC_CIDR),
        "CidrBlockAssociationSet": [
            {
                "AssociationId": "vpc-cidr-assoc-" + derived_id(vpc_id, "cidr"),
                "CidrBlock": str(VPC_CIDR),
                "CidrBlockState": {"State": "associated"},
            }
        ],
        "DhcpOptionsId": "dopt-" + derived_id(ctx.account_id, ctx.region, "dhcp"),
        "InstanceTenancy": "default",
        "IsDefault": True,
    }


def subnet_documents(ctx: RequestContext) -> list[dict[str, Any]]:
    docs = []
    for subnet in default_subnets(ctx.account_id, ctx.region):
        docs.append(
            {
                "SubnetId": subnet.subnet_id,
                "SubnetArn": f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:subnet/{subnet.subnet_id}",
                "VpcId": subnet.vpc_id,
                "OwnerId": ctx.account_id,
                "State": "available",
                "AvailabilityZone": subnet.availability_zone,
                "AvailabilityZoneId": zone_id(subnet.availability_zone),
                "CidrBlock": str(subnet.cidr),
                "AvailableIpAddressCount": subnet.cidr.num_addresses - 5,
                "DefaultForAz": True,
                "MapPublicIpOnLaunch": True,
                "MapCustomerOwnedIpOnLaunch": False,
                "AssignIpv6AddressOnCreation": False,
                "Ipv6CidrBlockAssociationSet": [],
                "EnableDns64": False,
                "Ipv6Native": False,
                "PrivateDnsNameOptionsOnLaunch": {
                    "HostnameType": "ip-name",
                    "EnableResourceNameDnsARecord": False,
                    "EnableResourceNameDnsAAAARecord": False,
                },
            }
        )
    return docs


def _with_tags(doc: dict[str, Any], tags: dict[str, list[Tag]], id_member: str) -> dict[str, Any]:
    found = tags.get(doc[id_member])
    return {**doc, "Tags": found} if found else doc


def _fields(doc: dict[str, Any], table: dict[str, str]) -> Any:
    def values(name: str) -> list[str]:
        tagged = tag_fields(name, doc.get("Tags", []))
        if tagged is not None:
            return tagged
        value = doc.get(table[name])
        if isinstance(value, bool):
            return ["true" if value else "false"]
        return [] if value is None else [str(value)]

    return values


_VPC_FILTERS = {
    "vpc-id": "VpcId",
    "cidr": "CidrBlock",
    "cidr-block-association.cidr-block": "CidrBlock",
    "dhcp-options-id": "DhcpOptionsId",
    "is-default": "IsDefault",
    "isDefault": "IsDefault",
    "owner-id": "OwnerId",
    "state": "State",
}


@api.operation("DescribeVpcs")
async def describe_vpcs(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    filters = request.get("Filters", [])
    check_filters(filters, _VPC_FILTERS)
    vpc = vpc_document(ctx)
    wanted = request.get("VpcIds", [])
    for vpc_id in wanted:
        if not vpc_id.startswith("vpc-"):
            raise malformed_id(InvalidVpcIDMalformed, vpc_id, "vpc")
    missing = [v for v in wanted if v != vpc["VpcId"]]
    if missing:
        raise not_found_ids(InvalidVpcIDNotFound, "vpc", missing)
    check_dry_run(request)
    tags = await all_tags(ec2, ctx)
    docs = [_with_tags(vpc, tags, "VpcId")]
    selected = [d for d in docs if matches(filters, _fields(d, _VPC_FILTERS))]
    items, token = page(selected, request, key=lambda d: d["VpcId"])
    return {"Vpcs": items, **({"NextToken": token} if token else {})}


_SUBNET_FILTERS = {
    "subnet-id": "SubnetId",
    "subnet-arn": "SubnetArn",
    "vpc-id": "VpcId",
    "availability-zone": "AvailabilityZone",
    "availabilityZone": "AvailabilityZone",
    "availability-zone-id": "AvailabilityZoneId",
    "cidr-block": "CidrBlock",
    "cidr": "CidrBlock",
    "cidrBlock": "CidrBlock",
    "default-for-az": "DefaultForAz",
    "defaultForAz": "DefaultForAz",
    "map-public-ip-on-launch": "MapPublicIpOnLaunch",
    "owner-id": "OwnerId",
    "state": "State",
}


@api.operation("DescribeSubnets")
async def describe_subnets(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    filters = request.get("Filters", [])
    check_filters(filters, _SUBNET_FILTERS)
    docs = subnet_documents(ctx)
    known = {d["SubnetId"] for d in docs}
    wanted = request.get("SubnetIds", [])
    for subnet_id in wanted:
        if not subnet_id.startswith("subnet-"):
            raise malformed_id(InvalidSubnetIDMalformed, subnet_id, "subnet")
    missing = [s for s in wanted if s not in known]
    if missing:
        raise not_found_ids(InvalidSubnetIDNotFound, "subnet", missing)
    check_dry_run(request)
    tags = await all_tags(ec2, ctx)
    docs = [_with_tags(d, tags, "SubnetId") for d in docs if not wanted or d["SubnetId"] in wanted]
    selected = [d for d in docs if matches(filters, _fields(d, _SUBNET_FILTERS))]
    selected.sort(key=lambda d: d["SubnetId"])
    items, token = page(selected, request, key=lambda d: d["SubnetId"])
    return {"Subnets": items, **({"NextToken": token} if token else {})}


_ZONE_FILTERS = {
    "zone-name": "ZoneName",
    "zone-id": "ZoneId",
    "state": "State",
    "region-name": "RegionName",
    "group-name": "GroupName",
    "zone-type": "ZoneType",
    "opt-in-status": "OptInStatus",
    "network-border-group": "NetworkBorderGroup",
}


@api.operation("DescribeAvailabilityZones")
async def describe_availability_zones(
    ec2: Ec2, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    filters = request.get("Filters", [])
    check_filters(filters, _ZONE_FILTERS, tags=False)
    zones = [
        {
            "ZoneName": name,
            "ZoneId": zone_id(name),
            "State": "available",
            "OptInStatus": "opt-in-not-required",
            "Messages": [],
            "RegionName": ctx.region,
            "GroupName": ctx.region,
            "GroupLongName": ctx.region,
            "NetworkBorderGroup": ctx.region,
            "ZoneType": "availability-zone",
        }
        for name in zone_names(ctx.region)
    ]
    names, ids = request.get("ZoneNames", []), request.get("ZoneIds", [])
    for wanted, member in ((names, "ZoneName"), (ids, "ZoneId")):
        for value in wanted:
            if value not in {z[member] for z in zones}:
                raise InvalidParameterValue(f"The zone '{value}' does not exist.")
    check_dry_run(request)
    if names or ids:
        zones = [z for z in zones if z["ZoneName"] in names or z["ZoneId"] in ids]
    return {"AvailabilityZones": [z for z in zones if matches(filters, _fields(z, _ZONE_FILTERS))]}


@api.operation("DescribeAccountAttributes")
async def describe_account_attributes(
    ec2: Ec2, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    check_dry_run(request)
    values = {
        "supported-platforms": ["VPC"],
        "default-vpc": [default_vpc_id(ctx.account_id, ctx.region)],
        "max-instances": ["253"],
        "vpc-max-security-groups-per-interface": ["5"],
        "max-elastic-ips": ["5"],
        "vpc-max-elastic-ips": ["5"],
    }
    names = request.get("AttributeNames") or list(values)
    return {
        "AccountAttributes": [
            {"AttributeName": name, "AttributeValues": [{"AttributeValue": v} for v in values[name]]}
            for name in names
            if name in values
        ]
    }
