"""Security groups: Create, Delete, Describe, and Authorize/Revoke ingress rules.

Groups are stored (their rules under `dockyard.rules`, see `sg_rules`); the default VPC's group
named `default` exists from the start (derived until its rules are first changed, then stored)
and cannot be deleted. Names are unique per VPC (an `ec2:security-group-name` document written
with the group, compare-and-swap "must not exist"). Dockyard records rules and shows them; it does
not filter traffic between tasks and instances by them.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.vpc import default_security_group_id, default_vpc_id, derived_id
from dockyard.services.ec2.api import api
from dockyard.services.ec2.deps import Ec2
from dockyard.services.ec2.errors import (
    CannotDelete,
    DependencyViolation,
    InvalidGroupDuplicate,
    InvalidGroupIdMalformed,
    InvalidGroupNotFound,
    InvalidGroupReserved,
    InvalidParameterValue,
    InvalidPermissionDuplicate,
    InvalidVpcIDNotFound,
    MissingParameter,
    malformed_id,
)
from dockyard.services.ec2.filters import check_filters, matches, page, tag_fields
from dockyard.services.ec2.resources import (
    INSTANCE,
    SECURITY_GROUP,
    SECURITY_GROUP_NAME,
    check_dry_run,
    key,
    new_id,
)
from dockyard.services.ec2.sg_rules import (
    Rule,
    default_rules,
    parse_permissions,
    permissions,
    rule_text,
    rule_view,
    same_rule,
)
from dockyard.services.ec2.tags import all_tags, spec_tags, tags_delete, tags_put
from dockyard.store import Conflict, Delete, Put

__all__ = [
    "get_group",
    "group_by_name",
    "resolve_groups",
    "render_group",
    "create_security_group",
    "delete_security_group",
    "describe_security_groups",
    "authorize_security_group_ingress",
    "revoke_security_group_ingress",
]

_ATTEMPTS = 8


def _default_group(ctx: RequestContext) -> dict[str, Any]:
    group_id = default_security_group_id(ctx.account_id, ctx.region)
    counter = itertools.count()
    rules = default_rules(
        group_id, new_id=lambda: "sgr-" + derived_id(group_id, str(next(counter))), default_group=True
    )
    return _document(ctx, group_id, "default", "default VPC security group", rules)


def _document(
    ctx: RequestContext, group_id: str, name: str, description: str, rules: list[Rule]
) -> dict[str, Any]:
    return {
        "GroupId": group_id,
        "GroupName": name,
        "Description": description,
        "VpcId": default_vpc_id(ctx.account_id, ctx.region),
        "OwnerId": ctx.account_id,
        "SecurityGroupArn": f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:security-group/{group_id}",
        "dockyard": {"rules": rules},
    }


async def get_group(ec2: Ec2, ctx: RequestContext, group_id: str) -> tuple[dict[str, Any], int] | None:
    """The group and its revision (0 for the default group before it is first stored)."""
    if not group_id.startswith("sg-"):
        raise malformed_id(InvalidGroupIdMalformed, group_id, "sg")
    found = await ec2.store.get(key(ctx, SECURITY_GROUP, group_id))
    if found is not None:
        return found.value, found.revision
    if group_id == default_security_group_id(ctx.account_id, ctx.region):
        return _default_group(ctx), 0
    return None


async def group_by_name(ec2: Ec2, ctx: RequestContext, name: str) -> str | None:
    if name == "default":
        return default_security_group_id(ctx.account_id, ctx.region)
    vpc = default_vpc_id(ctx.account_id, ctx.region)
    found = await ec2.store.get(key(ctx, SECURITY_GROUP_NAME, f"{vpc}/{name}"))
    return str(found.value["GroupId"]) if found is not None else None


async def resolve_groups(
    ec2: Ec2, ctx: RequestContext, *, ids: list[str], names: list[str]
) -> list[dict[str, str]]:
    """`[{GroupId, GroupName}]` for security group ids and default-VPC names; raises when unknown."""
    groups = []
    for group_id in ids:
        found = await get_group(ec2, ctx, group_id)
        if found is None:
            raise InvalidGroupNotFound(f"The security group '{group_id}' does not exist")
        groups.append({"GroupId": group_id, "GroupName": found[0]["GroupName"]})
    vpc = default_vpc_id(ctx.account_id, ctx.region)
    for name in names:
        named = await group_by_name(ec2, ctx, name)
        if named is None:
            raise InvalidGroupNotFound(f"The security group '{name}' does not exist in default VPC '{vpc}'")
        groups.append({"GroupId": named, "GroupName": name})
    return groups


def render_group(doc: dict[str, Any], tags: list[dict[str, str]] | None) -> dict[str, Any]:
    rules = doc.get("dockyard", {}).get("rules", [])
    view = {k: v for k, v in doc.items() if k != "dockyard"}
    view["IpPermissions"] = permissions(rules, egress=False, account_id=doc["OwnerId"])
    view["IpPermissionsEgress"] = permissions(rules, egress=True, account_id=doc["OwnerId"])
    if tags:
        view["Tags"] = tags
    return view


@api.operation("CreateSecurityGroup")
async def create_security_group(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name, description = request["GroupName"], request["Description"]
    vpc = default_vpc_id(ctx.account_id, ctx.region)
    if request.get("VpcId") not in (None, vpc):
        raise InvalidVpcIDNotFound(f"The vpc ID '{request['VpcId']}' does not exist")
    if name == "default":
        raise InvalidGroupReserved("The security group 'default' is reserved")
    if name.startswith("sg-"):
        raise InvalidParameterValue("Group names may not be in the format sg-*.")
    if len(name) > 255 or len(description) > 255:
        raise InvalidParameterValue("Value for parameter groupName or description exceeds 255 characters.")
    tags = spec_tags(ctx, request.get("TagSpecifications", []), "security-group")
    if await group_by_name(ec2, ctx, name) is not None:
        raise InvalidGroupDuplicate(f"The security group '{name}' already exists for VPC '{vpc}'")
    check_dry_run(request)
    group_id = new_id(ec2, "sg")
    rules = default_rules(group_id, new_id=lambda: new_id(ec2, "sgr"), default_group=False)
    doc = _document(ctx, group_id, name, description, rules)
    writes: list[Put | Delete] = [
        Put(key(ctx, SECURITY_GROUP, group_id), doc, expected_revision=0),
        Put(key(ctx, SECURITY_GROUP_NAME, f"{vpc}/{name}"), {"GroupId": group_id}, expected_revision=0),
    ]
    if tags:
        writes.append(tags_put(ctx, group_id, "security-group", tags))
    try:
        await ec2.store.commit(writes)
    except Conflict:
        raise InvalidGroupDuplicate(f"The security group '{name}' already exists for VPC '{vpc}'") from None
    response: dict[str, Any] = {"GroupId": group_id, "SecurityGroupArn": doc["SecurityGroupArn"]}
    if tags:
        response["Tags"] = tags
    return response


async def _target(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> str:
    """The group a request names by `GroupId` or (default VPC) `GroupName`."""
    if request.get("GroupId"):
        return str(request["GroupId"])
    if request.get("GroupName"):
        group_id = await group_by_name(ec2, ctx, request["GroupName"])
        if group_id is None:
            vpc = default_vpc_id(ctx.account_id, ctx.region)
            raise InvalidGroupNotFound(
                f"The security group '{request['GroupName']}' does not exist in default VPC '{vpc}'"
            )
        return group_id
    raise MissingParameter("The request must contain the parameter groupName or groupId")


@api.operation("DeleteSecurityGroup")
async def delete_security_group(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    group_id = await _target(ec2, ctx, request)
    found = await get_group(ec2, ctx, group_id)
    if found is None:
        raise InvalidGroupNotFound(f"The security group '{group_id}' does not exist")
    doc, revision = found
    if group_id == default_security_group_id(ctx.account_id, ctx.region):
        raise CannotDelete(f'the specified group: "{group_id}" name: "default" cannot be deleted by a user')
    for instance in await ec2.store.list(INSTANCE, account_id=ctx.account_id, region=ctx.region):
        in_use = any(g["GroupId"] == group_id for g in instance.value.get("SecurityGroups", []))
        if in_use and instance.value["State"]["Name"] != "terminated":
            raise DependencyViolation(f"resource {group_id} has a dependent object")
    for other in await ec2.store.list(SECURITY_GROUP, account_id=ctx.account_id, region=ctx.region):
        if other.key.name != group_id and any(
            r.get("group") == group_id for r in other.value.get("dockyard", {}).get("rules", [])
        ):
            raise DependencyViolation(f"resource {group_id} has a dependent object")
    check_dry_run(request)
    await ec2.store.commit(
        [
            Delete(key(ctx, SECURITY_GROUP, group_id), expected_revision=revision),
            Delete(key(ctx, SECURITY_GROUP_NAME, f"{doc['VpcId']}/{doc['GroupName']}")),
            tags_delete(ctx, group_id),
        ]
    )
    return {"Return": True, "GroupId": group_id}


_FILTERS = {
    "group-id": "GroupId",
    "group-name": "GroupName",
    "vpc-id": "VpcId",
    "description": "Description",
    "owner-id": "OwnerId",
}


@api.operation("DescribeSecurityGroups")
async def describe_security_groups(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    filters = request.get("Filters", [])
    check_filters(filters, _FILTERS)
    wanted = await resolve_groups(
        ec2, ctx, ids=request.get("GroupIds", []), names=request.get("GroupNames", [])
    )
    check_dry_run(request)
    stored = {
        d.key.name: d.value
        for d in await ec2.store.list(SECURITY_GROUP, account_id=ctx.account_id, region=ctx.region)
    }
    default = _default_group(ctx)
    stored.setdefault(default["GroupId"], default)
    tags = await all_tags(ec2, ctx)
    ids = {g["GroupId"] for g in wanted}
    views = [
        render_group(doc, tags.get(group_id))
        for group_id, doc in sorted(stored.items())
        if not ids or group_id in ids
    ]

    def fields(view: dict[str, Any]) -> Any:
        def values(name: str) -> list[str]:
            tagged = tag_fields(name, view.get("Tags", []))
            return tagged if tagged is not None else [str(view[_FILTERS[name]])]

        return values

    selected = [v for v in views if matches(filters, fields(v))]
    items, token = page(selected, request, key=lambda v: v["GroupId"], ids_member="GroupIds")
    return {"SecurityGroups": items, **({"NextToken": token} if token else {})}


def _legacy_permissions(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The flat CidrIp/IpProtocol/FromPort/ToPort form as one IpPermission."""
    if request.get("IpPermissions"):
        return list(request["IpPermissions"])
    if not request.get("IpProtocol") and not request.get("CidrIp"):
        return []
    permission: dict[str, Any] = {"IpProtocol": request.get("IpProtocol", "-1")}
    for name in ("FromPort", "ToPort"):
        if request.get(name) is not None:
            permission[name] = request[name]
    if request.get("CidrIp"):
        permission["IpRanges"] = [{"CidrIp": request["CidrIp"]}]
    return [permission]


async def _modify(ec2: Ec2, ctx: RequestContext, group_id: str, change: Any) -> Any:
    for _ in range(_ATTEMPTS):
        found = await get_group(ec2, ctx, group_id)
        if found is None:
            raise InvalidGroupNotFound(f"The security group '{group_id}' does not exist")
        doc, revision = copy.deepcopy(found[0]), found[1]
        result = change(doc)
        try:
            await ec2.store.commit([Put(key(ctx, SECURITY_GROUP, group_id), doc, expected_revision=revision)])
            return result
        except Conflict:
            continue
    raise Conflict(key(ctx, SECURITY_GROUP, group_id), None, None)


@api.operation("AuthorizeSecurityGroupIngress")
async def authorize_security_group_ingress(
    ec2: Ec2, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    group_id = await _target(ec2, ctx, request)
    if await get_group(ec2, ctx, group_id) is None:
        raise InvalidGroupNotFound(f"The security group '{group_id}' does not exist")
    new_rules = parse_permissions(
        _legacy_permissions(request), egress=False, new_id=lambda: new_id(ec2, "sgr")
    )
    if not new_rules:
        raise MissingParameter("The request must contain the parameter ipPermissions")
    for rule in new_rules:
        if "group" in rule and await get_group(ec2, ctx, rule["group"]) is None:
            raise InvalidGroupNotFound(f"The security group '{rule['group']}' does not exist")
    check_dry_run(request)

    def add(doc: dict[str, Any]) -> list[Rule]:
        rules: list[Rule] = doc.setdefault("dockyard", {}).setdefault("rules", [])
        for rule in new_rules:
            if any(same_rule(rule, existing) for existing in rules):
                raise InvalidPermissionDuplicate(f'the specified rule "{rule_text(rule)}" already exists')
        rules.extend(new_rules)
        return new_rules

    added = await _modify(ec2, ctx, group_id, add)
    return {
        "Return": True,
        "SecurityGroupRules": [rule_view(r, group_id=group_id, account_id=ctx.account_id) for r in added],
    }


@api.operation("RevokeSecurityGroupIngress")
async def revoke_security_group_ingress(
    ec2: Ec2, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    group_id = await _target(ec2, ctx, request)
    if await get_group(ec2, ctx, group_id) is None:
        raise InvalidGroupNotFound(f"The security group '{group_id}' does not exist")
    wanted = parse_permissions(_legacy_permissions(request), egress=False, new_id=lambda: "")
    rule_ids = set(request.get("SecurityGroupRuleIds", []))
    check_dry_run(request)

    def remove(doc: dict[str, Any]) -> tuple[list[Rule], list[Rule]]:
        rules: list[Rule] = doc.setdefault("dockyard", {}).setdefault("rules", [])
        revoked = [
            r
            for r in rules
            if not r.get("egress") and (r["id"] in rule_ids or any(same_rule(r, w) for w in wanted))
        ]
        unknown = [w for w in wanted if not any(same_rule(r, w) for r in rules)]
        doc["dockyard"]["rules"] = [r for r in rules if r not in revoked]
        return revoked, unknown

    revoked, unknown = await _modify(ec2, ctx, group_id, remove)
    response: dict[str, Any] = {
        "Return": True,
        "RevokedSecurityGroupRules": [
            {
                "SecurityGroupRuleId": r["id"],
                "GroupId": group_id,
                "IsEgress": False,
                "IpProtocol": r["protocol"],
                "FromPort": r.get("from", -1),
                "ToPort": r.get("to", -1),
                **({"CidrIpv4": r["cidr"]} if "cidr" in r else {}),
                **({"CidrIpv6": r["cidr6"]} if "cidr6" in r else {}),
                **({"ReferencedGroupId": r["group"]} if "group" in r else {}),
            }
            for r in revoked
        ],
    }
    if unknown:
        response["UnknownIpPermissions"] = permissions(unknown, egress=False, account_id=ctx.account_id)
    return response
