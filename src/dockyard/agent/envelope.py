"""An instance's resource envelope, enforced with a cgroup parent.

Containers of an instance are created under `--cgroup-parent=/dockyard/<instance id>`; this module
creates that parent and sets its memory limit and CPU quota, so the instance's tasks together
cannot use more than its instance type offers (cgroup v1 and v2).
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
        (memory / "memory.limit_in_bytes").write_text(str(self.memory_mib * 1024 * 1024))
        cpu = self._root / "cpu" / "dockyard" / self.name
        cpu.mkdir(parents=True, exist_ok=True)
        period = 100_000
        (cpu / "cpu.cfs_period_us").write_text(str(period))
        (cpu / "cpu.cfs_quota_us").write_text(str(period * self.cpu_units // 1024))

    def _apply_v2(self) -> None:
        parent = self._root / "dockyard"
        parent.mkdir(exist_ok=True)
        (self._root / "cgroup.subtree_control").write_text("+cpu +memory")
        (parent / "cgroup.subtree_control").write_text("+cpu +memory")
        group = parent / self.name
        group.mkdir(exist_ok=True)
        (group / "memory.max").write_text(str(self.memory_mib * 1024 * 1024))
        (group / "cpu.max").write_text(f"{100_000 * self.cpu_units // 1024} 100000")

    def remove(self) -> None:
        for controller in ("memory", "cpu"):
            path = self._root / controller / "dockyard" / self.name
            try:
                path.rmdir()
            except OSError:
                pass
