"""Connecting Application Auto Scaling to the services it acts through, when the server is composed.

```
ECS          DescribeServices / UpdateService (desired count)        peers.ecs
CloudWatch   PutMetricAlarm / DeleteAlarms / DescribeAlarms          peers.cloudwatch
             alarm actions naming a policy ARN -> run_policy        (repeated while in ALARM)
```
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dockyard.aws.dispatch import BoundApi
from dockyard.aws.local_client import LocalClient
from dockyard.services.applicationautoscaling.alarm_actions import accepts, run_policy
from dockyard.services.applicationautoscaling.deps import SERVICE_PRINCIPAL, AppScaling
from dockyard.services.cloudwatch.actions import AlarmAction, AlarmActions

__all__ = ["bind_peers"]


def bind_peers(app: AppScaling, apis: Iterable[BoundApi[Any]], actions: AlarmActions) -> None:
    """Give `app` in-process ECS and CloudWatch clients and register its alarm action handler."""
    for bound in apis:
        if bound.api.service_name == "ecs":
            app.peers.ecs = LocalClient(bound, principal=SERVICE_PRINCIPAL)
        elif bound.api.service_name == "cloudwatch":
            app.peers.cloudwatch = LocalClient(bound, principal=SERVICE_PRINCIPAL)

    async def handle(action: AlarmAction) -> None:
        await run_policy(app, action)

    actions.register("autoscaling", handle, accepts=accepts, repeats=True)
