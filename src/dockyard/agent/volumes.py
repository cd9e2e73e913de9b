"""A task's volumes on the host: made before its containers are created, removed at cleanup.

By `VolumePlan.kind`:

- host-path: the host's `sourcePath`, bound as is; nothing to make or remove.
- task-directory (no `sourcePath`): a directory under `<data dir>/tasks/<task id>/volumes/`,
  shared by the task's containers and removed with the task. On Fargate that directory is the
  task's ephemeral storage (`dockyard.agent.storage`): a filesystem of `ephemeralStorage.sizeInGiB`.
- docker-volume: scope `task` is created with the task and removed at cleanup; scope `shared` must
  exist, unless `autoprovision` (then it is created and kept).

Everything is idempotent, so a restarted agent provisions again and finds what exists.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard.agent.plan import TaskPlan, TaskSpecError
from dockyard.agent.runner_config import RunnerConfig
from dockyard.agent.runtime.protocol import ContainerRuntime, RuntimeError_
from dockyard.agent.storage import GIB, TaskStorage, ephemeral_size_gib

__all__ = ["TaskVolumes", "task_root"]


def task_root(data_dir: str, task_id: str) -> Path:
    """Where the agent keeps a task's files: `<data dir>/tasks/<task id>`."""
    return Path(data_dir) / "tasks" / task_id


class TaskVolumes:
    """The volumes of one planned task. `storage_gib` is the task's ephemeral storage (Fargate),
    None where tasks have none (EC2, EXTERNAL); `loop_storage` False keeps it a plain directory."""

    def __init__(
        self,
        plan: TaskPlan,
        runtime: ContainerRuntime,
        *,
        data_dir: str,
        storage_gib: int | None = None,
        loop_storage: bool = True,
    ) -> None:
        self.plan = plan
        self.runtime = runtime
        self.storage_gib = storage_gib
        self.root = task_root(data_dir, plan.task_id)
        needs_storage = storage_gib is not None and any(v.kind == "task-directory" for v in plan.volumes)
        self.storage = (
            TaskStorage(self.root, (storage_gib or 0) * GIB, enforce=loop_storage) if needs_storage else None
        )

    @classmethod
    def for_runner(cls, plan: TaskPlan, item: Mapping[str, Any], config: RunnerConfig) -> TaskVolumes:
        """A runner's task volumes: Fargate tasks get their `ephemeralStorage` size (from `item`)."""
        return cls(
            plan,
            config.runtime,
            data_dir=config.host.data_dir,
            storage_gib=ephemeral_size_gib(item) if plan.launch_type == "FARGATE" else None,
            loop_storage=config.loop_storage,
        )

    def storage_metrics(self) -> tuple[int, int] | None:
        """(Utilized, Reserved) MiB of the task's ephemeral storage; None for a task without any."""
        if self.storage_gib is None:
            return None
        utilized = self.storage.usage().used_mib if self.storage is not None else 0
        return utilized, self.storage_gib * 1024

    async def provision(self) -> dict[str, str]:
        """Make what the volumes need; returns volume name -> source. Raises `TaskSpecError`."""
        if self.storage is not None:
            try:
                await self.storage.provision()
            except OSError as exc:
                raise TaskSpecError(f"failed to create the task's ephemeral storage: {exc}") from exc
        sources: dict[str, str] = {}
        for volume in self.plan.volumes:
            if volume.kind == "task-directory":
                try:
                    Path(volume.source).mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise TaskSpecError(f"failed to create volume '{volume.name}': {exc}") from exc
            elif volume.kind == "docker-volume":
                await self._docker_volume(volume.name)
            sources[volume.name] = volume.source
        return sources

    async def _docker_volume(self, name: str) -> None:
        volume = self.plan.volume(name)
        try:
            if await self.runtime.volume_exists(volume.source):
                return
            if volume.scope == "shared" and not volume.autoprovision:
                raise volume.missing_error()
            await self.runtime.create_volume(
                volume.source, driver=volume.driver, driver_opts=volume.driver_opts, labels=volume.labels
            )
        except RuntimeError_ as exc:
            raise TaskSpecError(f"failed to create volume '{volume.name}': {exc}") from exc

    async def cleanup(self) -> None:
        """Remove what the task made: task-scoped Docker volumes, its storage and its directories.
        Call after the task's containers are removed."""
        for volume in self.plan.volumes:
            if volume.kind == "docker-volume" and volume.task_scoped:
                with contextlib.suppress(RuntimeError_):
                    await self.runtime.remove_volume(volume.source)
        if self.storage is not None:
            await self.storage.release()
            if self.storage.mounted():
                return  # could not unmount: leave the task's files alone
        shutil.rmtree(self.root, ignore_errors=True)
