"""The load balancer data plane: HAProxy configured from the ELBv2 model (docs/load-balancing.md).

`LoadBalancing.build(store, clock, LbSettings(...))` gives the controller the server runs and the
health observer, or None when HAProxy is not installed.
"""

from dockyard.lb.controller import DataPlaneController, LbSettings, LoadBalancing

__all__ = ["LoadBalancing", "LbSettings", "DataPlaneController"]
