"""Auto Scaling group tags: CreateOrUpdateTags, DeleteTags, DescribeTags.

Tags live in the group document (`Tags`, as DescribeAutoScalingGroups shows them). Those with
`PropagateAtLaunch` go onto the instances launched afterwards, as on AWS; changing them does not
retag running instances.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.autoscaling.api import api
from dockyard.services.autoscaling.deps import AutoScaling
from dockyard.services.autoscaling.errors import ValidationError
from dockyard.services.autoscaling.group_config import group_tags
from dockyard.services.autoscaling.resources import GROUP, page, require_group
from dockyard.services.ec2.filters import matches
from dockyard.store import Conflict, Put

__all__ = ["create_or_update_tags", "delete_tags", "describe_tags"]

_ATTEMPTS = 8


def _by_group(tags: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for tag in tags:
        if tag.get("ResourceType", "auto-scaling-group") != "auto-scaling-group":
            raise ValidationError(
                f"Invalid resource type '{tag.get('ResourceType')}': must be auto-scaling-group"
            )
        if not tag.get("ResourceId"):
            raise ValidationError("ResourceId must be specified for each tag.")
        grouped[tag["ResourceId"]].append(tag)
    return grouped


async def _edit(scaling: AutoScaling, ctx: RequestContext, name: str, change: Any) -> None:
    for _ in range(_ATTEMPTS):
        found = await require_group(scaling, ctx, name)
        doc = copy.deepcopy(found.value)
        doc["Tags"] = change(doc["AutoScalingGroupName"], doc.get("Tags", []))
        try:
            await scaling.store.commit([Put(found.key, doc, expected_revision=found.revision)])
            return
        except Conflict:
            continue


@api.operation("CreateOrUpdateTags")
async def create_or_update_tags(
    scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    grouped = _by_group(request["Tags"])
    for name, tags in grouped.items():
        await require_group(scaling, ctx, name)
        group_tags(name, tags)
    for name, tags in grouped.items():
        await _edit(
            scaling, ctx, name, lambda group, current, tags=tags: group_tags(group, [*current, *tags])
        )
    return {}


@api.operation("DeleteTags")
async def delete_tags(scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    grouped = _by_group(request["Tags"])
    for name in grouped:
        await require_group(scaling, ctx, name)
    for name, tags in grouped.items():
        doomed = {t["Key"] for t in tags}
        await _edit(
            scaling,
            ctx,
            name,
            lambda _group, current, doomed=doomed: [t for t in current if t["Key"] not in doomed],
        )
    return {}


_FILTERS = ("auto-scaling-group", "key", "value", "propagate-at-launch")


@api.operation("DescribeTags")
async def describe_tags(scaling: AutoScaling, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    filters = request.get("Filters", [])
    for item in filters:
        if item.get("Name") not in _FILTERS:
            raise ValidationError(
                f"Filter name '{item.get('Name')}' is invalid. Valid filters are {', '.join(_FILTERS)}."
            )
    rows = []
    for group in await scaling.store.list(GROUP, account_id=ctx.account_id, region=ctx.region):
        for tag in group.value.get("Tags", []):
            fields = {
                "auto-scaling-group": [tag["ResourceId"]],
                "key": [tag["Key"]],
                "value": [tag["Value"]],
                "propagate-at-launch": ["true" if tag["PropagateAtLaunch"] else "false"],
            }
            if matches(filters, lambda name, fields=fields: fields.get(name, [])):  # type: ignore[misc]
                rows.append(tag)
    items, token = page(rows, request, key=lambda t: [t["ResourceId"], t["Key"]], default=50, limit=100)
    return {"Tags": items, **({"NextToken": token} if token else {})}
