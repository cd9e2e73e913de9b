"""Task-level cpu and memory are hard limits: a cgroup parent per task (cgroup v1 layout here)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import cast

from dockyard.agent.envelope import Envelope
from dockyard.agent.plan import HostContext, TaskPlan
from dockyard.agent.task_cgroup import task_envelope


def plan(cpu: int | None, memory: int | None) -> TaskPlan:
    return cast(TaskPlan, SimpleNamespace(cpu=cpu, memory=memory, task_id="0123abcd"))


def host(parent: str | None) -> HostContext:
    return cast(HostContext, SimpleNamespace(cgroup_parent=parent))


def test_fargate_task_gets_its_own_parent_with_both_limits(tmp_path: Path) -> None:
    envelope = task_envelope(plan(256, 512), host(None))
    assert envelope is not None and envelope.cgroup_parent == "/dockyard/task-0123abcd"
    Envelope(envelope.name, cpu_units=256, memory_mib=512, root=tmp_path).apply()
    cpu = tmp_path / "cpu" / "dockyard" / "task-0123abcd"
    assert (cpu / "cpu.cfs_quota_us").read_text() == "25000"  # a quarter of a core
    memory = tmp_path / "memory" / "dockyard" / "task-0123abcd" / "memory.limit_in_bytes"
    assert memory.read_text() == str(512 * 1024 * 1024)


def test_ec2_task_nests_in_its_instance_and_a_missing_limit_is_none(tmp_path: Path) -> None:
    envelope = task_envelope(plan(None, 300), host("/dockyard/i-0abc"))
    assert envelope is not None and envelope.cgroup_parent == "/dockyard/i-0abc/task-0123abcd"
    Envelope(envelope.name, cpu_units=0, memory_mib=300, root=tmp_path).apply()
    nested = tmp_path / "cpu" / "dockyard" / "i-0abc" / "task-0123abcd" / "cpu.cfs_quota_us"
    assert nested.read_text() == "-1"  # no task-level cpu: no quota of its own
    memory = tmp_path / "memory" / "dockyard" / "i-0abc" / "task-0123abcd" / "memory.limit_in_bytes"
    assert memory.read_text() == str(300 * 1024 * 1024)


def test_no_task_level_size_no_parent_and_foreign_parents_are_left_alone() -> None:
    assert task_envelope(plan(None, None), host(None)) is None
    assert task_envelope(plan(256, 512), host("/custom/group")) is None
