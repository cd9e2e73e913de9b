"""Describe/ModifyLoadBalancerAttributes and Describe/ModifyTargetGroupAttributes.

Attributes are stored under the resource's `dockyard.Attributes` (the data plane reads the
idle timeout, algorithm, stickiness and deregistration delay there). A Modify request is checked
as a whole (`attributes`) and changes nothing when any attribute is wrong; it answers with every
attribute of the resource, as AWS does.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.elbv2.api import api
from dockyard.services.elbv2.attributes import apply_lb_attributes, apply_tg_attributes, as_list
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.resources import get_load_balancer, get_target_group, retrying
from dockyard.store import Put

__all__ = [
    "describe_load_balancer_attributes",
    "modify_load_balancer_attributes",
    "describe_target_group_attributes",
    "modify_target_group_attributes",
]


@api.operation("DescribeLoadBalancerAttributes")
async def describe_load_balancer_attributes(
    elb: Elbv2, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    found = await get_load_balancer(elb, ctx, request["LoadBalancerArn"])
    return {"Attributes": as_list(found.value["dockyard"]["Attributes"])}


@api.operation("ModifyLoadBalancerAttributes")
async def modify_load_balancer_attributes(
    elb: Elbv2, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    async def attempt() -> dict[str, Any]:
        found = await get_load_balancer(elb, ctx, request["LoadBalancerArn"])
        doc = copy.deepcopy(found.value)
        current = doc["dockyard"]["Attributes"]
        doc["dockyard"]["Attributes"] = apply_lb_attributes(doc["Type"], current, request["Attributes"])
        if doc != found.value:
            await elb.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        return {"Attributes": as_list(doc["dockyard"]["Attributes"])}

    return await retrying(attempt)


@api.operation("DescribeTargetGroupAttributes")
async def describe_target_group_attributes(
    elb: Elbv2, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    found = await get_target_group(elb, ctx, request["TargetGroupArn"])
    return {"Attributes": as_list(found.value["dockyard"]["Attributes"])}


@api.operation("ModifyTargetGroupAttributes")
async def modify_target_group_attributes(
    elb: Elbv2, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    async def attempt() -> dict[str, Any]:
        found = await get_target_group(elb, ctx, request["TargetGroupArn"])
        doc = copy.deepcopy(found.value)
        current = doc["dockyard"]["Attributes"]
        doc["dockyard"]["Attributes"] = apply_tg_attributes(
            doc["Protocol"], doc["TargetType"], current, request["Attributes"]
        )
        if doc != found.value:
            await elb.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        return {"Attributes": as_list(doc["dockyard"]["Attributes"])}

    return await retrying(attempt)
