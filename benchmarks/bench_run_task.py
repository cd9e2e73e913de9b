"""RunTask -> RUNNING latency for a cached image, beside `docker run -d` of the same container.

Dockyard runs as users run it: a `dockyard server` process on a free loopback port, a Fargate
pool agent and one EC2 agent (t3.medium), each a `dockyard agent` process. In every round one
sample of each kind is taken, one at a time, in an order that rotates each round:

- docker run -d: `docker run -d -m 64m dockyard/busybox:latest sh -c '...'`, timed until the CLI
  returns (the container is started by then): the baseline of the goal;
- docker run -d x2: a pause container on a user-defined bridge, then the app container in its
  network namespace: what a Fargate task does, by hand (an informative second baseline);
- bridge: a bridge-mode task with the same image, command and 64 MiB hard limit, on the EC2 agent
  (one container: the fair comparison with `docker run -d`);
- fargate: the same container as a FARGATE (awsvpc) task on the pool, which also creates and
  starts the task's pause container; reported separately, also as a ratio to docker run.

A task sample is timed from the RunTask call to the first DescribeTasks that shows lastStatus
RUNNING, polled every 5 ms; the server's own `startedAt - createdAt` is recorded too. Both task
kinds are sampled again with 50 ms polls, since on a small machine the tight poll loop slows the
start it measures. From the task's timestamps and the containers' `docker inspect` times, each
sample is split into phases (see `_timeline`) to show where the time goes. Every task is stopped
and every container removed; all waits are bounded.

    .venv/bin/python benchmarks/bench_run_task.py [--tasks 20] [--warmup 2] [--no-light]
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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import REGION, Result, format_results, summarize, wait_until
from _dockyard import LocalDockyard
from _timeline import Sample, docker_phases, parse_docker_time, phase_table, task_phases

__all__ = ["KINDS", "Kind", "main", "report", "run"]

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
LIGHT_POLL_INTERVAL = 0.05


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    column: str  # its column in the phase table
    launch: str  # docker | docker-pair | bridge | fargate
    poll: float = POLL_INTERVAL  # the DescribeTasks interval (tasks)


DOCKER = Kind("docker run -d", "docker", "docker")
DOCKER_PAIR = Kind("docker run -d x2 (pause + app)", "docker x2", "docker-pair")
BRIDGE = Kind("bridge task (EC2)", "bridge", "bridge")
FARGATE = Kind("fargate task (awsvpc)", "fargate", "fargate")
# the same tasks polled 10x less often: the tight poll loads this 2-core machine (see docs/performance.md)
BRIDGE_LIGHT = Kind("bridge task (EC2)", "bridge@50ms", "bridge", LIGHT_POLL_INTERVAL)
FARGATE_LIGHT = Kind("fargate task (awsvpc)", "fargate@50ms", "fargate", LIGHT_POLL_INTERVAL)
KINDS = (DOCKER, DOCKER_PAIR, BRIDGE, FARGATE, BRIDGE_LIGHT, FARGATE_LIGHT)


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

    def __init__(self, dockyard: LocalDockyard) -> None:
        self.dockyard = dockyard
        self.label = dockyard.label
        self.cluster = f"bench-{dockyard.run_id}"
        self.network = f"dockyard-bench-{dockyard.run_id}"
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

    def task(self, *, fargate: bool, poll: float) -> Sample:
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
                time.sleep(poll)
            server = _epoch(task["startedAt"]) - _epoch(task["createdAt"])
            return Sample(observed, server=server, phases=self._phases(task, arn, called, observed, fargate))
        finally:
            self._stop_task(arn)

    def _phases(
        self, task: dict[str, Any], arn: str, called: float, observed: float, fargate: bool
    ) -> dict[str, float]:
        """The sample's phases; none when a timestamp or container they need is missing."""
        names = ("createdAt", "pullStartedAt", "pullStoppedAt", "startedAt")
        app = task["containers"][0].get("runtimeId")
        if not app or any(name not in task for name in names):
            return {}
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
            if not pause_id:
                return {}
            pause = _times(pause_id)
        times = {name: _epoch(task[name]) for name in names}
        return task_phases(called=called, seen=called + observed, task=times, app=_times(app), pause=pause)

    def _stop_task(self, arn: str) -> None:
        self.ecs.stop_task(cluster=self.cluster, task=arn, reason="benchmark sample done")

        def stopped() -> bool:
            found = self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"]
            return not found or found[0]["lastStatus"] == "STOPPED"

        if not wait_until(stopped, timeout=STOP_TIMEOUT, interval=0.1):
            print(f"  warning: {arn} did not stop within {STOP_TIMEOUT:.0f}s; it is removed at the end")

    def sample(self, kind: Kind) -> Sample:
        if kind.launch.startswith("docker"):
            return self.docker_run(with_pause=kind.launch == "docker-pair")
        return self.task(fargate=kind.launch == "fargate", poll=kind.poll)


def _ensure_image() -> None:
    from dockyard.agent.runtime.docker import DockerRuntime
    from dockyard.images import ensure_image

    async def build() -> None:
        async with DockerRuntime() as runtime:
            await ensure_image(runtime, "busybox")

    asyncio.run(build())


def run(tasks: int = 20, warmup: int = 2, *, light: bool = True) -> list[Result]:
    """`tasks` rounds of one sample of each kind (after `warmup` rounds); `light` adds the 50 ms kinds."""
    if shutil.which("docker") is None:
        raise SystemExit("bench_run_task: the docker CLI is needed for the baseline")
    _ensure_image()
    kinds = KINDS if light else KINDS[:4]
    samples: dict[Kind, list[Sample]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        bench = Bench(LocalDockyard(Path(tmp)))
        try:
            bench.start()
            for _ in range(warmup):
                for kind in kinds:
                    bench.sample(kind)
            for number in range(tasks):
                shift = number % len(kinds)  # rotate the order so no kind always follows another
                for kind in kinds[shift:] + kinds[:shift]:
                    samples[kind].append(bench.sample(kind))
        except BaseException:
            print(bench.dockyard.tails())
            raise
        finally:
            bench.stop()
    return report(samples)


def _ms(samples: Sequence[Sample], *, server: bool = False) -> list[float]:
    if server:
        return [s.server * 1000 for s in samples if s.server is not None]
    return [s.observed * 1000 for s in samples]


def report(samples: Mapping[Kind, Sequence[Sample]]) -> list[Result]:
    """Print latencies, ratios and the phase table; the results for the summary."""
    docker = summarize(_ms(samples[DOCKER]))
    print(f"RunTask -> RUNNING beside docker run -d ({docker.n} samples each; ms)")
    for kind, items in samples.items():
        stats = summarize(_ms(items))
        polls = (
            f", DescribeTasks every {kind.poll * 1000:g} ms" if kind.launch in ("bridge", "fargate") else ""
        )
        print(f"  {kind.name}{polls}: p50 {stats.p50:.1f}  p90 {stats.p90:.1f}  max {stats.max:.1f}")
        if kind.launch in ("bridge", "fargate"):
            server = summarize(_ms(items, server=True))
            print(
                f"    / docker run -d: p50 {stats.p50 / docker.p50:.2f}x  p90 {stats.p90 / docker.p90:.2f}x;"
                f"  server startedAt - createdAt: p50 {server.p50:.1f} ({server.p50 / docker.p50:.2f}x)"
                f"  p90 {server.p90:.1f} ({server.p90 / docker.p90:.2f}x)"
            )
    for group in ("docker", "task"):
        chosen = {
            k.column: v for k, v in samples.items() if k.launch.startswith("docker") == (group == "docker")
        }
        print(phase_table(chosen))
    results: list[Result] = []
    for kind in (BRIDGE, FARGATE):
        stats = summarize(_ms(samples[kind]))
        results += [
            Result(BENCH, f"{kind.column} p50", stats.p50, "docker run -d p50", docker.p50, "ms", GOAL),
            Result(BENCH, f"{kind.column} p90", stats.p90, "docker run -d p90", docker.p90, "ms", GOAL),
        ]
    for kind in (BRIDGE_LIGHT, FARGATE_LIGHT) if BRIDGE_LIGHT in samples else (BRIDGE, FARGATE):
        server = summarize(_ms(samples[kind], server=True))
        metric = f"{kind.column} startedAt-createdAt p50"
        results.append(Result(BENCH, metric, server.p50, "docker run -d p50", docker.p50, "ms"))
    if samples.get(DOCKER_PAIR):
        pair, fargate = summarize(_ms(samples[DOCKER_PAIR])), summarize(_ms(samples[FARGATE]))
        results.append(Result(BENCH, "fargate p50", fargate.p50, "docker run -d x2 p50", pair.p50, "ms"))
    return results


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description="RunTask -> RUNNING latency beside docker run -d.")
    parser.add_argument("--tasks", type=int, default=20, help="measured samples of each kind (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured samples of each kind first")
    parser.add_argument("--no-light", action="store_true", help="skip the tasks polled every 50 ms")
    args = parser.parse_args(argv)
    results = run(args.tasks, args.warmup, light=not args.no_light)
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
