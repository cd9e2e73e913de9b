"""Resource envelopes enforced with a cgroup parent: an instance's, and a task's.

Containers of an instance are created under `--cgroup-parent=/dockyard/<instance id>`; this module
creates that parent and sets its memory limit and CPU quota, so the instance's tasks together
cannot use more than its instance type offers (cgroup v1 and v2). A task with task-level `cpu` or
`memory` gets one of its own, nested in its instance's (`/dockyard/<instance id>/task-<id>`), or
at the top for the Fargate pool: its containers together get no more (agent/task_cgroup.py).
A limit of 0 is no limit.
"""

from __future__ import annotations

import logging
from pathlib import Path

__all__ = ["Envelope"]

log = logging.getLogger(__name__)

_ROOT = Path("/sys/fs/cgroup")


class Envelope:
    def __init__(self, name: str, *, cpu_units: int, memory_mib: int, root: Path = _ROOT) -> None:
        self.name = name
        self.cpu_units = cpu_units
        self.memory_mib = memory_mib
        self._root = root

    @property
    def cgroup_parent(self) -> str:
        return f"/dockyard/{self.name}"

    def apply(self) -> bool:
        """Create the parent cgroup with its limits; False (logged) when cgroups cannot be written."""
        try:
            if (self._root / "cgroup.controllers").exists():
                self._apply_v2()
            else:
                self._apply_v1()
            return True
        except OSError as exc:
            log.warning("cannot set the resource envelope for %s: %s", self.name, exc)
            return False

    def _apply_v1(self) -> None:
        memory = self._root / "memory" / "dockyard" / self.name
        memory.mkdir(parents=True, exist_ok=True)
        if self.memory_mib:
            (memory / "memory.limit_in_bytes").write_text(str(self.memory_mib * 1024 * 1024))
        cpu = self._root / "cpu" / "dockyard" / self.name
        cpu.mkdir(parents=True, exist_ok=True)
        period = 100_000
        (cpu / "cpu.cfs_period_us").write_text(str(period))
        quota = period * self.cpu_units // 1024 if self.cpu_units else -1
        (cpu / "cpu.cfs_quota_us").write_text(str(quota))

    def _apply_v2(self) -> None:
        group = self._root
        (group / "cgroup.subtree_control").write_text("+cpu +memory")
        parts = ["dockyard", *self.name.split("/")]
        for depth, part in enumerate(parts, start=1):
            group = group / part
            group.mkdir(exist_ok=True)
            if depth < len(parts):  # every parent hands the controllers down
                (group / "cgroup.subtree_control").write_text("+cpu +memory")
        if self.memory_mib:
            (group / "memory.max").write_text(str(self.memory_mib * 1024 * 1024))
        if self.cpu_units:
            (group / "cpu.max").write_text(f"{100_000 * self.cpu_units // 1024} 100000")

    def remove(self) -> None:
        for base in (self._root / "memory", self._root / "cpu", self._root):
            path = base / "dockyard" / self.name
            try:
                path.rmdir()
            except OSError:
                pass
