"""Task metadata views and their JSON, in the ECS agent's exact shape (reference §8.2).

Pure: no I/O. The runner fills `TaskView`/`ContainerView` records; `render_task` and
`render_container` produce the v3 or v4 documents the agent serves: its field names, RFC 3339
UTC timestamps with nanosecond precision trimmed as Go prints them, `Revision` as a string, task
`Limits.CPU` in vCPUs, container `Limits.CPU` in CPU units (at least 2), and absent fields omitted.
v4 adds `LaunchType`, `ContainerARN`, `LogDriver`/`LogOptions`, `HostIp` in ports, the awsvpc
network interface properties, `VPCID`, `ServiceName` and more to the v3 shape.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dockyard.agent.plan import NetworkAttachment

__all__ = [
    "ContainerView",
    "HealthView",
    "NetworkView",
    "PortView",
    "TaskView",
    "VolumeView",
    "awsvpc_network_view",
    "render_container",
    "render_task",
    "rfc3339",
]

_MIN_CPU_UNITS = 2  # the agent reports 0, absent and 1 CPU units as 2, as it passes them to Docker


@dataclass(frozen=True, slots=True)
class PortView:
    container_port: int
    protocol: str = "tcp"
    host_port: int | None = None  # awsvpc: the container port
    host_ip: str = ""  # v4 only: the address the port is published on


@dataclass(frozen=True, slots=True)
class NetworkView:
    network_mode: str  # awsvpc | bridge | host | none
    ipv4_addresses: tuple[str, ...] = ()
    ipv6_addresses: tuple[str, ...] = ()
    # v4, awsvpc only:
    attachment_index: int | None = None
    mac_address: str = ""
    ipv4_subnet_cidr_block: str = ""
    domain_name_servers: tuple[str, ...] = ()
    domain_name_search_list: tuple[str, ...] = ()
    private_dns_name: str = ""
    subnet_gateway_ipv4_address: str = ""  # "10.0.2.1/24": gateway with the subnet's prefix length


@dataclass(frozen=True, slots=True)
class HealthView:
    status: str  # HEALTHY | UNHEALTHY | UNKNOWN
    since: float | None = None
    exit_code: int | None = None  # of the last failed check
    output: str = ""


@dataclass(frozen=True, slots=True)
class VolumeView:
    docker_name: str = ""  # named volumes
    source: str = ""
    destination: str = ""


@dataclass(frozen=True, slots=True)
class ContainerView:
    docker_id: str
    name: str
    docker_name: str  # ecs-<family>-<rev>-<name>-<hex> on EC2; the container name on Fargate
    image: str
    image_id: str = ""
    container_arn: str = ""
    ports: tuple[PortView, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    desired_status: str = "RUNNING"
    known_status: str = "NONE"  # agent statuses: NONE PULLED CREATED RUNNING RESOURCES_PROVISIONED STOPPED
    exit_code: int | None = None
    cpu: int = 0  # CPU units from the definition
    memory: int = 0  # MiB hard limit from the definition (0 when unset)
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    type: str = "NORMAL"
    networks: tuple[NetworkView, ...] = ()
    health: HealthView | None = None  # None when the container has no health check
    volumes: tuple[VolumeView, ...] = ()
    log_driver: str = ""
    log_options: Mapping[str, str] = field(default_factory=dict)
    restart_count: int | None = None
    snapshotter: str = ""


@dataclass(frozen=True, slots=True)
class TaskView:
    cluster: str  # short name on EC2, ARN on Fargate
    task_arn: str
    family: str
    revision: int | str
    desired_status: str
    known_status: str
    containers: tuple[ContainerView, ...] = ()
    cpu: float | None = None  # task-level vCPUs (task cpu units / 1024)
    memory: int | None = None  # task-level MiB
    pull_started_at: float | None = None
    pull_stopped_at: float | None = None
    execution_stopped_at: float | None = None
    availability_zone: str = ""
    launch_type: str = ""
    service_name: str = ""
    vpc_id: str = ""
    container_instance_arn: str | None = None  # None on Fargate: no ContainerInstanceTags
    ephemeral_storage_utilized: int | None = None  # MiB (Fargate)
    ephemeral_storage_reserved: int | None = None  # MiB (Fargate)
    fault_injection_enabled: bool = False


def rfc3339(epoch: float) -> str:
    """UTC RFC 3339 with the fraction trimmed, as Go's time.Time marshals (e.g. 2020-10-02T00:15:07.62Z)."""
    micros = round(epoch * 1_000_000)
    moment = datetime.fromtimestamp(micros // 1_000_000, tz=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{micros % 1_000_000:06d}".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def awsvpc_network_view(attachment: NetworkAttachment, *, dns_servers: tuple[str, ...] = ()) -> NetworkView:
    """The awsvpc entry of a container's Networks, from the task's network attachment."""
    gateway = attachment.gateway
    if gateway and attachment.subnet_cidr:
        gateway = f"{gateway}/{ipaddress.ip_network(attachment.subnet_cidr, strict=False).prefixlen}"
    return NetworkView(
        network_mode="awsvpc",
        ipv4_addresses=(attachment.private_ipv4_address,),
        attachment_index=0,
        mac_address=attachment.mac_address,
        ipv4_subnet_cidr_block=attachment.subnet_cidr,
        domain_name_servers=dns_servers,
        private_dns_name=attachment.private_dns_name,
        subnet_gateway_ipv4_address=gateway,
    )


def render_container(container: ContainerView, *, version: int = 4) -> dict[str, Any]:
    v4 = version >= 4
    doc: dict[str, Any] = {
        "DockerId": container.docker_id,
        "Name": container.name,
        "DockerName": container.docker_name,
        "Image": container.image,
        "ImageID": container.image_id,
    }
    ports = [_port(p, v4) for p in container.ports]
    _put(doc, "Ports", ports)
    _put(doc, "Labels", dict(container.labels))
    doc["DesiredStatus"] = container.desired_status
    doc["KnownStatus"] = container.known_status
    _put(doc, "ExitCode", container.exit_code)
    doc["Limits"] = {"CPU": max(container.cpu, _MIN_CPU_UNITS), "Memory": container.memory}
    _put(doc, "CreatedAt", _time(container.created_at))
    _put(doc, "StartedAt", _time(container.started_at))
    _put(doc, "FinishedAt", _time(container.finished_at))
    doc["Type"] = container.type
    networks = [_network(n, v4) for n in container.networks]
    if not v4:
        _put(doc, "Networks", networks)
    if container.health is not None:
        doc["Health"] = _health(container.health)
    _put(doc, "Volumes", [_volume(v) for v in container.volumes])
    if v4:
        _put(doc, "LogDriver", container.log_driver)
        _put(doc, "LogOptions", dict(container.log_options))
        _put(doc, "ContainerARN", container.container_arn)
        _put(doc, "Networks", networks)
        _put(doc, "Snapshotter", container.snapshotter)
        _put(doc, "RestartCount", container.restart_count)
    return doc


def render_task(
    task: TaskView,
    *,
    version: int = 4,
    task_tags: Mapping[str, str] | None = None,
    container_instance_tags: Mapping[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    v4 = version >= 4
    doc: dict[str, Any] = {
        "Cluster": task.cluster,
        "TaskARN": task.task_arn,
        "Family": task.family,
        "Revision": str(task.revision),
    }
    _put(doc, "DesiredStatus", task.desired_status)
    doc["KnownStatus"] = task.known_status
    if not v4:
        _put(doc, "Containers", [render_container(c, version=version) for c in task.containers])
    limits: dict[str, Any] = {}
    _put(limits, "CPU", _number(task.cpu) if task.cpu else None)
    _put(limits, "Memory", task.memory or None)
    _put(doc, "Limits", limits)
    _put(doc, "PullStartedAt", _time(task.pull_started_at))
    _put(doc, "PullStoppedAt", _time(task.pull_stopped_at))
    _put(doc, "ExecutionStoppedAt", _time(task.execution_stopped_at))
    _put(doc, "AvailabilityZone", task.availability_zone)
    if task_tags is not None:
        doc["TaskTags"] = dict(task_tags)
    if container_instance_tags is not None:
        doc["ContainerInstanceTags"] = dict(container_instance_tags)
    if v4:
        _put(doc, "LaunchType", task.launch_type)
        _put(doc, "Errors", errors or [])
        _put(doc, "Containers", [render_container(c, version=version) for c in task.containers])
        _put(doc, "VPCID", task.vpc_id)
        _put(doc, "ServiceName", task.service_name)
        if task.ephemeral_storage_reserved is not None:
            doc["EphemeralStorageMetrics"] = {
                "Utilized": task.ephemeral_storage_utilized or 0,
                "Reserved": task.ephemeral_storage_reserved,
            }
        doc["FaultInjectionEnabled"] = task.fault_injection_enabled
    return doc


def _port(port: PortView, v4: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    _put(doc, "ContainerPort", port.container_port or None)
    _put(doc, "Protocol", port.protocol)
    _put(doc, "HostPort", port.host_port or None)
    if v4:
        _put(doc, "HostIp", port.host_ip)
    return doc


def _network(network: NetworkView, v4: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    _put(doc, "NetworkMode", network.network_mode)
    _put(doc, "IPv4Addresses", list(network.ipv4_addresses))
    _put(doc, "IPv6Addresses", list(network.ipv6_addresses))
    if v4 and network.network_mode == "awsvpc":
        if network.attachment_index is not None:
            doc["AttachmentIndex"] = network.attachment_index
        _put(doc, "MACAddress", network.mac_address)
        _put(doc, "IPv4SubnetCIDRBlock", network.ipv4_subnet_cidr_block)
        _put(doc, "DomainNameServers", list(network.domain_name_servers))
        _put(doc, "DomainNameSearchList", list(network.domain_name_search_list))
        _put(doc, "PrivateDNSName", network.private_dns_name)
        _put(doc, "SubnetGatewayIpv4Address", network.subnet_gateway_ipv4_address)
    return doc


def _health(health: HealthView) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    _put(doc, "status", health.status)
    _put(doc, "statusSince", _time(health.since))
    _put(doc, "exitCode", health.exit_code or None)
    _put(doc, "output", health.output)
    return doc


def _volume(volume: VolumeView) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    _put(doc, "DockerName", volume.docker_name)
    _put(doc, "Source", volume.source)
    _put(doc, "Destination", volume.destination)
    return doc


def _put(doc: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` unless `value` is None or empty, as Go's `omitempty` leaves it out (callers pass
    None for a zero that Go omits: non-pointer numbers)."""
    if value is None or (isinstance(value, str | list | dict) and not value):
        return
    doc[key] = value


def _time(epoch: float | None) -> str | None:
    return None if epoch is None else rfc3339(epoch)


def _number(value: float) -> int | float:
    """Go prints float64 1.0 as 1: keep integral floats integral in JSON."""
    return int(value) if float(value).is_integer() else value
