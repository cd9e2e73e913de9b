"""Tags of load balancers, target groups, listeners and rules: AddTags, RemoveTags, DescribeTags.

Tags live in documents of their own (kind `elbv2/tags`, named by the resource's ARN) so tagging
never rewrites a document the data plane watches; a resource's tags are deleted in the same
commit as the resource.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.elbv2.api import api
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.errors import (
    DuplicateTagKeys,
    ListenerNotFound,
    LoadBalancerNotFound,
    RuleNotFound,
    TargetGroupNotFound,
    TooManyTags,
    ValidationError,
)
from dockyard.services.elbv2.resources import (
    LISTENER,
    LOAD_BALANCER,
    RULE,
    TAGS,
    TARGET_GROUP,
    arn_kind,
    key,
    retrying,
)
from dockyard.store import Delete, Put, Write

__all__ = ["MAX_TAGS", "check_new_tags", "tag_writes", "add_tags", "remove_tags", "describe_tags"]

MAX_TAGS = 50
Tag = dict[str, str]

_KIND_OF = {
    "load balancer": (LOAD_BALANCER, LoadBalancerNotFound, "load balancers"),
    "target group": (TARGET_GROUP, TargetGroupNotFound, "target groups"),
    "listener": (LISTENER, ListenerNotFound, "listeners"),
    "listener rule": (RULE, RuleNotFound, "rules"),
}


def check_new_tags(tags: list[dict[str, Any]]) -> list[Tag]:
    """The request's tags, checked: no duplicate keys, no reserved `aws:` prefix."""
    seen: set[str] = set()
    out: list[Tag] = []
    for tag in tags:
        tag_key = str(tag["Key"])
        if tag_key in seen:
            raise DuplicateTagKeys(f"Tag key was specified more than once: {tag_key}")
        if tag_key.lower().startswith("aws:"):
            raise ValidationError(f"Tag key '{tag_key}' cannot start with the reserved prefix 'aws:'")
        seen.add(tag_key)
        out.append({"Key": tag_key, "Value": str(tag.get("Value") or "")})
    if len(out) > MAX_TAGS:
        raise TooManyTags(
            "The quota for the number of tags that can be assigned to a resource has been reached"
        )
    return out


def tag_writes(ctx: RequestContext, arn: str, tags: list[Tag]) -> list[Write]:
    """The write that gives a new resource its tags (nothing when there are none)."""
    if not tags:
        return []
    return [Put(key(ctx, TAGS, arn), {"ResourceArn": arn, "Tags": tags}, expected_revision=0)]


async def _check_exists(elb: Elbv2, ctx: RequestContext, arn: str) -> None:
    kind = arn_kind(arn)
    if kind is None:
        raise ValidationError(f"'{arn}' is not a valid resource ARN")
    store_kind, missing, plural = _KIND_OF[kind]
    if await elb.store.get(key(ctx, store_kind, arn)) is None:
        raise missing(f"One or more {plural} not found")


@api.operation("AddTags")
async def add_tags(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    new = check_new_tags(request["Tags"])
    arns = list(dict.fromkeys(request["ResourceArns"]))

    async def attempt() -> dict[str, Any]:
        writes: list[Write] = []
        for arn in arns:
            await _check_exists(elb, ctx, arn)
            found = await elb.store.get(key(ctx, TAGS, arn))
            merged = {t["Key"]: t["Value"] for t in (found.value["Tags"] if found else [])}
            merged.update({t["Key"]: t["Value"] for t in new})
            if len(merged) > MAX_TAGS:
                raise TooManyTags(
                    "The quota for the number of tags that can be assigned to a resource has been reached"
                )
            doc = {"ResourceArn": arn, "Tags": [{"Key": k, "Value": v} for k, v in merged.items()]}
            writes.append(Put(key(ctx, TAGS, arn), doc, expected_revision=found.revision if found else 0))
        await elb.store.commit(writes)
        return {}

    return await retrying(attempt)


@api.operation("RemoveTags")
async def remove_tags(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    keys = set(request["TagKeys"])
    arns = list(dict.fromkeys(request["ResourceArns"]))

    async def attempt() -> dict[str, Any]:
        writes: list[Write] = []
        for arn in arns:
            await _check_exists(elb, ctx, arn)
            found = await elb.store.get(key(ctx, TAGS, arn))
            if found is None:
                continue
            kept = [t for t in found.value["Tags"] if t["Key"] not in keys]
            if len(kept) == len(found.value["Tags"]):
                continue
            if kept:
                doc = {"ResourceArn": arn, "Tags": kept}
                writes.append(Put(found.key, doc, expected_revision=found.revision))
            else:
                writes.append(Delete(found.key, expected_revision=found.revision))
        if writes:
            await elb.store.commit(writes)
        return {}

    return await retrying(attempt)


@api.operation("DescribeTags")
async def describe_tags(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    descriptions = []
    for arn in request["ResourceArns"]:
        await _check_exists(elb, ctx, arn)
        found = await elb.store.get(key(ctx, TAGS, arn))
        descriptions.append({"ResourceArn": arn, "Tags": list(found.value["Tags"]) if found else []})
    return {"TagDescriptions": descriptions}
