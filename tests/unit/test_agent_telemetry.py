"""The agent's arithmetic for ECS's metrics: CPU units and MiB in use from Docker's statistics."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.agent.telemetry import cpu_units, memory_mib


def stats(used: int, system: int, *, cpus: int = 2, first: bool = False) -> dict[str, Any]:
    return {
        "cpu_stats": {
            "cpu_usage": {"total_usage": 1_000 + used},
            "system_cpu_usage": 10_000 + system,
            "online_cpus": cpus,
        },
        "precpu_stats": {} if first else {"cpu_usage": {"total_usage": 1_000}, "system_cpu_usage": 10_000},
    }


@pytest.mark.parametrize(
    ("used", "system", "cpus", "expected"),
    [
        (500, 1_000, 2, 1024.0),  # half of the host's time on 2 CPUs: one core
        (250, 1_000, 4, 1024.0),
        (0, 1_000, 2, 0.0),
        (100, 0, 2, 0.0),  # no host time elapsed
    ],
)
def test_cpu_units(used: int, system: int, cpus: int, expected: float) -> None:
    assert cpu_units(stats(used, system, cpus=cpus)) == expected


def test_cpu_units_without_a_previous_reading() -> None:
    assert cpu_units(stats(500, 1_000, first=True)) == 0.0


@pytest.mark.parametrize(
    ("memory", "expected"),
    [
        ({"usage": 64 * 2**20, "stats": {"cache": 16 * 2**20}}, 48.0),  # cgroup v1
        ({"usage": 64 * 2**20, "stats": {"inactive_file": 32 * 2**20, "cache": 1}}, 32.0),  # v2 first
        ({"usage": 8 * 2**20}, 8.0),
        ({}, 0.0),
    ],
)
def test_memory_mib(memory: dict[str, Any], expected: float) -> None:
    assert memory_mib({"memory_stats": memory}) == expected
