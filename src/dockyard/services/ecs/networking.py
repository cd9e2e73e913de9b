"""Task networking for `awsvpc`: the default VPC, its subnets, and private IP leases.

Every account and region has a default VPC (172.31.0.0/16, one /20 subnet per availability zone,
as on AWS), derived in `dockyard.core.vpc` so that the EC2 API names the same VPC and subnets.
All default VPCs share one Docker bridge on the host, so a private address is leased host-wide: a
lease is a document written with compare-and-swap "must not exist", which makes two tasks with
one address impossible.
The agent gets the address in its work item and attaches the task's network namespace to it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
from collections.abc import Iterator
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.vpc import VPC_CIDR, ZONES, Subnet, default_subnets, default_vpc_id
from dockyard.services.ecs.errors import InvalidParameterException
from dockyard.store import Key, Put

__all__ = [
    "Subnet",
    "VPC_CIDR",
    "ZONES",
    "attachment",
    "default_subnets",
    "default_vpc_id",
    "eni_details",
    "lease_key",
    "lease_put",
    "candidate_addresses",
    "resolve_subnets",
]

IP_LEASE = "ecs:ip-lease"


def _hex(*parts: str, n: int = 17) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:n]


def resolve_subnets(ctx: RequestContext, subnet_ids: list[str]) -> list[Subnet]:
    known = {s.subnet_id: s for s in default_subnets(ctx.account_id, ctx.region)}
    missing = [s for s in subnet_ids if s not in known]
    if missing:
        raise InvalidParameterException(
            f"Error retrieving subnet information for [{', '.join(missing)}]: The subnet ID "
            f"'{missing[0]}' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: "
            "InvalidSubnetID.NotFound)"
        )
    return [known[s] for s in subnet_ids]


def lease_key(ip: str) -> Key:
    return Key("", "", IP_LEASE, ip)


def lease_put(ip: str, task_arn: str) -> Put:
    return Put(lease_key(ip), {"taskArn": task_arn}, expected_revision=0)


def candidate_addresses(subnet: Subnet, rng: random.Random) -> Iterator[str]:
    """Host addresses of the subnet to try, random ones first, then every one in order (AWS
    reserves the first four and the last address of a subnet)."""
    first = int(subnet.cidr.network_address) + 4
    last = int(subnet.cidr.broadcast_address) - 1
    for _ in range(64):
        yield str(ipaddress.ip_address(rng.randint(first, last)))
    for value in range(first, last + 1):
        yield str(ipaddress.ip_address(value))


def eni_details(ctx: RequestContext, subnet: Subnet, ip: str, attachment_id: str) -> dict[str, Any]:
    """The work-item `network` block and the task's ENI attachment for one leased address."""
    octets = ip.split(".")
    mac = "0a:" + ":".join(_hex(attachment_id, n=10)[i : i + 2] for i in range(0, 10, 2))
    dns = (
        f"ip-{'-'.join(octets)}.ec2.internal"
        if ctx.region == "us-east-1"
        else (f"ip-{'-'.join(octets)}.{ctx.region}.compute.internal")
    )
    return {
        "attachmentId": attachment_id,
        "networkInterfaceId": "eni-" + _hex(attachment_id),
        "privateIpv4Address": ip,
        "macAddress": mac,
        "subnetId": subnet.subnet_id,
        "subnetCidr": str(subnet.cidr),
        "vpcId": subnet.vpc_id,
        "vpcCidr": str(VPC_CIDR),
        "gateway": str(VPC_CIDR.network_address + 1),
        "privateDnsName": dns,
        "availabilityZone": subnet.availability_zone,
    }


def attachment(network: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "id": network["attachmentId"],
        "type": "ElasticNetworkInterface",
        "status": status,
        "details": [
            {"name": "subnetId", "value": network["subnetId"]},
            {"name": "networkInterfaceId", "value": network["networkInterfaceId"]},
            {"name": "macAddress", "value": network["macAddress"]},
            {"name": "privateDnsName", "value": network["privateDnsName"]},
            {"name": "privateIPv4Address", "value": network["privateIpv4Address"]},
        ],
    }
