"""A service's tasks in its load balancers' target groups (ecs.md §4.8, integrations.md §1.9).

ECS registers a service task with every target group of the service once the task is RUNNING,
counts it healthy for deployments only while each of its targets is `healthy`, and before the
task stops deregisters it and waits for the target group's deregistration delay (the task shows
`DEACTIVATING` meanwhile). Elastic Load Balancing is another service: everything here goes
through its operations (`RegisterTargets`, `DeregisterTargets`, `DescribeTargetHealth`,
`DescribeTargetGroups`) called in process, never through its tables.

```
task RUNNING, desired RUNNING, not registered --RegisterTargets-->        lb.state registered
desired STOPPED (scheduler or StopTask), registered --DeregisterTargets--> draining, DEACTIVATING
draining, and ELB no longer lists the target (its delay is over) -------> drained
```

While a task is `registered` or `draining` its agent is told to keep it running
(`agent_desired_status`), so connections drain before the container gets SIGTERM. The state
lives in the task document (`dockyard.lb`); each step is one compare-and-swap write, and ELB's
operations are idempotent, so a pass that loses a race simply repeats them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.aws.local_client import LocalClient
from dockyard.core.errors import AwsError
from dockyard.services.ecs import errors
from dockyard.services.ecs import service_events as messages
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import CONTAINER_INSTANCE
from dockyard.services.ecs.task_documents import status_rank
from dockyard.services.ecs.task_launch import task_labels
from dockyard.store import Key, Put, Versioned, Write

__all__ = [
    "TargetHealth",
    "TargetSync",
    "agent_desired_status",
    "check_target_groups",
    "lb_state",
]

REGISTERED = "registered"
DRAINING = "draining"
DRAINED = "drained"


@dataclass(frozen=True, slots=True)
class TargetHealth:
    """A registered task's health across its target groups: HEALTHY only when every target is
    healthy; UNHEALTHY when one is (`group` names it); INITIAL otherwise."""

    status: str
    group: str | None = None
    reason: str | None = None


def lb_state(task: Mapping[str, Any]) -> str | None:
    state = task.get("dockyard", {}).get("lb", {}).get("state")
    return str(state) if state else None


def agent_desired_status(task: Mapping[str, Any]) -> str:
    """What the agent running `task` is told: RUNNING while its targets are still registered or
    draining, even though the task's desiredStatus is already STOPPED."""
    desired = str(task["desiredStatus"])
    if desired == "STOPPED" and lb_state(task) in (REGISTERED, DRAINING):
        return "RUNNING"
    return desired


def _elbv2(ecs: Ecs) -> LocalClient:
    if ecs.peers.elbv2 is None:
        raise errors.InvalidParameterException("Elastic Load Balancing is not available on this server.")
    return ecs.peers.elbv2


async def check_target_groups(
    ecs: Ecs, account_id: str, region: str, load_balancers: Sequence[Mapping[str, Any]], network_mode: str
) -> None:
    """CreateService / UpdateService: each target group exists, is attached to a load balancer and
    has the target type the task definition's network mode needs."""
    elbv2 = _elbv2(ecs)
    for item in load_balancers:
        arn = item.get("targetGroupArn")
        if not arn:
            raise errors.InvalidParameterException(
                "Unable to assume role and validate the listeners configured on your load balancer. "
                "Please verify that the ECS service role being passed has the proper permissions."
            )
        try:
            found = await elbv2.call(
                "DescribeTargetGroups", {"TargetGroupArns": [arn]}, account_id=account_id, region=region
            )
        except AwsError:
            found = {}
        groups = found.get("TargetGroups") or []
        if not groups:
            raise errors.InvalidParameterException(
                "Unable to assume role and validate the specified targetGroupArn. Please verify that the "
                "ECS service role being passed has the proper permissions."
            )
        group = groups[0]
        if not group.get("LoadBalancerArns"):
            raise errors.InvalidParameterException(
                f"The target group with targetGroupArn {arn} does not have an associated load balancer."
            )
        target_type = group.get("TargetType", "instance")
        needed = "ip" if network_mode == "awsvpc" else "instance"
        if target_type != needed:
            raise errors.InvalidParameterException(
                f"The provided target group {arn} has target type {target_type}, which is incompatible "
                f"with the {network_mode} network mode specified in the task definition."
            )


def _network_mode(task: Mapping[str, Any]) -> str:
    td = task.get("dockyard", {}).get("taskDefinition", {})
    default = "awsvpc" if task.get("launchType") == "FARGATE" else "bridge"
    return str(td.get("networkMode") or default)


def _task_ip(task: Mapping[str, Any]) -> str | None:
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address":
                return str(detail["value"])
    return None


def _host_port(task: Mapping[str, Any], container: str, port: int) -> int | None:
    for item in task.get("containers", []):
        if item.get("name") != container:
            continue
        for binding in item.get("networkBindings", []):
            if int(binding.get("containerPort", -1)) == port and binding.get("hostPort"):
                return int(binding["hostPort"])
    return None


class TargetSync:
    """One service pass's work with ELB: register, deregister, observe draining and health."""

    def __init__(self, ecs: Ecs, key: Key, service: Mapping[str, Any]) -> None:
        self.ecs = ecs
        self.key = key
        self.service = service
        self.load_balancers: list[Mapping[str, Any]] = list(service.get("loadBalancers") or [])
        self.events: list[str] = []
        self._health: dict[str, dict[tuple[str, int], Mapping[str, Any]]] = {}
        self._instances: dict[str, str] = {}

    @property
    def groups(self) -> list[str]:
        return sorted({str(lb["targetGroupArn"]) for lb in self.load_balancers if lb.get("targetGroupArn")})

    async def _call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        return await _elbv2(self.ecs).call(
            operation, request, account_id=self.key.account_id, region=self.key.region
        )

    async def _instance_id(self, task: Mapping[str, Any]) -> str | None:
        arn = str(task.get("containerInstanceArn") or "")
        if not arn:
            return None
        if arn not in self._instances:
            name = arn.split(":container-instance/", 1)[-1]
            found = await self.ecs.store.get(
                Key(self.key.account_id, self.key.region, CONTAINER_INSTANCE, name)
            )
            self._instances[arn] = str(found.value.get("ec2InstanceId", "")) if found else ""
        return self._instances[arn] or None

    async def targets_of(self, task: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        """The (target group, Id, Port) of each of the service's load balancers for this task;
        None while the task does not yet know its address or host port."""
        awsvpc = _network_mode(task) == "awsvpc"
        targets = []
        for lb in self.load_balancers:
            port = int(lb["containerPort"])
            if awsvpc:
                target_id = _task_ip(task)
            else:
                target_id = await self._instance_id(task)
                host_port = _host_port(task, str(lb["containerName"]), port)
                if host_port is None:
                    return None
                port = host_port
            if not target_id:
                return None
            targets.append({"TargetGroupArn": str(lb["targetGroupArn"]), "Id": target_id, "Port": port})
        return targets

    async def observe_health(self) -> None:
        """Read each target group's target health once for this pass."""
        for group in self.groups:
            try:
                described = await self._call("DescribeTargetHealth", {"TargetGroupArn": group})
            except AwsError:
                self._health[group] = {}
                continue
            self._health[group] = {
                (str(d["Target"]["Id"]), int(d["Target"].get("Port", 0))): d.get("TargetHealth", {})
                for d in described.get("TargetHealthDescriptions", [])
            }

    def health_of(self, task: Mapping[str, Any]) -> TargetHealth | None:
        """None when the service has no load balancers; INITIAL until the task is registered."""
        if not self.load_balancers:
            return None
        lb = task.get("dockyard", {}).get("lb", {})
        if lb.get("state") != REGISTERED:
            return TargetHealth("INITIAL")
        healthy = True
        for target in lb.get("targets", []):
            found = self._health.get(target["TargetGroupArn"], {}).get((target["Id"], int(target["Port"])))
            state = (found or {}).get("State")
            if state == "unhealthy":
                description = str((found or {}).get("Description") or "Health checks failed")
                return TargetHealth("UNHEALTHY", target["TargetGroupArn"], description)
            if state != "healthy":
                healthy = False
        return TargetHealth("HEALTHY" if healthy else "INITIAL")

    def _draining_done(self, task: Mapping[str, Any]) -> bool:
        for target in task.get("dockyard", {}).get("lb", {}).get("targets", []):
            listed = self._health.get(target["TargetGroupArn"])
            if listed is not None and (target["Id"], int(target["Port"])) in listed:
                return False
        return True

    async def step(self, tasks: Sequence[Versioned]) -> list[Write]:
        """Register, deregister and finish draining; the task writes to commit."""
        writes: list[Write] = []
        registered: dict[str, int] = {}
        deregistered: dict[str, int] = {}
        for versioned in tasks:
            task = versioned.value
            state = lb_state(task)
            status = str(task.get("lastStatus", ""))
            desired = str(task.get("desiredStatus", ""))
            changed: dict[str, Any] | None = None
            if state is None and status == "RUNNING" and desired == "RUNNING" and self.load_balancers:
                targets = await self.targets_of(task)
                if targets is None:
                    continue
                await self._register(targets, registered)
                changed = copy.deepcopy(task)
                changed.setdefault("dockyard", {})["lb"] = {"state": REGISTERED, "targets": targets}
            elif state == REGISTERED and (desired == "STOPPED" or status == "STOPPED"):
                targets = task["dockyard"]["lb"]["targets"]
                await self._deregister(targets, deregistered)
                changed = copy.deepcopy(task)
                changed["dockyard"]["lb"]["state"] = DRAINED if status == "STOPPED" else DRAINING
                if status_rank(status) < status_rank("DEACTIVATING"):
                    changed["lastStatus"] = "DEACTIVATING"
            elif state == DRAINING and (status == "STOPPED" or self._draining_done(task)):
                changed = copy.deepcopy(task)
                changed["dockyard"]["lb"]["state"] = DRAINED
            if changed is not None:
                changed["version"] = int(changed.get("version", 1)) + 1
                writes.append(
                    Put(
                        versioned.key,
                        changed,
                        expected_revision=versioned.revision,
                        labels=task_labels(changed),
                    )
                )
        name = str(self.service["serviceName"])
        for group, count in registered.items():
            self.events.append(messages.registered_targets(name, count, group))
        for group, count in deregistered.items():
            self.events.append(messages.deregistered_targets(name, count, group))
        return writes

    async def _register(self, targets: list[dict[str, Any]], counts: dict[str, int]) -> None:
        for target in targets:
            group = target["TargetGroupArn"]
            request = {"TargetGroupArn": group, "Targets": [{"Id": target["Id"], "Port": target["Port"]}]}
            await self._call("RegisterTargets", request)
            counts[group] = counts.get(group, 0) + 1

    async def _deregister(self, targets: list[dict[str, Any]], counts: dict[str, int]) -> None:
        for target in targets:
            group = target["TargetGroupArn"]
            request = {"TargetGroupArn": group, "Targets": [{"Id": target["Id"], "Port": target["Port"]}]}
            try:
                await self._call("DeregisterTargets", request)
            except AwsError:
                continue  # the target group (or the target) is gone: nothing left to drain
            counts[group] = counts.get(group, 0) + 1
