"""Wiring of EC2 capacity: the EC2 and Auto Scaling APIs, their controllers, the instance launcher.

```
ec2 api  <-- RunInstances / TerminateInstances (in process) -- autoscaling controller
   |                                                            ^
   v  ec2:instance documents                                    | autoscaling api
instance launcher --> agents (processes, or simulated in this loop) --> ECS over HTTP
   \\-- DeregisterContainerInstance (in process) --> ecs api
ecs api (capacity providers) --> Auto Scaling and EC2 operations (in process, `bind_peers`)
```
`Server` calls `Capacity.build` while it assembles its APIs and `start`/`stop` around its own
lifespan; the launcher needs the server's endpoint, so it starts once the socket is bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.aws.dispatch import BoundApi
from dockyard.aws.local_client import LocalClient
from dockyard.controllers.reconciler import Reconciler
from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.server.instance_agents import address_free
from dockyard.server.instance_launcher import InstanceLauncher
from dockyard.server.settings import Settings
from dockyard.services import autoscaling as autoscaling
from dockyard.services import ec2
from dockyard.services.ecs.deps import Peers
from dockyard.store import Store

__all__ = ["Capacity"]


@dataclass
class Capacity:
    apis: list[BoundApi[Any]]
    controllers: list[Reconciler]
    launcher: InstanceLauncher

    def bind_peers(self, peers: Peers) -> None:
        """Give ECS in-process clients of Auto Scaling and EC2 (capacity providers use them)."""
        for bound in self.apis:
            client = LocalClient(bound, principal="ecs.amazonaws.com")
            if bound.api.service_name == "autoscaling":
                peers.autoscaling = client
            elif bound.api.service_name == "ec2":
                peers.ec2 = client

    @classmethod
    def build(
        cls,
        *,
        store: Store,
        clock: Clock,
        ids: IdGenerator,
        settings: Settings,
        endpoint: str,
        ecs_api: BoundApi[Any],
    ) -> Capacity:
        ec2_deps = ec2.Ec2(
            store,
            clock,
            ids,
            ec2.Ec2Settings(simulate_instances=settings.simulate_instances, address_probe=address_free),
        )
        ec2_api = ec2.api.bind(ec2_deps)
        scaling = autoscaling.AutoScaling(
            store, clock, ids, LocalClient(ec2_api, principal="autoscaling.amazonaws.com")
        )
        launcher = InstanceLauncher(
            store=store,
            clock=clock,
            endpoint=endpoint,
            data_dir=settings.data_dir,
            ecs=LocalClient(ecs_api, principal="ec2.amazonaws.com"),
        )
        return cls(
            apis=[ec2_api, autoscaling.api.bind(scaling)],
            controllers=[*ec2.ec2_controllers(ec2_deps), *autoscaling.autoscaling_controllers(scaling)],
            launcher=launcher,
        )
