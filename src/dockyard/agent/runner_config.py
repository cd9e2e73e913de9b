"""What every task runner of one agent shares, and the report sink a runner reports to."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from dockyard.agent.plan import HostContext
from dockyard.agent.ports import HostPortAllocator
from dockyard.agent.runtime.protocol import ContainerRuntime
from dockyard.agent.secrets import AwsCaller
from dockyard.core.clock import Clock

__all__ = ["ReportSink", "RunnerConfig"]


class ReportSink(Protocol):
    """Where snapshots go (`dockyard.agent.reporter.Reporter`); the future resolves on delivery."""

    def submit(self, report: dict[str, Any]) -> asyncio.Future[None]: ...


@dataclass
class RunnerConfig:
    """What every runner of one agent shares."""

    host: HostContext
    runtime: ContainerRuntime
    reporter: ReportSink
    clock: Clock
    save_state: Callable[[], None]
    pause_image: str
    ports: HostPortAllocator | None = None
    pull_behavior: str = "default"  # ECS_IMAGE_PULL_BEHAVIOR: default | always | once | prefer-cached
    cleanup_wait: float = 3 * 3600.0  # ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION
    agent_label: dict[str, str] = field(default_factory=dict)
    vpc_network: str = "dockyard-vpc"
    loop_storage: bool = True  # Fargate ephemeral storage as a loop-mounted filesystem (else directories)
    aws: AwsCaller | None = None  # reads task secrets (Secrets Manager, SSM) from the control plane
