"""Load balancers: CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer.

```
CreateLoadBalancer -> name, subnets (EC2), security groups (EC2) checked
   -> one commit: load balancer (State active) + name claim + address lease + tags
DeleteLoadBalancer -> one commit: the load balancer, its listeners, rules and claims, its address,
   their tags, and the LoadBalancerArns of the target groups it used
```
Application and network load balancers are served; gateway load balancers (GENEVE appliances)
are not. Creating a load balancer with the name and settings of an existing one returns it, as
on AWS; the same name with other settings is `DuplicateLoadBalancerName`.
"""

from __future__ import annotations

import re
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.vpc import derived_id
from dockyard.services.elbv2.addresses import lease_address
from dockyard.services.elbv2.api import api
from dockyard.services.elbv2.attributes import lb_defaults
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.errors import (
    DuplicateLoadBalancerName,
    InvalidConfigurationRequest,
    LoadBalancerNotFound,
    OperationNotPermitted,
    TooManyLoadBalancers,
    ValidationError,
)
from dockyard.services.elbv2.network import check_security_groups, default_security_group, subnets
from dockyard.services.elbv2.paging import page
from dockyard.services.elbv2.references import reference_writes
from dockyard.services.elbv2.resources import (
    LISTENER,
    LISTENER_PORT,
    LOAD_BALANCER,
    LOAD_BALANCER_NAME,
    RULE,
    RULE_PRIORITY,
    TAGS,
    Document,
    address_key,
    check_arn,
    key,
    load_balancer_arn,
    new_id,
    retrying,
)
from dockyard.services.elbv2.tags import check_new_tags, tag_writes
from dockyard.store import Delete, Put, Write

__all__ = [
    "check_name",
    "placement",
    "create_load_balancer",
    "describe_load_balancers",
    "delete_load_balancer",
]

MAX_LOAD_BALANCERS = 50
_NAME = re.compile(r"^[A-Za-z0-9-]+$")
# Route 53 zones of AWS's load balancer DNS names, by region (ALB, NLB); others get a stable id.
_ZONES = {
    "us-east-1": ("Z35SXDOTRQ7X7K", "Z26RNL4JYFTOTI"),
    "us-east-2": ("Z3AADJGX6KTTL2", "ZLMOA37VPKANP"),
    "us-west-1": ("Z368ELLRRE2KJ0", "Z24FKFUX50B4VW"),
    "us-west-2": ("Z1H1FL5HABSF5", "Z18D5FSROUN65G"),
    "eu-west-1": ("Z32O12XQLNTSW2", "Z2IFOLAFXWLO4F"),
    "eu-central-1": ("Z215JYRZR1TBD5", "Z3F0SRJ5LGBH90"),
}
_UNSUPPORTED = ("CustomerOwnedIpv4Pool", "IpamPools", "EnablePrefixForIpv6SourceNat")


def check_name(name: str, noun: str) -> None:
    """AWS's rules for load balancer and target group names (1-32 alphanumerics and hyphens)."""
    if len(name) > 32:
        raise ValidationError(f"{noun} name '{name}' cannot be longer than '32' characters")
    if not _NAME.match(name):
        raise ValidationError(
            f"{noun} name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )
    if name.startswith("-") or name.endswith("-"):
        raise ValidationError(f"{noun} name '{name}' cannot begin or end with '-'")


def _hosted_zone(region: str, lb_type: str) -> str:
    zones = _ZONES.get(region)
    if zones is not None:
        return zones[0 if lb_type == "application" else 1]
    return "Z" + derived_id(region, lb_type, n=13).upper()


async def placement(
    elb: Elbv2, ctx: RequestContext, request: dict[str, Any], lb_type: str
) -> tuple[str, list[dict[str, Any]]]:
    """The VPC and the subnets (as `AvailabilityZones` entries) a request places a load balancer in."""
    if request.get("Subnets") and request.get("SubnetMappings"):
        raise ValidationError("Subnets and subnet mappings cannot be specified at the same time")
    ids = list(request.get("Subnets") or [])
    for mapping in request.get("SubnetMappings") or []:
        for member in ("AllocationId", "PrivateIPv4Address", "IPv6Address", "SourceNatIpv6Prefix"):
            if mapping.get(member):
                raise InvalidConfigurationRequest(
                    f"Subnet mappings with '{member}' are not supported by Dockyard"
                )
        ids.append(mapping["SubnetId"])
    if not ids:
        if lb_type == "application":
            raise InvalidConfigurationRequest(
                "At least two subnets in two different Availability Zones must be specified"
            )
        raise ValidationError("At least one subnet must be specified")
    found = await subnets(elb, ctx, ids)
    zones = [s["AvailabilityZone"] for s in found]
    if len(set(zones)) != len(zones):
        raise InvalidConfigurationRequest(
            "A load balancer cannot be attached to multiple subnets in the same Availability Zone"
        )
    if len({s["VpcId"] for s in found}) > 1:
        raise InvalidConfigurationRequest("The subnets must all be in the same VPC")
    if lb_type == "application" and len(zones) < 2:
        raise InvalidConfigurationRequest(
            "At least two subnets in two different Availability Zones must be specified"
        )
    placed = [
        {"ZoneName": s["AvailabilityZone"], "SubnetId": s["SubnetId"], "LoadBalancerAddresses": []}
        for s in sorted(found, key=lambda s: s["AvailabilityZone"])
    ]
    return str(found[0]["VpcId"]), placed


def _subnets_of(doc: Document) -> list[str]:
    return sorted(z["SubnetId"] for z in doc["AvailabilityZones"])


def _same_settings(doc: Document, wanted: Document) -> bool:
    return (
        doc["Type"] == wanted["Type"]
        and doc["Scheme"] == wanted["Scheme"]
        and doc["IpAddressType"] == wanted["IpAddressType"]
        and _subnets_of(doc) == _subnets_of(wanted)
        and sorted(doc.get("SecurityGroups") or []) == sorted(wanted.get("SecurityGroups") or [])
    )


@api.operation("CreateLoadBalancer")
async def create_load_balancer(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name = request["Name"]
    check_name(name, "Load balancer")
    if name.lower().startswith("internal-"):
        raise ValidationError(f"Load balancer name '{name}' cannot begin with 'internal-'")
    lb_type = request.get("Type") or "application"
    if lb_type == "gateway":
        raise InvalidConfigurationRequest("Gateway Load Balancers are not supported by Dockyard")
    for member in _UNSUPPORTED:
        if request.get(member) is not None:
            raise InvalidConfigurationRequest(f"'{member}' is not supported by Dockyard")
    ip_type = request.get("IpAddressType") or "ipv4"
    if ip_type != "ipv4":
        raise InvalidConfigurationRequest(f"IP address type '{ip_type}' needs subnets with IPv6 CIDR blocks")
    scheme = request.get("Scheme") or "internet-facing"
    vpc_id, zones = await placement(elb, ctx, request, lb_type)
    groups = list(dict.fromkeys(request.get("SecurityGroups") or []))
    if groups:
        await check_security_groups(elb, ctx, groups, vpc_id)
    elif lb_type == "application":
        groups = [await default_security_group(elb, ctx, vpc_id)]
    tags = check_new_tags(request.get("Tags") or [])

    async def attempt() -> dict[str, Any]:
        name_key = key(ctx, LOAD_BALANCER_NAME, name)
        claim = await elb.store.get(name_key)
        wanted: Document = {
            "Type": lb_type,
            "Scheme": scheme,
            "IpAddressType": ip_type,
            "AvailabilityZones": zones,
            "SecurityGroups": groups,
        }
        if claim is not None:
            existing = await elb.store.get(key(ctx, LOAD_BALANCER, claim.value["LoadBalancerArn"]))
            if existing is not None and _same_settings(existing.value, wanted):
                return {"LoadBalancers": [existing.value]}
            raise DuplicateLoadBalancerName(
                f"A load balancer with the same name '{name}' exists, but with different settings"
            )
        count = sum(
            1
            for d in await elb.store.list(LOAD_BALANCER, account_id=ctx.account_id, region=ctx.region)
            if d.value["Type"] == lb_type
        )
        if count >= MAX_LOAD_BALANCERS:
            raise TooManyLoadBalancers("The maximum number of load balancers has been reached")
        lb_id = new_id(elb)
        arn = load_balancer_arn(ctx, lb_type, name, lb_id)
        dns_id = elb.ids.digits(10) if lb_type == "application" else lb_id
        dns = f"{'internal-' if scheme == 'internal' else ''}{name}-{dns_id}.{ctx.region}.elb.localhost"
        address, lease = await lease_address(elb, arn)
        doc: Document = {
            "LoadBalancerArn": arn,
            "DNSName": dns,
            "CanonicalHostedZoneId": _hosted_zone(ctx.region, lb_type),
            "CreatedTime": elb.clock.now(),
            "LoadBalancerName": name,
            "Scheme": scheme,
            "VpcId": vpc_id,
            "State": {"Code": "active"},
            "Type": lb_type,
            "AvailabilityZones": zones,
            "IpAddressType": ip_type,
            "dockyard": {"Address": address, "Attributes": lb_defaults(lb_type)},
        }
        if groups:
            doc["SecurityGroups"] = groups
        writes: list[Write] = [
            Put(key(ctx, LOAD_BALANCER, arn), doc, expected_revision=0),
            Put(name_key, {"LoadBalancerArn": arn}, expected_revision=0),
            lease,
            *tag_writes(ctx, arn, tags),
        ]
        await elb.store.commit(writes)
        return {"LoadBalancers": [doc]}

    return await retrying(attempt)


@api.operation("DescribeLoadBalancers")
async def describe_load_balancers(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    arns, names = request.get("LoadBalancerArns") or [], request.get("Names") or []
    if arns and names:
        raise ValidationError(
            "Load balancer names and load balancer ARNs cannot be specified at the same time"
        )
    for arn in arns:
        check_arn(arn, "load balancer")
    docs = [
        d.value for d in await elb.store.list(LOAD_BALANCER, account_id=ctx.account_id, region=ctx.region)
    ]
    if arns:
        found = {d["LoadBalancerArn"]: d for d in docs}
        if any(arn not in found for arn in arns):
            raise LoadBalancerNotFound("One or more load balancers not found")
        docs = [found[arn] for arn in dict.fromkeys(arns)]
    if names:
        by_name = {d["LoadBalancerName"]: d for d in docs}
        missing = [n for n in dict.fromkeys(names) if n not in by_name]
        if missing:
            raise LoadBalancerNotFound(f"Load balancers '[{', '.join(missing)}]' not found")
        docs = [by_name[n] for n in dict.fromkeys(names)]
    docs.sort(key=lambda d: (d["LoadBalancerName"], d["LoadBalancerArn"]))
    items, marker = page(docs, request, key=lambda d: [d["LoadBalancerName"], d["LoadBalancerArn"]])
    return {"LoadBalancers": items, **marker}


async def _delete_writes(elb: Elbv2, ctx: RequestContext, arn: str) -> list[Write] | None:
    found = await elb.store.get(key(ctx, LOAD_BALANCER, arn))
    if found is None:
        return None
    doc = found.value
    if doc["dockyard"]["Attributes"].get("deletion_protection.enabled") == "true":
        raise OperationNotPermitted(
            f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled"
        )
    listeners = await elb.store.find(LISTENER, "lb", arn, account_id=ctx.account_id, region=ctx.region)
    rules = await elb.store.find(RULE, "lb", arn, account_id=ctx.account_id, region=ctx.region)
    writes: list[Write] = [
        Delete(found.key, expected_revision=found.revision),
        Delete(key(ctx, LOAD_BALANCER_NAME, doc["LoadBalancerName"])),
        Delete(address_key(doc["dockyard"]["Address"])),
    ]
    for listener in listeners:
        writes.append(Delete(listener.key, expected_revision=listener.revision))
        writes.append(Delete(key(ctx, LISTENER_PORT, f"{arn}#{listener.value['Port']}")))
    for rule in rules:
        writes.append(Delete(rule.key, expected_revision=rule.revision))
        if not rule.value["IsDefault"]:
            listener_arn = rule.value["dockyard"]["ListenerArn"]
            writes.append(Delete(key(ctx, RULE_PRIORITY, f"{listener_arn}#{rule.value['Priority']}")))
    for owned in [arn, *(d.key.name for d in listeners), *(d.key.name for d in rules)]:
        tags = await elb.store.get(key(ctx, TAGS, owned))
        if tags is not None:
            writes.append(Delete(tags.key, expected_revision=tags.revision))
    writes += await reference_writes(
        elb, ctx, {rule.key.name: None for rule in rules}, before=[rule.value for rule in rules]
    )
    return writes


@api.operation("DeleteLoadBalancer")
async def delete_load_balancer(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    arn = request["LoadBalancerArn"]
    check_arn(arn, "load balancer")

    async def attempt() -> dict[str, Any]:
        writes = await _delete_writes(elb, ctx, arn)
        if writes:
            await elb.store.commit(writes)
        return {}

    return await retrying(attempt)
