"""The loopback address each load balancer listens on, leased host-wide.

A load balancer's data plane (HAProxy) binds its listeners on an address of its own, so two load
balancers can both listen on port 80. Addresses come from 127.0.200.1 - 127.0.254.254 (settings),
away from the 127.0.0.N of EC2 instances' agents and the 127.1.x.y of simulated instances. A lease
(`elbv2/address`, account and region empty) is written with `expected_revision=0` in the same
commit as the load balancer and deleted with it, so two load balancers never share one.
"""

from __future__ import annotations

from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.errors import TooManyLoadBalancers
from dockyard.services.elbv2.resources import ADDRESS, address_key
from dockyard.store import Put

__all__ = ["lease_address"]


async def lease_address(elb: Elbv2, lb_arn: str) -> tuple[str, Put]:
    """A free address and the write that leases it to `lb_arn` (commit it with the load balancer)."""
    leased = {doc.key.name for doc in await elb.store.list(ADDRESS, account_id="", region="")}
    first, last = elb.settings.address_first_octet, elb.settings.address_last_octet
    for third in range(first, last + 1):
        for fourth in range(1, 255):
            address = f"127.0.{third}.{fourth}"
            if address not in leased:
                return address, Put(address_key(address), {"LoadBalancerArn": lb_arn}, expected_revision=0)
    raise TooManyLoadBalancers("The maximum number of load balancers has been reached")
