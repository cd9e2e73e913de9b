"""Runtime specs for a planned task: what the runner hands to `ContainerRuntime.create`.

Pure: no I/O. This is the ECS agent's `DockerConfig`/`DockerHostConfig` step. It also re-exports
the planning API, so the runner needs only this module:

    plan = plan_task(item, host)                          # TaskPlan, containers in start order
    pause = pause_spec(plan, host, image=pause_image)     # when plan.pause_name is set
    spec = container_spec(plan, plan.container("web"), host=host, endpoint_id=eid, host_ports=...)
    bindings = network_bindings(state, plan.container("web"), host)   # state: ContainerState

Network modes: bridge publishes ports on `host.host_address`; host and none run in those Docker
modes; awsvpc joins the pause container's namespace (`container:<pause name>`), the pause container
holding the task's fixed IP on the VPC network. Containers refer to each other (links, volumesFrom,
namespaces) by runtime id when the runner passes them, else by their deterministic docker names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from dockyard.agent.plan import (
    ContainerPlan,
    Dependency,
    HostContext,
    MountPlan,
    NetworkAttachment,
    PortPlan,
    TaskPlan,
    TaskSpecError,
    VolumePlan,
    docker_name,
)
from dockyard.agent.planner import PAUSE_CONTAINER_NAME, UnsupportedFeature, health_check, plan_task
from dockyard.agent.runtime.protocol import ContainerSpec, ContainerState, Mount, PortBinding, Ulimit

__all__ = [
    "EXECUTION_ENV",
    "LABEL_CLUSTER",
    "LABEL_CONTAINER_NAME",
    "LABEL_TASK_ARN",
    "LABEL_TASK_DEFINITION_FAMILY",
    "LABEL_TASK_DEFINITION_VERSION",
    "MIB",
    "MIN_MEMORY_BYTES",
    "PAUSE_CONTAINER_NAME",
    "PAUSE_MEMORY_BYTES",
    "ContainerPlan",
    "Dependency",
    "HostContext",
    "MountPlan",
    "NetworkAttachment",
    "PortPlan",
    "TaskPlan",
    "TaskSpecError",
    "UnsupportedFeature",
    "VolumePlan",
    "container_environment",
    "container_labels",
    "container_spec",
    "docker_name",
    "health_check",
    "network_bindings",
    "pause_spec",
    "plan_task",
    "vpc_network_name",
]

MIB = 1024 * 1024
#: Docker 20.10+ refuses hard limits under 6 MiB (the ECS agent itself clamps to 4 MiB).
MIN_MEMORY_BYTES = 6 * MIB
#: The pause container only sleeps; this is its hard limit.
#: The pause process: sleeps until stopped, and exits at once on SIGTERM.
PAUSE_COMMAND = ("/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done")
PAUSE_MEMORY_BYTES = 16 * MIB
#: The ECS agent passes 0, absent and 1 CPU units to Docker as 2 shares (Linux rejects 1).
_MIN_CPU_SHARES = 2
#: Fargate's default nofile ulimit when the task sets none.
_FARGATE_NOFILE = Ulimit("nofile", 65535, 65535)

LABEL_TASK_ARN = "com.amazonaws.ecs.task-arn"
LABEL_CONTAINER_NAME = "com.amazonaws.ecs.container-name"
LABEL_TASK_DEFINITION_FAMILY = "com.amazonaws.ecs.task-definition-family"
LABEL_TASK_DEFINITION_VERSION = "com.amazonaws.ecs.task-definition-version"
LABEL_CLUSTER = "com.amazonaws.ecs.cluster"

EXECUTION_ENV = {"EC2": "AWS_ECS_EC2", "FARGATE": "AWS_ECS_FARGATE", "EXTERNAL": "AWS_ECS_EXTERNAL"}


def container_labels(
    task: TaskPlan,
    container_name: str,
    docker_labels: Mapping[str, str] | None = None,
    extra_labels: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """dockerLabels (and the agent's `extra_labels`) plus the labels ECS sets, which win over
    duplicates, as the agent applies them last."""
    labels = {str(k): str(v) for k, v in (docker_labels or {}).items()}
    labels.update(extra_labels or {})
    labels.update(
        {
            LABEL_TASK_ARN: task.task_arn,
            LABEL_CONTAINER_NAME: container_name,
            LABEL_TASK_DEFINITION_FAMILY: task.family,
            LABEL_TASK_DEFINITION_VERSION: str(task.revision),
            LABEL_CLUSTER: task.cluster,
        }
    )
    return labels


def container_environment(
    task: TaskPlan, container: ContainerPlan, *, host: HostContext, endpoint_id: str
) -> dict[str, str]:
    """The container's environment: its definition (overrides already applied), the metadata
    endpoint variables and AWS_EXECUTION_ENV the agent injects, and the region unless set."""
    env = {str(e["name"]): str(e.get("value", "")) for e in container.definition.get("environment", [])}
    base = host.metadata_endpoint.rstrip("/")
    env["ECS_CONTAINER_METADATA_URI_V4"] = f"{base}/v4/{endpoint_id}"
    env["ECS_CONTAINER_METADATA_URI"] = f"{base}/v3/{endpoint_id}"
    env["ECS_AGENT_URI"] = f"{base}/api/{endpoint_id}"
    env["AWS_EXECUTION_ENV"] = EXECUTION_ENV.get(task.launch_type, "AWS_ECS_EC2")
    env.setdefault("AWS_REGION", task.region)
    env.setdefault("AWS_DEFAULT_REGION", task.region)
    return env


def container_spec(
    task: TaskPlan,
    container: ContainerPlan,
    *,
    host: HostContext,
    endpoint_id: str,
    host_ports: Mapping[tuple[int, str], int] | None = None,
    volume_sources: Mapping[str, str] | None = None,
    container_ids: Mapping[str, str] | None = None,
    pause_id: str | None = None,
    extra_labels: Mapping[str, str] | None = None,
    docker_network: str | None = None,
) -> ContainerSpec:
    """The runtime spec of one task container.

    - `endpoint_id`: the container's metadata endpoint id (the runner keeps it for the metadata server).
    - `host_ports`: `PortPlan.key` -> host port the runner allocated for each dynamic bridge port
      (the first port of a containerPortRange block).
    - `volume_sources`: volume name -> source, overriding `VolumePlan.source` (optional).
    - `container_ids`: container name -> runtime id, used for volumesFrom/links when known;
      otherwise the deterministic docker names are used (Docker accepts either).
    - `pause_id`: the pause container's id (awsvpc and task pid/ipc namespaces); else its name.
    - `extra_labels`: the agent's own labels (for finding its containers again); ECS labels win.
    """
    refs = _Refs(task, container_ids or {}, pause_id)
    own_network = task.network_mode == "awsvpc" and task.pause_name is None
    d = container.definition
    linux: Mapping[str, Any] = d.get("linuxParameters") or {}
    capabilities: Mapping[str, Any] = linux.get("capabilities") or {}
    memory = _memory_limit(container)
    awsvpc = task.network_mode == "awsvpc"
    ulimits = tuple(
        Ulimit(str(u["name"]), int(u["softLimit"]), int(u["hardLimit"])) for u in d.get("ulimits", [])
    )
    if task.launch_type == "FARGATE" and not any(u.name == "nofile" for u in ulimits):
        limit = min(_FARGATE_NOFILE.hard, host.max_nofile or _FARGATE_NOFILE.hard)
        ulimits = (*ulimits, Ulimit("nofile", limit, limit))
    spec = ContainerSpec(
        name=container.docker_name,
        image=container.image,
        labels=container_labels(task, container.name, d.get("dockerLabels"), extra_labels),
        command=_words(d.get("command")),
        entrypoint=_words(d.get("entryPoint")),
        env=container_environment(task, container, host=host, endpoint_id=endpoint_id),
        working_dir=d.get("workingDirectory") or None,
        user=d.get("user") or None,
        hostname=None if awsvpc else (d.get("hostname") or None),
        cpu_shares=max(container.cpu, _MIN_CPU_SHARES),
        memory=memory,
        memory_reservation=container.memory_reservation * MIB if container.memory_reservation else None,
        memory_swap=_memory_swap(memory, linux),
        memory_swappiness=_optional_int(linux.get("swappiness"))
        if linux.get("maxSwap") is not None
        else None,
        cgroup_parent=host.cgroup_parent,
        network_mode=refs.network_mode(),
        network_disabled=bool(d.get("disableNetworking", False)),
        ports=_port_bindings(task, container, host, host_ports or {}),
        dns=() if awsvpc else tuple(d.get("dnsServers", [])),
        dns_search=() if awsvpc else tuple(d.get("dnsSearchDomains", [])),
        extra_hosts=()
        if awsvpc
        else tuple(f"{h['hostname']}:{h['ipAddress']}" for h in d.get("extraHosts", [])),
        links=_links(task, container),
        mounts=(*_mounts(task, container.mounts, volume_sources or {}), *_tmpfs(linux)),
        volumes_from=tuple(
            refs.container(v["sourceContainer"]) + (":ro" if v.get("readOnly") else "")
            for v in d.get("volumesFrom", [])
        ),
        readonly_rootfs=bool(d.get("readonlyRootFilesystem", False)),
        ulimits=ulimits,
        privileged=bool(d.get("privileged", False)),
        cap_add=tuple(capabilities.get("add", [])),
        cap_drop=tuple(capabilities.get("drop", [])),
        init=bool(linux.get("initProcessEnabled", False)),
        shm_size=int(linux["sharedMemorySize"]) * MIB if linux.get("sharedMemorySize") else None,
        devices=tuple(_device(dev) for dev in linux.get("devices", [])),
        sysctls={str(s["namespace"]): str(s["value"]) for s in d.get("systemControls", [])},
        security_opt=tuple(d.get("dockerSecurityOptions", [])),
        pid_mode=refs.namespace_mode(task.pid_mode),
        ipc_mode=refs.namespace_mode(task.ipc_mode),
        tty=bool(d.get("pseudoTerminal", False)),
        interactive=bool(d.get("interactive", False)),
        healthcheck=container.health_check,
        stop_timeout=container.stop_timeout,
        log_driver=container.log_driver,
        log_options=dict(container.log_options),
    )
    return on_task_network(spec, task, docker_network) if own_network else spec


def vpc_network_name(network: NetworkAttachment) -> str:
    """The Docker bridge network standing for the task's VPC (one per VPC on a host)."""
    return f"dockyard-{network.vpc_id or 'vpc'}"


def pause_spec(
    task: TaskPlan,
    host: HostContext,
    *,
    image: str,
    docker_network: str | None = None,
    extra_labels: Mapping[str, str] | None = None,
) -> ContainerSpec:
    """The task's pause container (`image` is the runner's). It holds the awsvpc network namespace
    (fixed IP on the VPC network, `docker_network` or `vpc_network_name`, hostname of the ENI) and
    the pid/ipc namespaces of `task` modes; it carries the ECS labels with the agent's internal
    container name `~internal~ecs~pause`."""
    if task.pause_name is None:
        raise ValueError(f"task {task.task_arn} has no pause container")
    spec = ContainerSpec(
        name=task.pause_name,
        image=image,
        labels=container_labels(task, PAUSE_CONTAINER_NAME, None, extra_labels),
        entrypoint=PAUSE_COMMAND,
        cpu_shares=_MIN_CPU_SHARES,
        memory=PAUSE_MEMORY_BYTES,
        cgroup_parent=host.cgroup_parent,
        network_mode="none",
        ipc_mode="shareable" if task.ipc_mode == "task" else None,
    )
    if task.network_mode != "awsvpc":
        return spec
    return on_task_network(spec, task, docker_network)


def on_task_network(spec: ContainerSpec, task: TaskPlan, docker_network: str | None) -> ContainerSpec:
    """`spec` holding the task's awsvpc network namespace: on the VPC network with the ENI's fixed
    IP, MAC and hostname. The pause container does this for a task of several containers; a task of
    one container holds its own namespace (one container start instead of two)."""
    if task.network is None:
        raise ValueError("an awsvpc task needs its network attachment")
    net = task.network
    return replace(
        spec,
        network_mode=docker_network or vpc_network_name(net),
        ip_address=net.private_ipv4_address,
        mac_address=net.mac_address or None,
        hostname=net.hostname,
        extra_hosts=(f"{net.hostname}:{net.private_ipv4_address}",),
    )


def network_bindings(
    published: ContainerState | Iterable[PortBinding], container: ContainerPlan, host: HostContext
) -> list[dict[str, Any]]:
    """ECS `networkBindings` from the ports the engine actually published (`ContainerState` or its
    `ports`). Bridge tasks only: ECS reports none for host and awsvpc. bindIP is the address the
    port is published on; a containerPortRange comes back as one range binding."""
    if container.network_mode != "bridge":
        return []
    if isinstance(published, ContainerState):
        published = published.ports
    found: dict[tuple[int, str], list[PortBinding]] = {}
    for binding in published:
        if binding.host_port is None or ":" in binding.host_ip:  # IPv6 bindings are not reported
            continue
        found.setdefault((binding.container_port, binding.protocol), []).append(binding)
    result: list[dict[str, Any]] = []
    for port in container.ports:
        if port.count == 1:
            for b in found.get(port.key, []):
                result.append(
                    {
                        "bindIP": _bind_ip(b, host),
                        "containerPort": b.container_port,
                        "hostPort": b.host_port,
                        "protocol": b.protocol,
                    }
                )
            continue
        block = [
            b for i in range(port.count) for b in found.get((port.container_port + i, port.protocol), [])
        ]
        if block:
            hosts = sorted(b.host_port for b in block if b.host_port is not None)
            result.append(
                {
                    "bindIP": _bind_ip(block[0], host),
                    "containerPortRange": port.container_port_range,
                    "hostPortRange": f"{hosts[0]}-{hosts[-1]}",
                    "protocol": port.protocol,
                }
            )
    return result


# -- helpers -------------------------------------------------------------------------------------


class _Refs:
    """How a container refers to its task's other containers: runtime ids when known, else names."""

    def __init__(self, task: TaskPlan, ids: Mapping[str, str], pause_id: str | None) -> None:
        self.task, self.ids = task, ids
        self.pause = pause_id or task.pause_name

    def container(self, name: str) -> str:
        return self.ids.get(name) or self.task.container(name).docker_name

    def network_mode(self) -> str:
        if self.task.network_mode == "awsvpc" and self.task.pause_name is not None:
            return f"container:{self.pause}"
        return self.task.network_mode  # bridge | host | none

    def namespace_mode(self, mode: str | None) -> str | None:
        if mode == "task":
            return f"container:{self.pause}"
        return mode or None  # host | none | None (Docker's default)


def _port_bindings(
    task: TaskPlan, container: ContainerPlan, host: HostContext, host_ports: Mapping[tuple[int, str], int]
) -> tuple[PortBinding, ...]:
    if task.network_mode in ("awsvpc", "none"):
        return ()  # awsvpc ports live in the pause container's namespace; Docker refuses them here
    bindings: list[PortBinding] = []
    for port in container.ports:
        if task.network_mode == "host":
            bindings.extend(
                PortBinding(port.container_port + i, None, port.protocol) for i in range(port.count)
            )
            continue
        first = port.host_port if port.host_port is not None else host_ports.get(port.key)
        if first is None:
            raise ValueError(
                f"no host port allocated for {port.container_port}/{port.protocol} of {container.name}"
            )
        bindings.extend(
            PortBinding(port.container_port + i, first + i, port.protocol, host_ip=host.host_address)
            for i in range(port.count)
        )
    return tuple(bindings)


def _links(task: TaskPlan, container: ContainerPlan) -> tuple[str, ...]:
    if task.network_mode != "bridge":
        return ()
    links = []
    for link in container.definition.get("links", []):
        name, _, alias = str(link).partition(":")
        links.append(f"{task.container(name).docker_name}:{alias or name}")
    return tuple(links)


def _mounts(task: TaskPlan, mounts: Iterable[MountPlan], sources: Mapping[str, str]) -> Iterable[Mount]:
    for mount in mounts:
        volume = task.volume(mount.source_volume)
        source = sources.get(volume.name) or volume.source
        yield Mount(volume.mount_type, mount.container_path, source, mount.read_only)


def _tmpfs(linux: Mapping[str, Any]) -> Iterable[Mount]:
    for tmpfs in linux.get("tmpfs", []):
        yield Mount(
            "tmpfs",
            str(tmpfs["containerPath"]),
            tmpfs_size=int(tmpfs["size"]) * MIB,
            tmpfs_options=tuple(tmpfs.get("mountOptions", [])),
        )


def _device(device: Mapping[str, Any]) -> tuple[str, str, str]:
    letters = {"read": "r", "write": "w", "mknod": "m"}
    permissions = "".join(letters[p] for p in device.get("permissions", []) if p in letters) or "rwm"
    return str(device["hostPath"]), str(device.get("containerPath") or device["hostPath"]), permissions


def _memory_limit(container: ContainerPlan) -> int | None:
    if not container.memory:
        return None
    return max(container.memory * MIB, MIN_MEMORY_BYTES)


def _memory_swap(memory: int | None, linux: Mapping[str, Any]) -> int | None:
    max_swap = linux.get("maxSwap")
    if max_swap is None or memory is None:
        return None
    return memory + int(max_swap) * MIB  # maxSwap 0: MemorySwap == Memory, no swap


def _bind_ip(binding: PortBinding, host: HostContext) -> str:
    return binding.host_ip or host.host_address or "0.0.0.0"


def _words(value: Any) -> tuple[str, ...] | None:
    return tuple(str(v) for v in value) if value else None


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
