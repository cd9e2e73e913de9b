"""Which load balancers use which certificates: asked of Elastic Load Balancing, not stored.

```
in_use(acm, ctx) --DescribeLoadBalancers (every page)--> load balancers
                 --DescribeListeners per load balancer--> Certificates[].CertificateArn
                 --> {certificate ARN: [load balancer ARNs]}
```
ACM never reads ELBv2's tables (DESIGN.md): it calls ELBv2's operations in process, as the
account's user would, so InUseBy is always what the listeners say now (a listener deleted with
its load balancer stops counting at once).
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.services.acm.deps import Acm

__all__ = ["in_use"]


async def _pages(
    acm: Acm, ctx: RequestContext, operation: str, request: dict[str, Any], member: str
) -> list[Any]:
    client = acm.peers.elbv2
    assert client is not None
    items: list[Any] = []
    marker: str | None = None
    while True:
        page = await client.call(
            operation,
            {**request, **({"Marker": marker} if marker else {})},
            account_id=ctx.account_id,
            region=ctx.region,
        )
        items += page.get(member) or []
        marker = page.get("NextMarker")
        if not marker:
            return items


async def in_use(acm: Acm, ctx: RequestContext) -> dict[str, list[str]]:
    """Certificate ARN -> ARNs of the load balancers with a listener that serves it."""
    if acm.peers.elbv2 is None:
        return {}
    users: dict[str, list[str]] = {}
    for lb in await _pages(acm, ctx, "DescribeLoadBalancers", {}, "LoadBalancers"):
        lb_arn = str(lb["LoadBalancerArn"])
        try:
            listeners = await _pages(acm, ctx, "DescribeListeners", {"LoadBalancerArn": lb_arn}, "Listeners")
        except AwsError:
            continue  # deleted meanwhile
        for listener in listeners:
            for certificate in listener.get("Certificates") or []:
                holders = users.setdefault(str(certificate.get("CertificateArn")), [])
                if lb_arn not in holders:
                    holders.append(lb_arn)
    return users
