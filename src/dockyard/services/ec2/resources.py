"""Store kinds, ids and small shared rules of the EC2 handlers.

Documents are stored in the shape of the EC2 API object (PascalCase members); internal fields
live under `dockyard` and are never serialized. The default VPC, its subnets and availability
zones are derived (`dockyard.core.vpc`), not stored; their tags are.

| kind                        | name                  | document                                  |
|-----------------------------|-----------------------|-------------------------------------------|
| ec2:instance                | i-...                 | Instance (+ dockyard: desired state, ...)  |
| ec2:security-group          | sg-...                | SecurityGroup (+ dockyard: rules)          |
| ec2:security-group-name     | vpc-.../name          | {GroupId}: names are unique per VPC        |
| ec2:launch-template         | lt-...                | LaunchTemplate                             |
| ec2:launch-template-name    | name                  | {LaunchTemplateId}: names are unique       |
| ec2:launch-template-version | lt-.../0000000001     | LaunchTemplateVersion                      |
| ec2:tags                    | resource id           | {resourceType, tags: [{Key, Value}]}       |
| ec2:client-token            | token                 | {reservationId, instanceIds}               |
| ec2:address (host-wide)     | 127.0.0.N             | {instanceId}: a leased private address     |
"""

from __future__ import annotations

import datetime
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ec2.deps import Ec2
from dockyard.services.ec2.errors import DryRunOperation
from dockyard.store import Key

__all__ = [
    "INSTANCE",
    "SECURITY_GROUP",
    "SECURITY_GROUP_NAME",
    "LAUNCH_TEMPLATE",
    "LAUNCH_TEMPLATE_NAME",
    "LAUNCH_TEMPLATE_VERSION",
    "TAGS",
    "CLIENT_TOKEN",
    "ADDRESS",
    "key",
    "address_key",
    "new_id",
    "owner_arn",
    "check_dry_run",
    "iso",
    "resource_type_of",
]

INSTANCE = "ec2:instance"
SECURITY_GROUP = "ec2:security-group"
SECURITY_GROUP_NAME = "ec2:security-group-name"
LAUNCH_TEMPLATE = "ec2:launch-template"
LAUNCH_TEMPLATE_NAME = "ec2:launch-template-name"
LAUNCH_TEMPLATE_VERSION = "ec2:launch-template-version"
TAGS = "ec2:tags"
CLIENT_TOKEN = "ec2:client-token"
ADDRESS = "ec2:address"

_RESOURCE_TYPES = {
    "i": "instance",
    "sg": "security-group",
    "lt": "launch-template",
    "vpc": "vpc",
    "subnet": "subnet",
}


def key(ctx: RequestContext, kind: str, name: str) -> Key:
    return Key(ctx.account_id, ctx.region, kind, name)


def address_key(address: str) -> Key:
    """Loopback addresses are host-wide: one lease per address across accounts and regions."""
    return Key("", "", ADDRESS, address)


def new_id(ec2: Ec2, prefix: str) -> str:
    """`i-`, `r-`, `sg-`, `lt-`, ... followed by 17 hex digits, as EC2's long ids."""
    return f"{prefix}-{ec2.ids.hex32()[:17]}"


def owner_arn(ctx: RequestContext) -> str:
    return f"arn:aws:iam::{ctx.account_id}:root"


def check_dry_run(request: dict[str, Any]) -> None:
    """EC2's DryRun: the request was valid and would have succeeded; nothing is done."""
    if request.get("DryRun"):
        raise DryRunOperation("Request would have succeeded, but DryRun flag is set.")


def iso(epoch: float) -> str:
    """`2026-01-02T03:04:05Z`, as EC2 and Auto Scaling word times inside messages."""
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def resource_type_of(resource_id: str) -> str | None:
    """The taggable resource type an id names (`i-...` -> `instance`), None when not an EC2 id."""
    prefix, _, rest = resource_id.partition("-")
    if not rest:
        return None
    return _RESOURCE_TYPES.get(prefix)
