"""The task plan: the records `dockyard.agent.planner.plan_task` makes out of a WorkItem.

Pure data, no I/O. A `TaskPlan` holds the containers in start order with their resolved settings
(RunTask overrides applied), the volumes to provision, the dependency graph, stop timeouts and stop
order, and the task-level resource numbers. `dockyard.agent.specs` turns a `ContainerPlan` into a
runtime `ContainerSpec`.

    WorkItem ──plan_task──> TaskPlan ─┬─ volumes (runner provisions)
                                      ├─ containers, start order (dependsOn + links + volumesFrom)
                                      └─ stop order = start order reversed

Anything the agent cannot run raises `TaskSpecError`, whose `reason` is the task's stoppedReason
(`ResourceInitializationError: ...` and the like, as ECS words it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.agent.runtime.protocol import HealthCheck

__all__ = [
    "CONDITIONS",
    "ContainerPlan",
    "Dependency",
    "HostContext",
    "MountPlan",
    "NetworkAttachment",
    "PortPlan",
    "TaskPlan",
    "TaskSpecError",
    "VolumePlan",
    "docker_name",
]

#: dependsOn conditions, plus CREATE, which the agent adds itself for volumesFrom sources.
CONDITIONS = ("START", "COMPLETE", "SUCCESS", "HEALTHY", "CREATE")


class TaskSpecError(Exception):
    """The task cannot be started as defined. `reason` is the stoppedReason the runner reports."""

    def __init__(self, detail: str, *, error_name: str = "ResourceInitializationError") -> None:
        super().__init__(f"{error_name}: {detail}")
        self.error_name = error_name
        self.detail = detail
        self.stop_code = "TaskFailedToStart"

    @property
    def reason(self) -> str:
        return f"{self.error_name}: {self.detail}"


@dataclass(frozen=True, slots=True)
class HostContext:
    """What the agent knows about the host it runs tasks on."""

    launch_type: str  # "EC2" | "FARGATE" | "EXTERNAL": decides AWS_EXECUTION_ENV and Fargate limits
    region: str  # the agent's region (AWS_REGION / AWS_DEFAULT_REGION default)
    data_dir: str  # agent state root; empty host volumes live under <data_dir>/tasks/<task id>/volumes
    cluster: str = ""  # the cluster name the agent joined (EC2/EXTERNAL); "" for the Fargate pool
    host_address: str = ""  # 127.0.0.N an EC2 instance publishes bridge ports on; "" for Fargate
    cgroup_parent: str | None = None  # the instance envelope cgroup (EC2), None for none
    container_instance_arn: str | None = None  # None for the Fargate pool
    metadata_endpoint: str = "http://169.254.170.2"  # base URL of the task metadata server
    available_log_drivers: tuple[str, ...] = ("json-file", "none", "awslogs")  # ECS_AVAILABLE_LOGGING_DRIVERS
    stop_timeout: int = 30  # ECS_CONTAINER_STOP_TIMEOUT, the default container stopTimeout
    max_nofile: int | None = None  # the host's hard open-files limit: caps Fargate's default 65535


@dataclass(frozen=True, slots=True)
class NetworkAttachment:
    """The task's awsvpc network interface, as allocated by the control plane (WorkItem `network`)."""

    private_ipv4_address: str
    subnet_cidr: str = ""
    gateway: str = ""
    mac_address: str = ""
    private_dns_name: str = ""
    attachment_id: str = ""
    subnet_id: str = ""
    vpc_id: str = ""
    vpc_cidr: str = ""

    @classmethod
    def from_item(cls, network: Mapping[str, Any]) -> NetworkAttachment:
        return cls(
            private_ipv4_address=str(network["privateIpv4Address"]),
            subnet_cidr=str(network.get("subnetCidr", "")),
            gateway=str(network.get("gateway", "")),
            mac_address=str(network.get("macAddress", "")),
            private_dns_name=str(network.get("privateDnsName", "")),
            attachment_id=str(network.get("attachmentId", "")),
            subnet_id=str(network.get("subnetId", "")),
            vpc_id=str(network.get("vpcId", "")),
            vpc_cidr=str(network.get("vpcCidr", "")),
        )

    @property
    def hostname(self) -> str:
        """The ENI's private DNS name (the agent's hostname for awsvpc), else ip-a-b-c-d."""
        return self.private_dns_name or "ip-" + self.private_ipv4_address.replace(".", "-")


@dataclass(frozen=True, slots=True)
class Dependency:
    container: str
    condition: str  # one of CONDITIONS
    implicit: bool = False  # added by the agent (links -> START, volumesFrom -> CREATE)


@dataclass(frozen=True, slots=True)
class PortPlan:
    """One portMapping. `host_port` None means a dynamic host port (bridge) the runner allocates."""

    container_port: int  # the first port of a containerPortRange
    protocol: str = "tcp"
    host_port: int | None = None
    count: int = 1  # > 1 for a containerPortRange
    name: str | None = None

    @property
    def dynamic(self) -> bool:
        return self.host_port is None

    @property
    def key(self) -> tuple[int, str]:
        """How `host_ports` (runner's allocations) is keyed."""
        return self.container_port, self.protocol

    @property
    def container_port_range(self) -> str:
        return f"{self.container_port}-{self.container_port + self.count - 1}"


@dataclass(frozen=True, slots=True)
class MountPlan:
    source_volume: str
    container_path: str
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class VolumePlan:
    """A task volume. `kind` says who makes `source`:

    - "host-path": bind of `source` (host.sourcePath); nothing to provision.
    - "task-directory": bind of `source`, a directory the runner creates for the task and removes after.
    - "docker-volume": Docker volume named `source`; scope "task" is created and removed with the
      task, scope "shared" must exist unless `autoprovision` (then created when missing).
    """

    name: str
    kind: str
    source: str
    scope: str | None = None
    autoprovision: bool = False
    driver: str = "local"
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def mount_type(self) -> str:
        return "volume" if self.kind == "docker-volume" else "bind"

    @property
    def task_scoped(self) -> bool:
        """Created for this task and removed with it."""
        return self.kind == "task-directory" or (self.kind == "docker-volume" and self.scope == "task")

    def missing_error(self) -> TaskSpecError:
        """The error when a shared, non-autoprovisioned volume does not exist (the agent's words)."""
        return TaskSpecError(
            f"initialize volume: volume detection failed, volume '{self.name}' does not exist "
            "and autoprovision is set to false"
        )


@dataclass(frozen=True, slots=True)
class ContainerPlan:
    """One container of the task with overrides applied. `definition` is the merged definition."""

    name: str
    docker_name: str
    image: str
    essential: bool
    definition: Mapping[str, Any]
    network_mode: str = "bridge"  # the task's network mode
    container_arn: str | None = None
    cpu: int = 0  # CPU units as defined (0 when absent); Docker shares are max(cpu, 2)
    memory: int | None = None  # hard limit, MiB
    memory_reservation: int | None = None  # soft limit, MiB
    depends_on: tuple[Dependency, ...] = ()
    start_timeout: int | None = None  # seconds this container has to meet its dependents' conditions
    stop_timeout: int = 30  # seconds between the stop signal and SIGKILL
    ports: tuple[PortPlan, ...] = ()
    mounts: tuple[MountPlan, ...] = ()
    health_check: HealthCheck | None = None
    log_driver: str | None = None
    log_options: Mapping[str, str] = field(default_factory=dict)

    @property
    def dynamic_ports(self) -> tuple[PortPlan, ...]:
        return tuple(port for port in self.ports if port.dynamic)


@dataclass(frozen=True, slots=True)
class TaskPlan:
    task_arn: str
    task_id: str
    cluster_arn: str
    cluster: str  # what labels and the metadata endpoint call Cluster: name on EC2, ARN on Fargate
    family: str
    revision: int
    launch_type: str
    region: str
    network_mode: str  # bridge | host | awsvpc | none
    containers: tuple[ContainerPlan, ...]  # in start order
    volumes: tuple[VolumePlan, ...] = ()
    network: NetworkAttachment | None = None  # awsvpc only
    cpu: int | None = None  # task-level CPU units (after overrides)
    memory: int | None = None  # task-level MiB (after overrides)
    pid_mode: str | None = None
    ipc_mode: str | None = None
    pause_name: str | None = None  # docker name of the pause container, when the task needs one

    @property
    def stop_order(self) -> tuple[str, ...]:
        """Reverse dependency order: dependents stop before what they depend on."""
        return tuple(reversed([c.name for c in self.containers]))

    @property
    def reserved_cpu(self) -> int:
        """CPU units the task holds on the instance (§2.6)."""
        return self.cpu if self.cpu is not None else sum(c.cpu for c in self.containers)

    @property
    def reserved_memory(self) -> int:
        """MiB the task holds on the instance (§2.6)."""
        if self.memory is not None:
            return self.memory
        return sum(c.memory_reservation or c.memory or 0 for c in self.containers)

    @property
    def essential(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.containers if c.essential)

    def container(self, name: str) -> ContainerPlan:
        for candidate in self.containers:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def volume(self, name: str) -> VolumePlan:
        for candidate in self.volumes:
            if candidate.name == name:
                return candidate
        raise KeyError(name)


def docker_name(family: str, revision: int | str, container: str, task_arn: str) -> str:
    """`ecs-<family>-<rev>-<name>-<20 hex>` as the ECS agent names containers; the suffix is derived
    from the task ARN so a restarted agent finds the same names."""
    cleaned = re.sub(r"[^A-Za-z0-9-]+", "", container)
    suffix = hashlib.sha256(f"{task_arn}/{container}".encode()).hexdigest()[:20]
    return f"ecs-{family}-{revision}-{cleaned}-{suffix}"
