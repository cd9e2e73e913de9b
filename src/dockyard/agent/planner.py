"""`plan_task`: a WorkItem turned into a `TaskPlan`, the way the ECS agent reads an ACS task.

Pure: no I/O. Steps, in order:

    overrides ─> unsupported features? ─> volumes ─> containers ─> start order (topological)
    (command,      (env files, EFS/FSx/EBS, (host path,   (ports, mounts,   dependsOn, plus links
     environment,   drivers; malformed       task dir,     health, limits,   -> START and
     cpu, memory)   secret references)       docker)       timeouts)         volumesFrom -> CREATE)

Everything the agent cannot run raises `TaskSpecError` (or its `UnsupportedFeature` subclass)
before anything is pulled or created.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
from dockyard.agent.runtime.protocol import HealthCheck
from dockyard.agent.secret_refs import SecretsUnavailable, check_definition

__all__ = ["PAUSE_CONTAINER_NAME", "UnsupportedFeature", "health_check", "plan_task"]

#: The ECS agent's internal name for the pause container (the container-name label it carries).
PAUSE_CONTAINER_NAME = "~internal~ecs~pause"
_FARGATE_MAX_STOP_TIMEOUT = 120
DEPENDS_ON_CONDITIONS = ("START", "COMPLETE", "SUCCESS", "HEALTHY")


class UnsupportedFeature(TaskSpecError):
    """The task uses something this agent does not provide yet; `feature` names it."""

    def __init__(self, feature: str, detail: str, *, error_name: str = "ResourceInitializationError") -> None:
        super().__init__(detail, error_name=error_name)
        self.feature = feature


def plan_task(item: Mapping[str, Any], host: HostContext) -> TaskPlan:
    """The runner's plan for a WorkItem (docs/agent-protocol.md). Raises `TaskSpecError`."""
    taskdef: Mapping[str, Any] = item["taskDefinition"]
    task_arn = str(item["taskArn"])
    task_id = task_arn.rsplit("/", 1)[-1]
    cluster_arn = str(item.get("clusterArn", ""))
    launch_type = str(item.get("launchType") or host.launch_type)
    family = str(taskdef["family"])
    revision = int(taskdef["revision"])
    network_mode = str(taskdef.get("networkMode") or ("awsvpc" if launch_type == "FARGATE" else "bridge"))

    overrides: Mapping[str, Any] = item.get("overrides") or {}
    by_name = {o["name"]: o for o in overrides.get("containerOverrides", []) if "name" in o}
    definitions = [_apply_override(d, by_name.get(d["name"], {})) for d in taskdef["containerDefinitions"]]
    for definition in definitions:
        _reject_unsupported(definition, host)

    volumes = tuple(
        _plan_volume(v, family, revision, task_arn, task_id, host) for v in taskdef.get("volumes", [])
    )
    volume_names = {v.name for v in volumes}
    container_names = {d["name"] for d in definitions}
    arns = {c.get("name"): c.get("containerArn") for c in item.get("containers", [])}
    containers = [
        _plan_container(
            d,
            item_arn=arns.get(d["name"]),
            family=family,
            revision=revision,
            task_arn=task_arn,
            network_mode=network_mode,
            launch_type=launch_type,
            host=host,
            volume_names=volume_names,
            container_names=container_names,
        )
        for d in definitions
    ]

    network = None
    if network_mode == "awsvpc":
        if not item.get("network"):
            raise TaskSpecError("task network interface was not provisioned for this awsvpc task")
        network = NetworkAttachment.from_item(item["network"])
    pid_mode = taskdef.get("pidMode")
    ipc_mode = taskdef.get("ipcMode")
    # One awsvpc container holds its own network namespace; several share the pause container's.
    needs_pause = (
        (network_mode == "awsvpc" and len(definitions) > 1) or pid_mode == "task" or ipc_mode == "task"
    )
    return TaskPlan(
        task_arn=task_arn,
        task_id=task_id,
        cluster_arn=cluster_arn,
        cluster=cluster_arn if launch_type == "FARGATE" else (host.cluster or cluster_arn.rsplit("/", 1)[-1]),
        family=family,
        revision=revision,
        launch_type=launch_type,
        region=str(item.get("region") or host.region),
        network_mode=network_mode,
        containers=_start_order(containers),
        volumes=volumes,
        network=network,
        cpu=_optional_int(item.get("cpu", taskdef.get("cpu"))),
        memory=_optional_int(item.get("memory", taskdef.get("memory"))),
        pid_mode=pid_mode,
        ipc_mode=ipc_mode,
        pause_name=docker_name(family, revision, PAUSE_CONTAINER_NAME, task_arn) if needs_pause else None,
    )


# -- overrides and unsupported features ---------------------------------------------------------


def _apply_override(definition: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """The container definition with its RunTask containerOverride applied (override values win)."""
    merged = dict(definition)
    if override.get("command") is not None:
        merged["command"] = list(override["command"])
    if override.get("environment"):
        env: dict[str, str] = {e["name"]: e.get("value", "") for e in definition.get("environment", [])}
        env.update({e["name"]: e.get("value", "") for e in override["environment"]})
        merged["environment"] = [{"name": k, "value": v} for k, v in env.items()]
    if override.get("environmentFiles"):
        merged["environmentFiles"] = [*definition.get("environmentFiles", []), *override["environmentFiles"]]
    for key in ("cpu", "memory", "memoryReservation", "resourceRequirements"):
        if override.get(key) is not None:
            merged[key] = override[key]
    return merged


def _reject_unsupported(definition: Mapping[str, Any], host: HostContext) -> None:
    name = definition["name"]
    try:  # secrets, secretOptions and registry credentials are read at launch; check them now
        check_definition(definition, host.region)
    except SecretsUnavailable as exc:
        raise SecretsUnavailable(f"{exc.cause} (container {name})") from exc
    log = definition.get("logConfiguration") or {}
    if definition.get("environmentFiles"):
        raise UnsupportedFeature(
            "environmentFiles",
            "failed to download env files: environment files are not supported by this agent "
            f"(container {name})",
        )
    driver = log.get("logDriver")
    if driver and driver not in host.available_log_drivers:
        raise UnsupportedFeature(
            f"logDriver:{driver}",
            f"logging driver '{driver}' is not available on this container instance "
            f"(available: {', '.join(host.available_log_drivers) or 'none'}) (container {name})",
            error_name="CannotCreateContainerError",
        )


# -- volumes -------------------------------------------------------------------------------------


def _plan_volume(
    volume: Mapping[str, Any], family: str, revision: int, task_arn: str, task_id: str, host: HostContext
) -> VolumePlan:
    name = str(volume["name"])
    if volume.get("efsVolumeConfiguration"):
        raise UnsupportedFeature(
            "efs",
            "failed to invoke EFS utils commands to set up EFS volumes: "
            f"EFS is not available (volume {name})",
        )
    if volume.get("fsxWindowsFileServerVolumeConfiguration"):
        raise UnsupportedFeature(
            "fsx", f"FSx for Windows File Server volumes are not supported (volume {name})"
        )
    if volume.get("configuredAtLaunch"):
        raise UnsupportedFeature("ebs", f"volumes configured at launch are not supported (volume {name})")
    docker_cfg = volume.get("dockerVolumeConfiguration")
    if docker_cfg is not None:
        scope = str(docker_cfg.get("scope") or "task")
        shared = scope == "shared"
        return VolumePlan(
            name=name,
            kind="docker-volume",
            # Shared volumes go by their own name; task volumes get a per-task name, as the ECS agent does.
            source=name if shared else docker_name(family, revision, name, task_arn),
            scope=scope,
            autoprovision=bool(docker_cfg.get("autoprovision", False)) and shared,
            driver=str(docker_cfg.get("driver") or "local"),
            driver_opts=dict(docker_cfg.get("driverOpts") or {}),
            labels=dict(docker_cfg.get("labels") or {}),
        )
    source_path = (volume.get("host") or {}).get("sourcePath")
    if source_path:
        return VolumePlan(name=name, kind="host-path", source=str(source_path))
    directory = f"{host.data_dir.rstrip('/')}/tasks/{task_id}/volumes/{name}"
    return VolumePlan(name=name, kind="task-directory", source=directory)


# -- containers ----------------------------------------------------------------------------------


def _plan_container(
    definition: Mapping[str, Any],
    *,
    item_arn: str | None,
    family: str,
    revision: int,
    task_arn: str,
    network_mode: str,
    launch_type: str,
    host: HostContext,
    volume_names: set[str],
    container_names: set[str],
) -> ContainerPlan:
    name = str(definition["name"])
    stop_timeout = _optional_int(definition.get("stopTimeout")) or host.stop_timeout
    if launch_type == "FARGATE":
        stop_timeout = min(stop_timeout, _FARGATE_MAX_STOP_TIMEOUT)
    log = definition.get("logConfiguration") or {}
    return ContainerPlan(
        name=name,
        docker_name=docker_name(family, revision, name, task_arn),
        image=str(definition["image"]),
        essential=bool(definition.get("essential", True)),
        definition=definition,
        network_mode=network_mode,
        container_arn=item_arn,
        cpu=_optional_int(definition.get("cpu")) or 0,
        memory=_optional_int(definition.get("memory")),
        memory_reservation=_optional_int(definition.get("memoryReservation")),
        depends_on=_dependencies(definition, container_names),
        start_timeout=_optional_int(definition.get("startTimeout")),
        stop_timeout=stop_timeout,
        ports=tuple(_plan_ports(definition.get("portMappings", []), network_mode)),
        mounts=tuple(_plan_mounts(definition, volume_names)),
        health_check=health_check(definition.get("healthCheck")),
        log_driver=log.get("logDriver"),
        log_options=dict(log.get("options") or {}),
    )


def _dependencies(definition: Mapping[str, Any], names: set[str]) -> tuple[Dependency, ...]:
    name = definition["name"]
    deps: list[Dependency] = []
    for dep in definition.get("dependsOn", []):
        target, condition = dep.get("containerName"), dep.get("condition")
        if condition not in DEPENDS_ON_CONDITIONS:
            raise TaskSpecError(f"invalid dependsOn condition '{condition}' for container {name}")
        if target not in names or target == name:
            raise TaskSpecError(f"could not find container '{target}' that container {name} depends on")
        deps.append(Dependency(target, condition))
    explicit = {d.container for d in deps}
    for link in definition.get("links", []):
        parts = str(link).split(":")
        if len(parts) > 2:
            raise TaskSpecError("Invalid link format", error_name="CannotCreateContainerError")
        if parts[0] not in names:
            raise TaskSpecError(f"could not find container for link {link}")
        if parts[0] not in explicit:
            explicit.add(parts[0])
            deps.append(Dependency(parts[0], "START", implicit=True))
    for source in definition.get("volumesFrom", []):
        target = source.get("sourceContainer")
        if target not in names:
            raise TaskSpecError(f"could not find volume source container with name {target}")
        if target not in explicit:
            explicit.add(target)
            deps.append(Dependency(target, "CREATE", implicit=True))
    return tuple(deps)


def _plan_ports(mappings: Iterable[Mapping[str, Any]], network_mode: str) -> Iterable[PortPlan]:
    if network_mode == "none":
        return
    for mapping in mappings:
        protocol = str(mapping.get("protocol") or "tcp")
        name = mapping.get("name")
        if mapping.get("containerPortRange"):
            lo, _, hi = str(mapping["containerPortRange"]).partition("-")
            first, last = int(lo), int(hi or lo)
            host_port = None if network_mode == "bridge" else first
            yield PortPlan(first, protocol, host_port, count=last - first + 1, name=name)
            continue
        container_port = int(mapping["containerPort"])
        if network_mode == "bridge":
            host_port = int(mapping.get("hostPort") or 0) or None  # omitted or 0: dynamic
        else:
            host_port = container_port  # host and awsvpc: the host port is the container port
        yield PortPlan(container_port, protocol, host_port, name=name)


def _plan_mounts(definition: Mapping[str, Any], volume_names: set[str]) -> Iterable[MountPlan]:
    for point in definition.get("mountPoints", []):
        source = point.get("sourceVolume")
        if source not in volume_names:
            raise TaskSpecError(
                f"Invalid volume referenced: {source}", error_name="CannotCreateContainerError"
            )
        yield MountPlan(str(source), str(point["containerPath"]), bool(point.get("readOnly", False)))


def health_check(check: Mapping[str, Any] | None) -> HealthCheck | None:
    """ECS healthCheck -> Docker health check, with ECS defaults (30 s, 5 s, 3 retries, no start period).

    A command that starts with neither CMD nor CMD-SHELL (the older form) is run as CMD.
    """
    if not check or not check.get("command"):
        return None
    command = [str(part) for part in check["command"]]
    if command[0] not in ("CMD", "CMD-SHELL", "NONE"):
        command = ["CMD", *command]
    return HealthCheck(
        test=tuple(command),
        interval=float(check.get("interval") or 30),
        timeout=float(check.get("timeout") or 5),
        retries=int(check.get("retries") or 3),
        start_period=float(check.get("startPeriod") or 0),
    )


def _start_order(containers: Sequence[ContainerPlan]) -> tuple[ContainerPlan, ...]:
    """Topological order of the dependency graph; ties keep task-definition order."""
    waiting = {c.name: {d.container for d in c.depends_on} for c in containers}
    ordered: list[ContainerPlan] = []
    remaining = list(containers)
    while remaining:
        ready = next((c for c in remaining if not waiting[c.name]), None)
        if ready is None:
            cycle = ", ".join(c.name for c in remaining)
            raise TaskSpecError(f"circular container dependency between {cycle}")
        ordered.append(ready)
        remaining.remove(ready)
        for deps in waiting.values():
            deps.discard(ready.name)
    return tuple(ordered)


def _optional_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)
