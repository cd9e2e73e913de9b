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
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    REGION,
    Process,
    Result,
    client,
    dockyard_command,
    environment,
    format_results,
    free_port,
    http_ok,
    median,
    summarize,
    wait_until,
)

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
KINDS = ("docker run -d", "bridge (EC2)", "fargate (awsvpc)")


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


def _inspect(container_id: str) -> dict[str, Any]:
    out = subprocess.run(
        ["docker", "inspect", container_id], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return dict(json.loads(out)[0])


class Bench:
    def __init__(self, workdir: Path, *, poll_interval: float = POLL_INTERVAL) -> None:
        self.workdir = workdir
        self.run_id = uuid.uuid4().hex[:10]
        self.label = f"dockyard.bench={self.run_id}"
        self.cluster = f"bench-{self.run_id}"
        self.poll_interval = poll_interval
        self.processes: list[Process] = []
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.env = environment(ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION="5s")
        self.subnet = ""

    # setup and teardown

    def start(self) -> None:
        server = self._spawn("server", "server", "--port", str(self.port), "--data-dir", str(self.workdir / "db"))
        if not wait_until(lambda: http_ok(f"{self.endpoint}/health") or not server.alive(), timeout=30):
            raise RuntimeError(f"dockyard server did not start:\n{server.output()}")
        if not server.alive():
            raise RuntimeError(f"dockyard server exited:\n{server.output()}")
        self.ecs = client("ecs", self.endpoint)
        self.ecs.create_cluster(clusterName=self.cluster)
        agent_args = ["agent", "--endpoint", self.endpoint, "--region", REGION, "--label", self.label]
        self._spawn("pool", *agent_args, "--fargate-pool", "--data-dir", str(self.workdir / "pool"))
        ec2 = self._spawn(
            "ec2",
            *agent_args,
            "--cluster",
            self.cluster,
            "--instance-type",
            "t3.medium",
            "--data-dir",
            str(self.workdir / "ec2"),
        )

        def registered() -> bool:
            arns = self.ecs.list_container_instances(cluster=self.cluster)["containerInstanceArns"]
            return bool(arns) or not ec2.alive()

        if not wait_until(registered, timeout=60, interval=0.2) or not ec2.alive():
            raise RuntimeError(f"the EC2 agent did not register:\n{ec2.output()}")
        from dockyard.services.ecs.networking import default_subnets

        self.subnet = default_subnets("123456789012", REGION)[0].subnet_id
        container = {
            "name": "app",
            "image": IMAGE,
            "command": COMMAND,
            "memory": MEMORY_MIB,
            "stopTimeout": 5,
        }
        self.ecs.register_task_definition(family="bench-bridge", networkMode="bridge", containerDefinitions=[container])
        self.ecs.register_task_definition(
            family="bench-fargate",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=[container],
        )

    def _spawn(self, name: str, *args: str) -> Process:
        process = Process(dockyard_command(*args), self.workdir / f"{name}.log", self.env)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        try:
            if hasattr(self, "ecs"):
                listed = self.ecs.list_tasks(cluster=self.cluster, desiredStatus="RUNNING")["taskArns"]
                for arn in listed:
                    self.ecs.stop_task(cluster=self.cluster, task=arn)
        except Exception as exc:  # the server may already be gone; containers are removed below
            print(f"  (could not stop remaining tasks: {exc})")
        for process in reversed(self.processes):
            process.stop()
        ids = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label={self.label}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        ).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False, timeout=120)

    # samples

    def docker_run(self) -> Sample:
        args = ["docker", "run", "-d", "-m", f"{MEMORY_MIB}m", "--label", self.label, IMAGE, *COMMAND]
        called = time.time()
        started = time.perf_counter()
        out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout
        observed = time.perf_counter() - started
        returned = called + observed
        container_id = out.strip()
        try:
            state = _inspect(container_id)
            phases = docker_phases(
                called=called,
                returned=returned,
                created=parse_docker_time(state["Created"]),
                started=parse_docker_time(state["State"]["StartedAt"]),
            )
        finally:
            subprocess.run(["docker", "rm", "-f", container_id], capture_output=True, check=False, timeout=60)
        return Sample(observed, phases=phases)

    def task(self, fargate: bool) -> Sample:
        params: dict[str, Any] = {"cluster": self.cluster}
        if fargate:
            params |= {
                "taskDefinition": "bench-fargate",
                "launchType": "FARGATE",
                "networkConfiguration": {"awsvpcConfiguration": {"subnets": [self.subnet]}},
            }
        else:
            params |= {"taskDefinition": "bench-bridge", "launchType": "EC2"}
        ecs = self.ecs
        called = time.time()
        started = time.perf_counter()
        response = ecs.run_task(**params)
        if response["failures"]:
            raise RuntimeError(f"RunTask failed: {response['failures']}")
        arn = response["tasks"][0]["taskArn"]
        deadline = started + RUNNING_TIMEOUT
        task: dict[str, Any] = response["tasks"][0]
        try:
            while True:
                task = ecs.describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"][0]
                now = time.perf_counter()
                if task["lastStatus"] == "RUNNING":
                    observed = now - started
                    break
                if task["lastStatus"] == "STOPPED" or now > deadline:
                    raise RuntimeError(f"task did not reach RUNNING: {task.get('lastStatus')} {task}")
                time.sleep(self.poll_interval)
            times = {name: _epoch(task[name]) for name in ("createdAt", "pullStartedAt", "pullStoppedAt", "startedAt")}
            state = _inspect(task["containers"][0]["runtimeId"])
            phases = task_phases(
                called=called,
                seen=called + observed,
                task=times,
                container_created=parse_docker_time(state["Created"]),
                container_started=parse_docker_time(state["State"]["StartedAt"]),
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
        if kind == KINDS[0]:
            return self.docker_run()
        return self.task(fargate=kind == KINDS[2])


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
        bench = Bench(Path(tmp), poll_interval=poll_interval)
        try:
            bench.start()
            for _ in range(warmup):
                for kind in KINDS:
                    bench.sample(kind)
            for round_number in range(tasks):
                shift = round_number % len(KINDS)
                for kind in KINDS[shift:] + KINDS[:shift]:
                    samples[kind].append(bench.sample(kind))
        except BaseException:
            for process in bench.processes:
                tail = "\n".join(process.output().splitlines()[-15:])
                print(f"--- {process.log.name} (last lines)\n{tail}")
            raise
        finally:
            bench.stop()
    return _report(samples, poll_interval)


def _report(samples: Mapping[str, Sequence[Sample]], poll_interval: float) -> list[Result]:
    baseline = summarize([s.observed * 1000 for s in samples[KINDS[0]]])
    print(f"RunTask -> RUNNING, {baseline.n} samples each, DescribeTasks polled every {poll_interval * 1000:g} ms")
    for kind, items in samples.items():
        stats = summarize([s.observed * 1000 for s in items])
        line = f"  {kind:18} p50 {stats.p50:7.1f} ms  p90 {stats.p90:7.1f} ms  max {stats.max:7.1f} ms"
        if kind != KINDS[0]:
            line += f"   ratio to docker run: p50 {stats.p50 / baseline.p50:.2f}x  p90 {stats.p90 / baseline.p90:.2f}x"
            server = summarize([s.server * 1000 for s in items if s.server is not None])
            line += f"\n  {'':18} server startedAt - createdAt: p50 {server.p50:7.1f} ms  p90 {server.p90:7.1f} ms"
        print(line)
    print(phase_table(samples))
    results: list[Result] = []
    for kind, short in ((KINDS[1], "bridge"), (KINDS[2], "fargate")):
        stats = summarize([s.observed * 1000 for s in samples[kind]])
        server = summarize([s.server * 1000 for s in samples[kind] if s.server is not None])
        results += [
            Result(BENCH, f"{short} p50", stats.p50, "docker run -d p50", baseline.p50, "ms", GOAL),
            Result(BENCH, f"{short} p90", stats.p90, "docker run -d p90", baseline.p90, "ms", GOAL),
            Result(BENCH, f"{short} server-side p50", server.p50, "docker run -d p50", baseline.p50, "ms"),
        ]
    return results


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=20, help="measured samples of each kind (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured samples of each kind first")
    parser.add_argument("--poll-ms", type=float, default=POLL_INTERVAL * 1000, help="DescribeTasks interval")
    args = parser.parse_args(argv)
    results = run(args.tasks, args.warmup, poll_interval=args.poll_ms / 1000)
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
