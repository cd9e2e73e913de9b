"""EC2 tags: CreateTags, DeleteTags, DescribeTags, and tags for the other handlers.

Every taggable resource's tags live in one `ec2:tags` document named by the resource id, so the
same code serves instances, security groups, launch templates and the (derived) default VPC and
subnets. Tag specifications at creation (`TagSpecifications`) go through `spec_tags`; keys with
the `aws:` prefix are reserved, except for AWS's own services (Auto Scaling sets
`aws:autoscaling:groupName`; EC2 sets `aws:ec2launchtemplate:*`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.aws.local_client import SERVICE_PRINCIPAL_SUFFIX
from dockyard.core.vpc import default_security_group_id, default_subnets, default_vpc_id
from dockyard.services.ec2.api import api
from dockyard.services.ec2.deps import Ec2
from dockyard.services.ec2.errors import (
    InvalidGroupNotFound,
    InvalidID,
    InvalidInstanceIDNotFound,
    InvalidLaunchTemplateIdNotFound,
    InvalidParameterValue,
    InvalidSubnetIDNotFound,
    InvalidVpcIDNotFound,
    TagLimitExceeded,
)
from dockyard.services.ec2.filters import Fields, check_filters, matches, page
from dockyard.services.ec2.resources import (
    INSTANCE,
    LAUNCH_TEMPLATE,
    SECURITY_GROUP,
    TAGS,
    check_dry_run,
    key,
    resource_type_of,
)
from dockyard.store import Conflict, Delete, Put, Write

__all__ = [
    "Tag",
    "all_tags",
    "tags_of",
    "spec_tags",
    "check_tags",
    "merge",
    "tags_put",
    "tags_delete",
    "create_tags",
    "delete_tags",
    "describe_tags",
]

Tag = dict[str, str]
MAX_TAGS = 50
_ATTEMPTS = 8


def _tag(item: dict[str, Any]) -> Tag:
    return {"Key": str(item.get("Key", "")), "Value": str(item.get("Value") or "")}


async def all_tags(ec2: Ec2, ctx: RequestContext) -> dict[str, list[Tag]]:
    """Resource id -> its tags, for every tagged resource of the account and region."""
    docs = await ec2.store.list(TAGS, account_id=ctx.account_id, region=ctx.region)
    return {doc.key.name: list(doc.value.get("tags", [])) for doc in docs}


async def tags_of(ec2: Ec2, ctx: RequestContext, resource_id: str) -> list[Tag]:
    found = await ec2.store.get(key(ctx, TAGS, resource_id))
    return list(found.value.get("tags", [])) if found is not None else []


def check_tags(ctx: RequestContext, tags: Iterable[Tag], *, existing: int = 0) -> None:
    """EC2's rules for tag keys and values, and the 50-tag limit."""
    service = ctx.principal.endswith(SERVICE_PRINCIPAL_SUFFIX)
    keys = set()
    for tag in tags:
        name, value = tag["Key"], tag["Value"]
        if not name or len(name) > 128:
            raise InvalidParameterValue(
                f"Value ( {name} ) for parameter key is invalid. "
                "Tag keys must be between 1 and 128 Unicode characters."
            )
        if len(value) > 256:
            raise InvalidParameterValue(
                f"Value ( {value[:20]}... ) for parameter value is invalid. "
                "Tag values must be less than or equal to 256 Unicode characters."
            )
        if name.lower().startswith("aws:") and not service:
            raise InvalidParameterValue(
                f"Value ( {name} ) for parameter key is invalid. "
                "Tag keys starting with 'aws:' are reserved for internal use"
            )
        keys.add(name)
    if existing + len(keys) > MAX_TAGS:
        raise TagLimitExceeded(f"The maximum number of Tags for a resource is {MAX_TAGS}")


def merge(current: Sequence[Tag], new: Iterable[Tag]) -> list[Tag]:
    merged = {t["Key"]: t["Value"] for t in current}
    for tag in new:
        merged[tag["Key"]] = tag["Value"]
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def spec_tags(ctx: RequestContext, specs: Sequence[dict[str, Any]], resource_type: str) -> list[Tag]:
    """The tags `TagSpecifications` give a new resource of `resource_type` (checked)."""
    tags: list[Tag] = []
    for spec in specs:
        if spec.get("ResourceType", resource_type) == resource_type:
            tags = merge(tags, [_tag(t) for t in spec.get("Tags", [])])
    check_tags(ctx, tags)
    return tags


def tags_put(ctx: RequestContext, resource_id: str, resource_type: str, tags: list[Tag]) -> Put:
    return Put(key(ctx, TAGS, resource_id), {"resourceType": resource_type, "tags": tags})


def tags_delete(ctx: RequestContext, resource_id: str) -> Delete:
    return Delete(key(ctx, TAGS, resource_id))


async def _check_exists(ec2: Ec2, ctx: RequestContext, resource_id: str) -> str:
    kind = resource_type_of(resource_id)
    if kind is None:
        raise InvalidID(f"The ID '{resource_id}' is not valid")
    if kind == "vpc":
        if resource_id != default_vpc_id(ctx.account_id, ctx.region):
            raise InvalidVpcIDNotFound(f"The vpc ID '{resource_id}' does not exist")
    elif kind == "subnet":
        if resource_id not in {s.subnet_id for s in default_subnets(ctx.account_id, ctx.region)}:
            raise InvalidSubnetIDNotFound(f"The subnet ID '{resource_id}' does not exist")
    else:
        stored_kind, error, message = {
            "instance": (
                INSTANCE,
                InvalidInstanceIDNotFound,
                f"The instance ID '{resource_id}' does not exist",
            ),
            "security-group": (
                SECURITY_GROUP,
                InvalidGroupNotFound,
                f"The security group '{resource_id}' does not exist",
            ),
            "launch-template": (
                LAUNCH_TEMPLATE,
                InvalidLaunchTemplateIdNotFound,
                f"The specified launch template, with template ID {resource_id}, does not exist.",
            ),
        }[kind]
        if kind == "security-group" and resource_id == default_security_group_id(ctx.account_id, ctx.region):
            return kind
        if await ec2.store.get(key(ctx, stored_kind, resource_id)) is None:
            raise error(message)
    return kind


async def _update(ec2: Ec2, ctx: RequestContext, resource_id: str, resource_type: str, change: Any) -> None:
    for _ in range(_ATTEMPTS):
        current = await ec2.store.get(key(ctx, TAGS, resource_id))
        tags = list(current.value.get("tags", [])) if current is not None else []
        updated = change(tags)
        write: Write
        if updated:
            write = Put(
                key(ctx, TAGS, resource_id),
                {"resourceType": resource_type, "tags": updated},
                expected_revision=current.revision if current is not None else 0,
            )
        elif current is not None:
            write = Delete(key(ctx, TAGS, resource_id), expected_revision=current.revision)
        else:
            return
        try:
            await ec2.store.commit([write])
            return
        except Conflict:
            continue


@api.operation("CreateTags")
async def create_tags(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    tags = [_tag(t) for t in request["Tags"]]
    check_tags(ctx, tags)
    kinds = {resource_id: await _check_exists(ec2, ctx, resource_id) for resource_id in request["Resources"]}
    for resource_id in kinds:
        current = await tags_of(ec2, ctx, resource_id)
        new_keys = {t["Key"] for t in tags} - {t["Key"] for t in current}
        if len(current) + len(new_keys) > MAX_TAGS:
            raise TagLimitExceeded(f"The maximum number of Tags for a resource is {MAX_TAGS}")
    check_dry_run(request)
    for resource_id, kind in kinds.items():
        await _update(ec2, ctx, resource_id, kind, lambda current: merge(current, tags))
    return {}


@api.operation("DeleteTags")
async def delete_tags(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    given = request.get("Tags")
    service = ctx.principal.endswith(SERVICE_PRINCIPAL_SUFFIX)
    for tag in given or []:
        name = str(tag.get("Key", ""))
        if name.lower().startswith("aws:") and not service:
            raise InvalidParameterValue(
                f"Value ( {name} ) for parameter key is invalid. "
                "Tag keys starting with 'aws:' are reserved for internal use"
            )
    kinds = {resource_id: await _check_exists(ec2, ctx, resource_id) for resource_id in request["Resources"]}
    check_dry_run(request)

    def remove(current: list[Tag]) -> list[Tag]:
        if given is None:  # no Tags: every tag goes, except AWS's own
            return [t for t in current if t["Key"].lower().startswith("aws:")]
        kept = []
        for tag in current:
            hit = any(
                t.get("Key") == tag["Key"] and (t.get("Value") is None or t.get("Value") == tag["Value"])
                for t in given
            )
            if not hit:
                kept.append(tag)
        return kept

    for resource_id, kind in kinds.items():
        await _update(ec2, ctx, resource_id, kind, remove)
    return {}


_DESCRIBE_FILTERS = ("key", "value", "resource-id", "resource-type")


@api.operation("DescribeTags")
async def describe_tags(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    filters = request.get("Filters", [])
    check_filters(filters, _DESCRIBE_FILTERS, tags=False)
    check_dry_run(request)
    rows = []
    for doc in await ec2.store.list(TAGS, account_id=ctx.account_id, region=ctx.region):
        resource_type = str(doc.value.get("resourceType", ""))
        for tag in doc.value.get("tags", []):
            row = {
                "Key": tag["Key"],
                "Value": tag["Value"],
                "ResourceId": doc.key.name,
                "ResourceType": resource_type,
            }
            fields = {
                "key": [row["Key"]],
                "value": [row["Value"]],
                "resource-id": [row["ResourceId"]],
                "resource-type": [resource_type],
            }
            if matches(filters, _lookup(fields)):
                rows.append(row)
    rows.sort(key=lambda r: (r["ResourceId"], r["Key"]))
    items, token = page(rows, request, key=lambda r: [r["ResourceId"], r["Key"]])
    response: dict[str, Any] = {"Tags": items}
    if token:
        response["NextToken"] = token
    return response


def _lookup(fields: dict[str, list[str]]) -> Fields:
    return lambda name: fields.get(name, [])
