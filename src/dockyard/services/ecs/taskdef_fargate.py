"""What Fargate accepts in a task definition (pure).

Fargate runs a task only with `awsvpc`, a task-level cpu/memory pair from the table below
(reference §2.2) and none of the host-level features a shared fleet cannot offer (privileged
containers, host paths, Docker volumes, devices, the host PID/IPC namespaces...).

`fargate_problem(td)` returns AWS's message for the first rule a task definition breaks, or None:
RegisterTaskDefinition raises it when `requiresCompatibilities` names FARGATE, and otherwise it
decides whether FARGATE appears in the computed `compatibilities`. `td` is a registration
request whose task-level cpu/memory are already normalized to unit strings ("1024").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "FARGATE_CPU_MEMORY",
    "FARGATE_LOG_DRIVERS",
    "fargate_combination_valid",
    "fargate_problem",
    "is_ecr_image",
    "to_units",
]

# cpu units -> the memory sizes (MiB) Fargate offers with it.
FARGATE_CPU_MEMORY: dict[int, frozenset[int]] = {
    256: frozenset({512, 1024, 2048}),
    512: frozenset(range(1024, 4096 + 1, 1024)),
    1024: frozenset(range(2048, 8192 + 1, 1024)),
    2048: frozenset(range(4096, 16384 + 1, 1024)),
    4096: frozenset(range(8192, 30720 + 1, 1024)),
    8192: frozenset(range(16384, 61440 + 1, 4096)),
    16384: frozenset(range(32768, 122880 + 1, 8192)),
}
FARGATE_LOG_DRIVERS = ("awslogs", "splunk", "awsfirelens")
_FARGATE_CAPABILITIES = frozenset({"SYS_PTRACE"})

INVALID_TASK_CPU = (
    "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the "
    "Amazon ECS Developer Guide."
)


def to_units(value: object) -> int | None:
    """An integer from a normalized cpu/memory value ("1024" or 1024); None when absent or not numeric."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def fargate_combination_valid(cpu: object, memory: object, *, windows: bool = False) -> bool:
    """Whether Fargate offers this task-level cpu/memory pair (Windows needs at least 1 vCPU)."""
    cpu_units, memory_mib = to_units(cpu), to_units(memory)
    if cpu_units is None or memory_mib is None:
        return False
    if windows and cpu_units < 1024:
        return False
    return memory_mib in FARGATE_CPU_MEMORY.get(cpu_units, frozenset())


def is_ecr_image(image: str) -> bool:
    """A private ECR image (`<account>.dkr.ecr.<region>.amazonaws.com/...`) needs the execution role."""
    host = image.split("/", 1)[0]
    return ".dkr.ecr." in host and host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


def _is_windows(td: Mapping[str, Any]) -> bool:
    family = (td.get("runtimePlatform") or {}).get("operatingSystemFamily", "LINUX")
    return str(family).startswith("WINDOWS")


def fargate_problem(td: Mapping[str, Any]) -> str | None:
    """AWS's message for the first Fargate rule `td` breaks, or None when Fargate can run it."""
    if td.get("networkMode") != "awsvpc":
        return "Fargate only supports network mode \u2018awsvpc\u2019."
    if td.get("cpu") is None:
        return "Fargate requires that 'cpu' be defined at the task level."
    if td.get("memory") is None:
        return "Fargate requires that 'memory' be defined at the task level."
    cpu, memory = to_units(td.get("cpu")), to_units(td.get("memory"))
    windows = _is_windows(td)
    if cpu not in FARGATE_CPU_MEMORY or (windows and cpu is not None and cpu < 1024):
        return INVALID_TASK_CPU
    if not fargate_combination_valid(cpu, memory, windows=windows):
        return (
            f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
            "See the Amazon ECS documentation for the valid values."
        )
    return _task_level_problem(td) or _volume_problem(td) or _container_problem(td)


def _task_level_problem(td: Mapping[str, Any]) -> str | None:
    pid_mode = td.get("pidMode")
    if pid_mode is not None and pid_mode != "task":
        return (
            f"Tasks using the Fargate launch type do not support pidMode '{pid_mode}'. "
            "The supported value for pidMode is 'task'."
        )
    if td.get("ipcMode") is not None:
        return "Fargate compatible task definitions do not support ipcMode"
    if td.get("placementConstraints"):
        return "Fargate compatible task definitions do not support constraints"
    return None


def _volume_problem(td: Mapping[str, Any]) -> str | None:
    for volume in td.get("volumes") or []:
        if (volume.get("host") or {}).get("sourcePath"):
            return "Fargate compatible task definitions do not support sourcePath"
        if volume.get("dockerVolumeConfiguration") is not None:
            return "Fargate compatible task definitions do not support dockerVolumeConfiguration"
    return None


_LINUX_PARAMETERS_UNSUPPORTED = ("devices", "sharedMemorySize", "tmpfs", "maxSwap", "swappiness")


def _container_problem(td: Mapping[str, Any]) -> str | None:
    has_execution_role = bool(td.get("executionRoleArn"))
    for container in td.get("containerDefinitions") or []:
        if container.get("privileged"):
            return "Fargate requires that the 'privileged' setting be 'false'."
        linux = container.get("linuxParameters") or {}
        for member in _LINUX_PARAMETERS_UNSUPPORTED:
            if linux.get(member) is not None:
                return f"Fargate compatible task definitions do not support {member}"
        for capability in (linux.get("capabilities") or {}).get("add") or []:
            if capability not in _FARGATE_CAPABILITIES:
                return f"{capability} is not allowed on Fargate."
        if container.get("dockerSecurityOptions"):
            return "Fargate compatible task definitions do not support dockerSecurityOptions"
        stop_timeout = container.get("stopTimeout")
        if stop_timeout is not None and stop_timeout > 120:
            return (
                "Tasks using the Fargate launch type must have a container stop timeout of less than "
                "120 seconds."
            )
        driver = (container.get("logConfiguration") or {}).get("logDriver")
        if driver is not None and driver not in FARGATE_LOG_DRIVERS:
            return f"{driver} is not a valid log driver. Must be one of [{','.join(FARGATE_LOG_DRIVERS)}]"
        if driver == "awslogs" and not has_execution_role:
            return (
                "Fargate requires task definition to have execution role ARN to support log driver awslogs."
            )
        if is_ecr_image(container.get("image") or "") and not has_execution_role:
            return "Fargate requires task definition to have execution role ARN to support ECR images."
    return None
