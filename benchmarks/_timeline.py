"""The phases of a container start, from timestamps: what `bench_run_task` reports (pure, no I/O).

A task's own timestamps (createdAt, pullStartedAt, pullStoppedAt, startedAt) and the containers'
`docker inspect` times (Created, State.StartedAt) cut one RunTask -> RUNNING sample into
consecutive phases that add up to the latency the client saw; `docker_phases` does the same for
`docker run -d`, so the table shows which phases are Docker's and which are Dockyard's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from _common import median, table

__all__ = ["Sample", "docker_phases", "parse_docker_time", "phase_table", "task_phases"]


@dataclass
class Sample:
    observed: float  # seconds from the call to RUNNING as the client saw it
    server: float | None = None  # startedAt - createdAt (tasks only)
    phases: dict[str, float] = field(default_factory=dict)


def parse_docker_time(value: str) -> float:
    """Docker's UTC timestamp with nanoseconds (``2026-11-21T21:52:42.123456789Z``) as epoch seconds."""
    whole, _, fraction = value.strip().removesuffix("Z").partition(".")
    seconds = datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
    return seconds + (float("0." + fraction) if fraction else 0.0)


def task_phases(
    *,
    called: float,
    seen: float,
    task: Mapping[str, float],
    app: tuple[float, float],
    pause: tuple[float, float] | None = None,
) -> dict[str, float]:
    """Split one task sample (epoch seconds) into consecutive phases that add up to seen - called.

    `task` holds createdAt, pullStartedAt, pullStoppedAt and startedAt; `app` and `pause` are
    (Created, State.StartedAt) from `docker inspect` of the app and the pause container.
    """
    points = [
        ("RunTask call -> task created", called),
        ("created -> agent starts (pull start)", task["createdAt"]),
        ("image pull attempt", task["pullStartedAt"]),
    ]
    if pause is not None:
        points += [
            ("pull done -> pause container create", task["pullStoppedAt"]),
            ("pause: docker create -> process started", pause[0]),
            ("pause started -> app container create", pause[1]),
        ]
    else:
        points.append(("pull done -> container create", task["pullStoppedAt"]))
    points += [
        ("docker create -> process started", app[0]),
        ("process started -> agent marks RUNNING", app[1]),
        ("agent RUNNING -> DescribeTasks shows it", task["startedAt"]),
    ]
    ends = [at for _, at in points[1:]] + [seen]
    return {name: end - start for (name, start), end in zip(points, ends, strict=True)}


def docker_phases(
    *, called: float, returned: float, app: tuple[float, float], pause: tuple[float, float] | None = None
) -> dict[str, float]:
    """Split one `docker run -d` sample (epoch seconds; `app` and `pause` as in `task_phases`) into
    CLI, create and start phases; with `pause`, two runs: the pause container, then the app in it."""
    points = [("CLI call -> container created", called)]
    if pause is not None:
        points = [
            ("CLI call -> pause container created", called),
            ("pause: docker create -> process started", pause[0]),
            ("pause started -> app container created", pause[1]),
        ]
    points += [("docker create -> process started", app[0]), ("process started -> CLI returns", app[1])]
    ends = [at for _, at in points[1:]] + [returned]
    return {name: end - start for (name, start), end in zip(points, ends, strict=True)}


def phase_table(samples: Mapping[str, Sequence[Sample]]) -> str:
    """Median of each phase (rows) per kind (columns, by name), in milliseconds."""
    kinds = [kind for kind, items in samples.items() if items and items[0].phases]
    if not kinds:
        return "  (no phases: the tasks lacked the timestamps they need)"
    names: list[str] = []  # every kind's phases, each kind's in its own order
    for kind in kinds:
        phases = list(samples[kind][0].phases)
        for i, name in enumerate(phases):
            if name not in names:
                following = next((n for n in phases[i + 1 :] if n in names), None)
                names.insert(names.index(following) if following else len(names), name)
    rows = [["median phase (ms)", *kinds]]
    for name in names:
        cells = [[s.phases[name] for s in samples[kind] if name in s.phases] for kind in kinds]
        rows.append([name, *(f"{median(c) * 1000:.1f}" if c else "" for c in cells)])
    totals = [f"{median([s.observed for s in samples[kind]]) * 1000:.1f}" for kind in kinds]
    rows.append(["total, as the client saw it", *totals])
    return table(rows, indent="  ")
