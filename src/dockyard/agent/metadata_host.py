"""Serving the task metadata endpoint for this agent's tasks (the runner side of `MetadataSource`).

Containers reach it on 169.254.170.2, the address ECS uses; the agent adds that address to the
host's loopback interface when it is missing. The Fargate pool serves port 80 like Fargate; an
EC2 agent takes a free port (several instances can share one machine) and the injected
`ECS_CONTAINER_METADATA_URI_V4` names it.

Each container has its own endpoint id, `<task id>-<8 hex of the container name>`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import subprocess
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from dockyard.agent.client import EcsError
from dockyard.agent.metadata import (
    ContainerView,
    HealthView,
    NetworkView,
    PortView,
    TagsError,
    TaskView,
    awsvpc_network_view,
    start_metadata_server,
)
from dockyard.agent.runtime.protocol import ContainerNotFound, ContainerState, RuntimeError_

if TYPE_CHECKING:
    from dockyard.agent.main import Agent
    from dockyard.agent.runner import TaskRunner

__all__ = ["MetadataHost", "container_endpoint_id", "METADATA_ADDRESS"]

log = logging.getLogger(__name__)

METADATA_ADDRESS = "169.254.170.2"


def container_endpoint_id(task_endpoint_id: str, container_name: str) -> str:
    return f"{task_endpoint_id}-{hashlib.sha256(container_name.encode()).hexdigest()[:8]}"


def _ensure_address() -> None:
    try:
        shown = subprocess.run(
            ["ip", "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True, check=False
        )
        if f"{METADATA_ADDRESS}/32" not in shown.stdout:
            subprocess.run(
                ["ip", "addr", "add", f"{METADATA_ADDRESS}/32", "dev", "lo"], capture_output=True, check=False
            )
    except OSError as exc:
        log.warning("cannot configure %s on lo: %s", METADATA_ADDRESS, exc)


class MetadataHost:
    def __init__(self, agent: Agent) -> None:
        self._agent = agent
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, *, preferred_port: int = 0) -> str:
        """Start serving; returns the base URL containers use."""
        _ensure_address()
        for port in dict.fromkeys((preferred_port, 0)):
            try:
                self._runner = await start_metadata_server(self, host=METADATA_ADDRESS, port=port)
            except OSError as exc:
                log.debug("metadata endpoint cannot bind %s:%s (%s)", METADATA_ADDRESS, port, exc)
                continue
            bound = self.port = self._bound_port()
            return f"http://{METADATA_ADDRESS}" + ("" if bound == 80 else f":{bound}")
        log.warning("the task metadata endpoint is unavailable: cannot listen on %s", METADATA_ADDRESS)
        return f"http://{METADATA_ADDRESS}"

    def _bound_port(self) -> int:
        assert self._runner is not None
        for site in self._runner.sites:
            server = getattr(site, "_server", None)
            for sock in getattr(server, "sockets", None) or []:
                return int(sock.getsockname()[1])
        return 0

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- MetadataSource ---------------------------------------------------------------------------

    async def lookup(self, endpoint_id: str) -> tuple[TaskView, ContainerView] | None:
        runner = self._agent.runner_for_endpoint(endpoint_id.rsplit("-", 1)[0])
        if runner is None or runner.plan is None:
            return None
        task = await self._task_view(runner)
        for plan, view in zip(runner.plan.containers, task.containers, strict=True):
            if container_endpoint_id(runner.record.endpoint_id, plan.name) == endpoint_id:
                return task, view
        return None

    async def stats(self, docker_id: str) -> Mapping[str, Any] | None:
        with contextlib.suppress(ContainerNotFound, RuntimeError_):
            return await self._agent.runtime.stats(docker_id)
        return None

    async def resource_tags(self, resource_arn: str) -> Mapping[str, str]:
        region = resource_arn.split(":")[3] if resource_arn.count(":") >= 5 else None
        try:
            response = await self._agent.control.ecs(
                "ListTagsForResource", {"resourceArn": resource_arn}, region=region
            )
        except EcsError as exc:
            raise TagsError(exc.message, code=exc.code, status_code=exc.status) from exc
        return {t["key"]: t.get("value", "") for t in response.get("tags", [])}

    # -- views --------------------------------------------------------------------------------------

    async def _task_view(self, runner: TaskRunner) -> TaskView:
        plan = runner.plan
        assert plan is not None
        item = runner.item
        containers = []
        for container in plan.containers:
            status = runner.status.containers[container.name]
            state = None
            if status.runtime_id:
                with contextlib.suppress(ContainerNotFound, RuntimeError_):
                    state = await self._agent.runtime.inspect(status.runtime_id)
            containers.append(self._container_view(runner, container.name, state))
        network = item.get("network") or {}
        storage = runner.ephemeral_storage_metrics()  # Fargate: (Utilized, Reserved) MiB
        return TaskView(
            cluster=plan.cluster,
            task_arn=plan.task_arn,
            family=plan.family,
            revision=plan.revision,
            desired_status=str(item.get("desiredStatus", "RUNNING")),
            known_status=runner.status.last_status,
            containers=tuple(containers),
            cpu=plan.cpu / 1024 if plan.cpu else None,
            memory=plan.memory,
            pull_started_at=runner.status.pull_started_at,
            pull_stopped_at=runner.status.pull_stopped_at,
            execution_stopped_at=runner.status.execution_stopped_at,
            availability_zone=str(item.get("availabilityZone") or ""),
            launch_type=plan.launch_type,
            service_name=str(item.get("group", ""))[len("service:") :]
            if str(item.get("group", "")).startswith("service:")
            else "",
            vpc_id=str(network.get("vpcId", "")),
            container_instance_arn=item.get("containerInstanceArn"),
            ephemeral_storage_utilized=storage[0] if storage is not None else None,
            ephemeral_storage_reserved=storage[1] if storage is not None else None,
        )

    def _container_view(self, runner: TaskRunner, name: str, state: ContainerState | None) -> ContainerView:
        plan = runner.plan
        assert plan is not None
        container = plan.container(name)
        status = runner.status.containers[name]
        known = "STOPPED" if status.stopped else ("RUNNING" if status.started else "PULLED")
        if plan.network_mode == "awsvpc" and plan.network is not None:
            networks: tuple[NetworkView, ...] = (awsvpc_network_view(plan.network),)
            ports = tuple(PortView(p.container_port, p.protocol, p.container_port) for p in container.ports)
        else:
            addresses = tuple(state.ip_addresses.values()) if state else ()
            networks = (NetworkView(network_mode=plan.network_mode, ipv4_addresses=addresses),)
            ports = tuple(
                PortView(b["containerPort"], b["protocol"], b["hostPort"], b["bindIP"])
                for b in status.network_bindings
                if "containerPort" in b
            )
        health = None
        if container.health_check is not None:
            health = HealthView(status=status.health, output=state.health_output if state else "")
        return ContainerView(
            docker_id=status.runtime_id or "",
            name=name,
            docker_name=name if plan.launch_type == "FARGATE" else container.docker_name,
            image=container.image,
            image_id=state.image_id if state else "",
            container_arn=container.container_arn or "",
            ports=ports,
            labels=dict(state.labels) if state else {},
            desired_status=str(runner.item.get("desiredStatus", "RUNNING")),
            known_status=known,
            exit_code=status.exit_code,
            cpu=container.cpu,
            memory=container.memory or 0,
            created_at=state.created_at if state else None,
            started_at=state.started_at if state else None,
            finished_at=state.finished_at if state else None,
            networks=networks,
            health=health,
            log_driver=container.log_driver or "json-file",
            log_options=dict(container.log_options),
        )
