"""The default VPC every account and region has, derived (never stored) so all services agree on it.

As on AWS: one VPC 172.31.0.0/16 per account and region, one /20 default subnet per availability
zone (a, b, c: 172.31.0.0/20, 172.31.16.0/20, 172.31.32.0/20), and a security group named
`default`. Ids are stable hashes of account, region and zone, so the ECS service (awsvpc
subnets), the EC2 service (DescribeVpcs, RunInstances) and the CLI name the same objects.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

__all__ = [
    "VPC_CIDR",
    "ZONES",
    "Subnet",
    "zone_names",
    "zone_id",
    "default_vpc_id",
    "default_subnets",
    "default_security_group_id",
    "derived_id",
]

VPC_CIDR = ipaddress.IPv4Network("172.31.0.0/16")
ZONES = ("a", "b", "c")


@dataclass(frozen=True, slots=True)
class Subnet:
    subnet_id: str
    vpc_id: str
    availability_zone: str
    cidr: ipaddress.IPv4Network


def derived_id(*parts: str, n: int = 17) -> str:
    """`n` hex digits that depend only on `parts` (stable across processes and restarts)."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:n]


def zone_names(region: str) -> list[str]:
    return [f"{region}{zone}" for zone in ZONES]


_DIRECTIONS = {"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}


def zone_id(zone_name: str) -> str:
    """AWS-style zone id: `us-east-1a` -> `use1-az1`, `ap-southeast-2b` -> `apse2-az2`."""
    region, letter = zone_name[:-1], zone_name[-1]
    first, *middle, number = region.split("-")
    short = "".join(_DIRECTIONS.get(word, word[:1]) for word in middle)
    return f"{first}{short}{number}-az{ord(letter) - ord('a') + 1}"


def default_vpc_id(account_id: str, region: str) -> str:
    return "vpc-" + derived_id(account_id, region, "default-vpc")


def default_security_group_id(account_id: str, region: str) -> str:
    return "sg-" + derived_id(account_id, region, "default-vpc", "default-sg")


def default_subnets(account_id: str, region: str) -> list[Subnet]:
    vpc = default_vpc_id(account_id, region)
    subnets = []
    for i, zone in enumerate(ZONES):
        cidr = ipaddress.IPv4Network(f"172.31.{16 * i}.0/20")
        subnets.append(Subnet("subnet-" + derived_id(account_id, region, zone), vpc, f"{region}{zone}", cidr))
    return subnets
