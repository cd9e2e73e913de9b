"""Target groups: CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup, DeleteTargetGroup.

A target group is created with its (empty) targets document, so the data plane always finds
both; `LoadBalancerArns` is maintained by the listener and rule handlers (`references`). Instance
and ip target groups speaking HTTP, HTTPS, TCP or TLS are served; lambda and alb targets, UDP and
GENEVE need services Dockyard does not have and are refused.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.elbv2.api import api
from dockyard.services.elbv2.attributes import tg_defaults
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.errors import (
    DuplicateTargetGroupName,
    InvalidConfigurationRequest,
    LoadBalancerNotFound,
    ResourceInUse,
    TargetGroupNotFound,
    TooManyTargetGroups,
    ValidationError,
)
from dockyard.services.elbv2.health_checks import FIELDS, health_check, is_application_protocol
from dockyard.services.elbv2.load_balancers import check_name
from dockyard.services.elbv2.network import check_vpc
from dockyard.services.elbv2.paging import page
from dockyard.services.elbv2.resources import (
    LOAD_BALANCER,
    TAGS,
    TARGET_GROUP,
    TARGET_GROUP_NAME,
    TARGETS,
    Document,
    check_arn,
    get_target_group,
    key,
    new_id,
    retrying,
    target_group_arn,
)
from dockyard.services.elbv2.tags import check_new_tags, tag_writes
from dockyard.store import Delete, Put, Write

__all__ = ["create_target_group", "describe_target_groups", "modify_target_group", "delete_target_group"]

MAX_TARGET_GROUPS = 3000
PROTOCOLS = ("HTTP", "HTTPS", "TCP", "TLS")
_VERSIONS = ("HTTP1", "HTTP2", "GRPC")
_COMPARED = (
    "Protocol",
    "Port",
    "VpcId",
    "TargetType",
    "ProtocolVersion",
    "IpAddressType",
    *FIELDS,
)


def _settings(request: dict[str, Any]) -> tuple[str, str, int, str, str | None]:
    """(target type, protocol, port, VPC, protocol version) of a CreateTargetGroup request, checked."""
    target_type = request.get("TargetType") or "instance"
    if target_type in ("lambda", "alb"):
        raise InvalidConfigurationRequest(f"Target type '{target_type}' is not supported by Dockyard")
    for member, noun in (("Protocol", "protocol"), ("Port", "port"), ("VpcId", "VPC ID")):
        if request.get(member) is None:
            raise ValidationError(f"A {noun} must be specified")
    protocol = request["Protocol"]
    if protocol not in PROTOCOLS:
        raise InvalidConfigurationRequest(
            f"The '{protocol}' protocol is not supported by Dockyard's load balancers"
        )
    version = request.get("ProtocolVersion")
    if version is not None:
        if not is_application_protocol(protocol):
            raise ValidationError(
                "A protocol version can only be specified for target groups with the HTTP or HTTPS protocol"
            )
        version = version.upper()
        if version not in _VERSIONS:
            raise ValidationError(
                f"Protocol version '{request['ProtocolVersion']}' must be one of '{', '.join(_VERSIONS)}'"
            )
    elif is_application_protocol(protocol):
        version = "HTTP1"
    for member in ("TargetControlPort",):
        if request.get(member) is not None:
            raise InvalidConfigurationRequest(f"'{member}' is not supported by Dockyard")
    if (request.get("IpAddressType") or "ipv4") != "ipv4":
        raise InvalidConfigurationRequest("IPv6 target groups need a VPC with an IPv6 CIDR block")
    return target_type, protocol, int(request["Port"]), str(request["VpcId"]), version


@api.operation("CreateTargetGroup")
async def create_target_group(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name = request["Name"]
    check_name(name, "Target group")
    target_type, protocol, port, vpc_id, version = _settings(request)
    checks = health_check(protocol, target_type, request, protocol_version=version or "HTTP1")
    await check_vpc(elb, ctx, vpc_id)
    tags = check_new_tags(request.get("Tags") or [])
    wanted: Document = {
        "TargetGroupName": name,
        "Protocol": protocol,
        "Port": port,
        "VpcId": vpc_id,
        **checks,
        "LoadBalancerArns": [],
        "TargetType": target_type,
        "IpAddressType": "ipv4",
    }
    if version is not None:
        wanted["ProtocolVersion"] = version

    async def attempt() -> dict[str, Any]:
        name_key = key(ctx, TARGET_GROUP_NAME, name)
        claim = await elb.store.get(name_key)
        if claim is not None:
            existing = await elb.store.get(key(ctx, TARGET_GROUP, claim.value["TargetGroupArn"]))
            if existing is not None and all(existing.value.get(f) == wanted.get(f) for f in _COMPARED):
                return {"TargetGroups": [existing.value]}
            raise DuplicateTargetGroupName(
                f"A target group with the same name '{name}' exists, but with different settings"
            )
        groups = await elb.store.list(TARGET_GROUP, account_id=ctx.account_id, region=ctx.region)
        if len(groups) >= MAX_TARGET_GROUPS:
            raise TooManyTargetGroups("The maximum number of target groups has been reached")
        arn = target_group_arn(ctx, name, new_id(elb))
        doc: Document = {
            "TargetGroupArn": arn,
            **wanted,
            "dockyard": {"Attributes": tg_defaults(protocol, target_type)},
        }
        writes: list[Write] = [
            Put(key(ctx, TARGET_GROUP, arn), doc, expected_revision=0),
            Put(name_key, {"TargetGroupArn": arn}, expected_revision=0),
            Put(key(ctx, TARGETS, arn), {"TargetGroupArn": arn, "Targets": []}, expected_revision=0),
            *tag_writes(ctx, arn, tags),
        ]
        await elb.store.commit(writes)
        return {"TargetGroups": [doc]}

    return await retrying(attempt)


@api.operation("DescribeTargetGroups")
async def describe_target_groups(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    lb_arn, arns, names = request.get("LoadBalancerArn"), request.get("TargetGroupArns"), request.get("Names")
    if sum(1 for given in (lb_arn, arns, names) if given) > 1:
        raise ValidationError(
            "Target group names, target group ARNs, and a load balancer ARN "
            "cannot be specified at the same time"
        )
    docs = [d.value for d in await elb.store.list(TARGET_GROUP, account_id=ctx.account_id, region=ctx.region)]
    if lb_arn:
        check_arn(lb_arn, "load balancer")
        if await elb.store.get(key(ctx, LOAD_BALANCER, lb_arn)) is None:
            raise LoadBalancerNotFound("One or more load balancers not found")
        docs = [d for d in docs if lb_arn in (d.get("LoadBalancerArns") or [])]
    if arns:
        for arn in arns:
            check_arn(arn, "target group")
        by_arn = {d["TargetGroupArn"]: d for d in docs}
        if any(arn not in by_arn for arn in arns):
            raise TargetGroupNotFound("One or more target groups not found")
        docs = [by_arn[arn] for arn in dict.fromkeys(arns)]
    if names:
        by_name = {d["TargetGroupName"]: d for d in docs}
        if any(name not in by_name for name in names):
            raise TargetGroupNotFound("One or more target groups not found")
        docs = [by_name[name] for name in dict.fromkeys(names)]
    docs.sort(key=lambda d: (d["TargetGroupName"], d["TargetGroupArn"]))
    items, marker = page(docs, request, key=lambda d: [d["TargetGroupName"], d["TargetGroupArn"]])
    return {"TargetGroups": items, **marker}


@api.operation("ModifyTargetGroup")
async def modify_target_group(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    arn = request["TargetGroupArn"]

    async def attempt() -> dict[str, Any]:
        found = await get_target_group(elb, ctx, arn)
        doc = copy.deepcopy(found.value)
        current = {f: doc[f] for f in FIELDS if f in doc}
        checks = health_check(
            doc["Protocol"],
            doc["TargetType"],
            request,
            current,
            protocol_version=doc.get("ProtocolVersion") or "HTTP1",
        )
        for field in FIELDS:
            doc.pop(field, None)
        doc.update(checks)
        if doc != found.value:
            await elb.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        return {"TargetGroups": [doc]}

    return await retrying(attempt)


@api.operation("DeleteTargetGroup")
async def delete_target_group(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    arn = request["TargetGroupArn"]
    check_arn(arn, "target group")

    async def attempt() -> dict[str, Any]:
        found = await elb.store.get(key(ctx, TARGET_GROUP, arn))
        if found is None:
            return {}
        if found.value.get("LoadBalancerArns"):
            raise ResourceInUse(f"Target group '{arn}' is currently in use by a listener or a rule")
        writes: list[Write] = [
            Delete(found.key, expected_revision=found.revision),
            Delete(key(ctx, TARGET_GROUP_NAME, found.value["TargetGroupName"])),
            Delete(key(ctx, TARGETS, arn)),
        ]
        tags = await elb.store.get(key(ctx, TAGS, arn))
        if tags is not None:
            writes.append(Delete(tags.key, expected_revision=tags.revision))
        await elb.store.commit(writes)
        return {}

    return await retrying(attempt)
