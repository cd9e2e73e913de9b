"""Elastic Load Balancing v2 (application and network load balancers): the control API.

Load balancers, listeners, rules, target groups and targets are documents in the store (see
`resources` for the contract the HAProxy data plane in `dockyard.lb` reads); target health is
what the data plane reports, merged with registration state. Importing this package registers
every handler module on `api`.
"""

from dockyard.services.elbv2 import (  # noqa: F401  (registration by import)
    attribute_ops,
    lb_settings,
    limits,
    listeners,
    load_balancers,
    rules,
    tags,
    target_groups,
    target_health,
    targets,
)
from dockyard.services.elbv2.api import api
from dockyard.services.elbv2.controller import elbv2_controllers
from dockyard.services.elbv2.deps import Elbv2, Elbv2Settings

__all__ = ["api", "Elbv2", "Elbv2Settings", "elbv2_controllers"]
