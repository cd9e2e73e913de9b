"""SetSecurityGroups, SetSubnets and SetIpAddressType: a load balancer's network settings.

The same checks as CreateLoadBalancer (subnets and security groups are EC2's, asked in
process); the load balancer keeps its address and listeners. Only IPv4 is served, as the
default VPC has no IPv6 CIDR block.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.elbv2.api import api
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.errors import InvalidConfigurationRequest
from dockyard.services.elbv2.load_balancers import placement
from dockyard.services.elbv2.network import check_security_groups
from dockyard.services.elbv2.resources import get_load_balancer, retrying
from dockyard.store import Put

__all__ = ["set_security_groups", "set_subnets", "set_ip_address_type"]


def _check_ip_type(ip_type: str | None) -> None:
    if ip_type not in (None, "ipv4"):
        raise InvalidConfigurationRequest(f"IP address type '{ip_type}' needs subnets with IPv6 CIDR blocks")


@api.operation("SetSecurityGroups")
async def set_security_groups(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    groups = list(dict.fromkeys(request["SecurityGroups"]))
    if request.get("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic") is not None:
        raise InvalidConfigurationRequest("PrivateLink traffic settings are not supported by Dockyard")

    async def attempt() -> dict[str, Any]:
        found = await get_load_balancer(elb, ctx, request["LoadBalancerArn"])
        doc = copy.deepcopy(found.value)
        if doc["Type"] == "network" and not doc.get("SecurityGroups"):
            raise InvalidConfigurationRequest(
                "You cannot set security groups for a Network Load Balancer which was created without any"
            )
        if doc["Type"] == "application" and not groups:
            raise InvalidConfigurationRequest(
                "An Application Load Balancer must have at least one security group"
            )
        if groups:
            await check_security_groups(elb, ctx, groups, doc["VpcId"])
        doc["SecurityGroups"] = groups
        if doc != found.value:
            await elb.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        return {"SecurityGroupIds": groups}

    return await retrying(attempt)


@api.operation("SetSubnets")
async def set_subnets(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    _check_ip_type(request.get("IpAddressType"))
    if request.get("EnablePrefixForIpv6SourceNat") is not None:
        raise InvalidConfigurationRequest("'EnablePrefixForIpv6SourceNat' is not supported by Dockyard")

    async def attempt() -> dict[str, Any]:
        found = await get_load_balancer(elb, ctx, request["LoadBalancerArn"])
        doc = copy.deepcopy(found.value)
        vpc_id, zones = await placement(elb, ctx, request, doc["Type"])
        if vpc_id != doc["VpcId"]:
            raise InvalidConfigurationRequest(
                f"The subnets must be in the load balancer's VPC '{doc['VpcId']}'"
            )
        doc["AvailabilityZones"] = zones
        if doc != found.value:
            await elb.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        return {"AvailabilityZones": zones, "IpAddressType": doc["IpAddressType"]}

    return await retrying(attempt)


@api.operation("SetIpAddressType")
async def set_ip_address_type(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found = await get_load_balancer(elb, ctx, request["LoadBalancerArn"])
    _check_ip_type(request["IpAddressType"])
    return {"IpAddressType": found.value["IpAddressType"]}
