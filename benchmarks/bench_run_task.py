"""RunTask -> RUNNING latency for a cached image, beside `docker run -d` of the same container.

Dockyard runs as users run it: a `dockyard server` process on a free loopback port, a Fargate
pool agent and one EC2 agent (t3.medium), each a `dockyard agent` process. Three kinds of samples
are taken in interleaved rounds (the order rotates each round), one at a time:

- docker run -d: `docker run -d -m 64m dockyard/busybox:latest sh -c '...'`, timed until the CLI
  returns (the container is started by then).
- bridge: a bridge-mode task with the same image, command and 64 MiB hard limit, on the EC2 agent
  (one container: the fair comparison with `docker run -d`).
- fargate: the same container as a FARGATE (awsvpc) task on the pool; it also creates and starts
  the task's pause container, so it is reported separately, also as a ratio to docker run.

A task sample is timed from the RunTask call to the first DescribeTasks that shows lastStatus
RUNNING, polling every 5 ms; the server's own `startedAt - createdAt` is recorded too (it excludes
the RunTask round trip and the report/poll at the end). From the task's timestamps and the
container's `docker inspect` times each sample is split into phases, to show where time goes.
Every task is stopped and every container removed; all waits are bounded.

    .venv/bin/python benchmarks/bench_run_task.py [--tasks 20] [--warmup 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import REGION, Result, format_results, median, summarize, wait_until
from _dockyard import LocalDockyard

__all__ = [
    "Sample",
    "docker_phases",
    "main",
    "parse_docker_time",
    "phase_table",
    "run",
    "task_phases",
]

BENCH = "run-task"
IMAGE = "dockyard/busybox:latest"
COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]
MEMORY_MIB = 64
POLL_INTERVAL = 0.005
RUNNING_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
GOAL = 1.5
PAUSE_COMMAND = ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]
PAUSE_MEMORY_MIB = 16  # what the agent gives its pause container
DOCKER, DOCKER_PAIR, BRIDGE, FARGATE = (
    "docker run -d",
    "docker run -d x2 (pause + app)",
    "bridge task (EC2)",
    "fargate task (awsvpc)",
)
KINDS = (DOCKER, DOCKER_PAIR, BRIDGE, FARGATE)


@dataclass
class Sample:
    observed: float  # seconds from the call to RUNNING as the client saw it
    server: float | None = None  # startedAt - createdAt (tasks only)
    phases: dict[str, float] = field(default_factory=dict)


# -- pure helpers ------------------------------------------------------------------------------------


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
    """Median of each phase per kind, in milliseconds."""
    lines: list[str] = []
    for kind, items in samples.items():
        if not items:
            continue
        lines.append(f"  {kind}: median phases (ms)")
        names = list(items[0].phases)
        for name in names:
            values = [s.phases[name] for s in items if name in s.phases]
            if values:
                lines.append(f"    {name:42} {median(values) * 1000:8.1f}")
        lines.append(f"    {'total (observed)':42} {median([s.observed for s in items]) * 1000:8.1f}")
    return "\n".join(lines)


# -- measuring ---------------------------------------------------------------------------------------


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _docker(*args: str, timeout: float = 60) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, timeout=timeout
    ).stdout.strip()


def _times(container_id: str) -> tuple[float, float]:
    """(Created, State.StartedAt) of a container, from `docker inspect`."""
    state = json.loads(_docker("inspect", container_id))[0]
    return parse_docker_time(state["Created"]), parse_docker_time(state["State"]["StartedAt"])


class Bench:
    """The samples, taken on a Dockyard of its own (server, Fargate pool, one EC2 agent)."""

    def __init__(self, dockyard: LocalDockyard, *, poll_interval: float = POLL_INTERVAL) -> None:
        self.dockyard = dockyard
        self.label = dockyard.label
        self.cluster = f"bench-{dockyard.run_id}"
        self.network = f"dockyard-bench-{dockyard.run_id}"
        self.poll_interval = poll_interval
        self.ecs: Any = None
        self.subnet = ""

    def start(self) -> None:
        dockyard = self.dockyard
        dockyard.start()
        self.ecs = dockyard.ecs
        self.ecs.create_cluster(clusterName=self.cluster)
        dockyard.start_pool()
        dockyard.add_instance(self.cluster)
        from dockyard.services.ecs.networking import default_subnets

        self.subnet = default_subnets("123456789012", REGION)[0].subnet_id
        app = {"name": "app", "image": IMAGE, "command": COMMAND, "memory": MEMORY_MIB, "stopTimeout": 5}
        self.ecs.register_task_definition(
            family="bench-bridge", networkMode="bridge", containerDefinitions=[app]
        )
        self.ecs.register_task_definition(
            family="bench-fargate",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=[app],
        )
        # the docker baseline of a Fargate task: a pause container on a user-defined bridge
        _docker("network", "create", "--label", self.label, self.network)

    def stop(self) -> None:
        self.dockyard.stop()
        subprocess.run(
            ["docker", "network", "rm", self.network], capture_output=True, check=False, timeout=60
        )

    # -- samples

    def docker_run(self, *, with_pause: bool) -> Sample:
        base = ["run", "-d", "--label", self.label]
        app_network: list[str] = []
        called = time.time()
        started = time.perf_counter()
        pause_id = None
        if with_pause:
            pause_id = _docker(
                *base, "-m", f"{PAUSE_MEMORY_MIB}m", "--network", self.network, IMAGE, *PAUSE_COMMAND
            )
            app_network = ["--network", f"container:{pause_id}"]
        app_id = _docker(*base, "-m", f"{MEMORY_MIB}m", *app_network, IMAGE, *COMMAND)
        observed = time.perf_counter() - started
        try:
            phases = docker_phases(
                called=called,
                returned=called + observed,
                app=_times(app_id),
                pause=_times(pause_id) if pause_id else None,
            )
        finally:
            _docker("rm", "-f", app_id, *([pause_id] if pause_id else []))
        return Sample(observed, phases=phases)

    def task(self, *, fargate: bool) -> Sample:
        params: dict[str, Any] = {
            "cluster": self.cluster,
            "taskDefinition": "bench-bridge",
            "launchType": "EC2",
        }
        if fargate:
            params |= {
                "taskDefinition": "bench-fargate",
                "launchType": "FARGATE",
                "networkConfiguration": {"awsvpcConfiguration": {"subnets": [self.subnet]}},
            }
        ecs = self.ecs
        called = time.time()
        started = time.perf_counter()
        response = ecs.run_task(**params)
        if response["failures"]:
            raise RuntimeError(f"RunTask failed: {response['failures']}")
        arn = response["tasks"][0]["taskArn"]
        try:
            while True:
                task = ecs.describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"][0]
                observed = time.perf_counter() - started
                if task["lastStatus"] == "RUNNING":
                    break
                if task["lastStatus"] == "STOPPED" or observed > RUNNING_TIMEOUT:
                    raise RuntimeError(f"the task did not reach RUNNING: {task}")
                time.sleep(self.poll_interval)
            times = {k: _epoch(task[k]) for k in ("createdAt", "pullStartedAt", "pullStoppedAt", "startedAt")}
            pause = None
            if fargate:
                pause_id = _docker(
                    "ps",
                    "-aq",
                    "--filter",
                    f"label=com.amazonaws.ecs.task-arn={arn}",
                    "--filter",
                    "label=com.amazonaws.ecs.container-name=~internal~ecs~pause",
                )
                pause = _times(pause_id)
            phases = task_phases(
                called=called,
                seen=called + observed,
                task=times,
                app=_times(task["containers"][0]["runtimeId"]),
                pause=pause,
            )
            return Sample(observed, server=times["startedAt"] - times["createdAt"], phases=phases)
        finally:
            self._stop_task(arn)

    def _stop_task(self, arn: str) -> None:
        self.ecs.stop_task(cluster=self.cluster, task=arn, reason="benchmark sample done")

        def stopped() -> bool:
            found = self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"]
            return not found or found[0]["lastStatus"] == "STOPPED"

        if not wait_until(stopped, timeout=STOP_TIMEOUT, interval=0.1):
            print(f"  warning: {arn} did not stop within {STOP_TIMEOUT:.0f}s; it is removed at the end")

    def sample(self, kind: str) -> Sample:
        if kind in (DOCKER, DOCKER_PAIR):
            return self.docker_run(with_pause=kind == DOCKER_PAIR)
        return self.task(fargate=kind == FARGATE)


def _ensure_image() -> None:
    from dockyard.agent.runtime.docker import DockerRuntime
    from dockyard.images import ensure_image

    async def build() -> None:
        async with DockerRuntime() as runtime:
            await ensure_image(runtime, "busybox")

    asyncio.run(build())


def run(tasks: int = 20, warmup: int = 2, *, poll_interval: float = POLL_INTERVAL) -> list[Result]:
    if shutil.which("docker") is None:
        raise SystemExit("bench_run_task: the docker CLI is needed for the baseline")
    _ensure_image()
    samples: dict[str, list[Sample]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        bench = Bench(LocalDockyard(Path(tmp)), poll_interval=poll_interval)
        try:
            bench.start()
            for _ in range(warmup):
                for kind in KINDS:
                    bench.sample(kind)
            for number in range(tasks):
                shift = number % len(KINDS)  # rotate the order so no kind always follows another
                for kind in KINDS[shift:] + KINDS[:shift]:
                    samples[kind].append(bench.sample(kind))
        except BaseException:
            print(bench.dockyard.tails())
            raise
        finally:
            bench.stop()
    return report(samples, poll_interval)


def report(samples: Mapping[str, Sequence[Sample]], poll_interval: float) -> list[Result]:
    """Print the latencies, ratios and phase medians; the results for the summary."""
    baseline = summarize([s.observed * 1000 for s in samples[DOCKER]])
    pair = summarize([s.observed * 1000 for s in samples[DOCKER_PAIR]])
    print(f"RunTask -> RUNNING, {baseline.n} samples each (DescribeTasks every {poll_interval * 1000:g} ms)")
    for kind, items in samples.items():
        stats = summarize([s.observed * 1000 for s in items])
        print(f"  {kind:31} p50 {stats.p50:6.1f} ms  p90 {stats.p90:6.1f} ms  max {stats.max:6.1f} ms")
        if kind in (BRIDGE, FARGATE):
            server = summarize([s.server * 1000 for s in items if s.server is not None])
            p50, p90 = stats.p50 / baseline.p50, stats.p90 / baseline.p90
            print(
                f"  {'':31} / docker run -d: p50 {p50:.2f}x  p90 {p90:.2f}x;"
                f" server startedAt - createdAt p50 {server.p50:.1f} ms, p90 {server.p90:.1f} ms"
            )
    print(phase_table(samples))
    results: list[Result] = []
    for kind, short in ((BRIDGE, "bridge"), (FARGATE, "fargate")):
        stats = summarize([s.observed * 1000 for s in samples[kind]])
        server = summarize([s.server * 1000 for s in samples[kind] if s.server is not None])
        results += [
            Result(BENCH, f"{short} p50", stats.p50, "docker run -d p50", baseline.p50, "ms", GOAL),
            Result(BENCH, f"{short} p90", stats.p90, "docker run -d p90", baseline.p90, "ms", GOAL),
            Result(
                BENCH, f"{short} startedAt-createdAt p50", server.p50, "docker run -d p50", baseline.p50, "ms"
            ),
        ]
    fargate = summarize([s.observed * 1000 for s in samples[FARGATE]])
    results.append(Result(BENCH, "fargate p50", fargate.p50, "docker run -d x2 p50", pair.p50, "ms"))
    return results


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description="RunTask -> RUNNING latency beside docker run -d.")
    parser.add_argument("--tasks", type=int, default=20, help="measured samples of each kind (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured samples of each kind first")
    parser.add_argument("--poll-ms", type=float, default=POLL_INTERVAL * 1000, help="DescribeTasks interval")
    args = parser.parse_args(argv)
    results = run(args.tasks, args.warmup, poll_interval=args.poll_ms / 1000)
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
