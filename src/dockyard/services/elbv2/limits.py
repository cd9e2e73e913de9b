"""DescribeAccountLimits: Elastic Load Balancing's default quotas, the ones Dockyard enforces
among them (load balancers of each type, target groups, listeners and rules per load balancer,
targets per target group, condition values and wildcards per rule)."""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.elbv2.api import api
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.paging import page

__all__ = ["LIMITS", "describe_account_limits"]

LIMITS = {
    "application-load-balancers": "50",
    "certificates-per-application-load-balancer": "25",
    "certificates-per-network-load-balancer": "25",
    "condition-values-per-alb-rule": "5",
    "condition-wildcards-per-alb-rule": "5",
    "gateway-load-balancers": "100",
    "gateway-load-balancers-per-vpc": "100",
    "geneve-target-groups": "100",
    "listeners-per-application-load-balancer": "50",
    "listeners-per-network-load-balancer": "50",
    "network-load-balancer-enis-per-vpc": "1200",
    "network-load-balancers": "50",
    "rules-per-application-load-balancer": "100",
    "target-groups": "3000",
    "target-groups-per-action-on-application-load-balancer": "5",
    "target-groups-per-action-on-network-load-balancer": "1",
    "target-groups-per-application-load-balancer": "100",
    "target-id-registrations-per-application-load-balancer": "1000",
    "targets-per-application-load-balancer": "1000",
    "targets-per-availability-zone-per-gateway-load-balancer": "300",
    "targets-per-availability-zone-per-network-load-balancer": "500",
    "targets-per-network-load-balancer": "3000",
}


@api.operation("DescribeAccountLimits")
async def describe_account_limits(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    limits = [{"Name": name, "Max": value} for name, value in sorted(LIMITS.items())]
    items, marker = page(limits, request, key=lambda limit: limit["Name"])
    return {"Limits": items, **marker}
