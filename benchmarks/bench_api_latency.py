"""ECS API latency through real boto3: Dockyard's server beside moto's, in the same run.

Four servers run side by side on free loopback ports, each with the same cluster, task
definition family and one task:

- dockyard (in-process): `ThreadedServer` on a SQLite file in a temporary data directory, in this
  process (as the test suite runs it), compared with moto's `ThreadedMotoServer`, also in-process;
- dockyard server (subprocess): `dockyard server --data-dir <tmp>`, as users run it, compared with
  `moto_server` as a subprocess.

The same boto3 calls (one attempt each, no retries) are timed against each: DescribeTasks of one
task, RunTask (FARGATE, awsvpc; without a pool agent the tasks stay PROVISIONING, which is all an
API benchmark needs) and RegisterTaskDefinition (a new revision each call). Each operation gets a
warm-up, then `--calls` rounds in which every server answers one call, in an order that rotates
each round; a round limit in seconds bounds each operation. Latency is wall time around the boto3
call, so it includes the client's own work (the same for every server).

    .venv/bin/python benchmarks/bench_api_latency.py [--calls 500] [--warmup 50]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    Process,
    Result,
    Stats,
    client,
    environment,
    format_results,
    free_port,
    median,
    summarize,
    wait_until,
)
from _dockyard import LocalDockyard

__all__ = ["OPERATIONS", "PAIRS", "Target", "main", "pair_results", "run"]

BENCH = "api-latency"
CLUSTER = "bench"
FAMILY = "bench-api"
OPERATIONS = ("DescribeTasks", "RunTask", "RegisterTaskDefinition")
# (Dockyard target, its moto baseline): each pair runs the same way (in-process or subprocess)
PAIRS = (
    ("dockyard (in-process)", "moto (in-process)"),
    ("dockyard server (subprocess)", "moto_server (subprocess)"),
)
GOAL = 1.0
TASK_DEFINITION: dict[str, Any] = {
    "family": FAMILY,
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [
        {"name": "app", "image": "dockyard/busybox:latest", "command": ["sleep", "300"], "memory": 64}
    ],
}


@dataclass
class Target:
    name: str
    endpoint: str
    subnet: str
    security_group: str
    ecs: Any = None
    task_arn: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)  # operation -> milliseconds

    def prepare(self) -> None:
        self.ecs = client("ecs", self.endpoint, retries=False)
        self.ecs.create_cluster(clusterName=CLUSTER)
        self.ecs.register_task_definition(**TASK_DEFINITION)
        tasks = self.run_task()["tasks"]
        self.task_arn = tasks[0]["taskArn"]

    def run_task(self) -> Any:
        network = {"awsvpcConfiguration": {"subnets": [self.subnet], "securityGroups": [self.security_group]}}
        return self.ecs.run_task(
            cluster=CLUSTER, taskDefinition=FAMILY, launchType="FARGATE", networkConfiguration=network
        )

    def call(self, operation: str) -> Callable[[], Any]:
        if operation == "DescribeTasks":
            return lambda: self.ecs.describe_tasks(cluster=CLUSTER, tasks=[self.task_arn])
        if operation == "RunTask":
            return self.run_task
        if operation == "RegisterTaskDefinition":
            return lambda: self.ecs.register_task_definition(**TASK_DEFINITION)
        raise ValueError(operation)


def pair_results(stats: Mapping[str, Mapping[str, Stats]]) -> list[Result]:
    """stats[target][operation] -> the p50/p90/p99 ratios of each Dockyard target to its moto pair."""
    results = []
    for dockyard, moto in PAIRS:
        if dockyard not in stats or moto not in stats:
            continue
        where = "in-process" if "in-process" in dockyard else "subprocess"
        for operation in OPERATIONS:
            ours, theirs = stats[dockyard][operation], stats[moto][operation]
            for name in ("p50", "p90", "p99"):
                results.append(
                    Result(
                        BENCH,
                        f"{operation} {name} ({where})",
                        getattr(ours, name),
                        f"moto {name}",
                        getattr(theirs, name),
                        "ms",
                        GOAL,
                    )
                )
    return results


# -- the servers ---------------------------------------------------------------------------------------


def _moto_subnet(endpoint: str) -> tuple[str, str]:
    ec2 = client("ec2", endpoint)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    return str(subnet), str(group)


def _dockyard_subnet() -> tuple[str, str]:
    from dockyard.services.ecs.networking import default_subnets

    return default_subnets("123456789012", "us-east-1")[0].subnet_id, "sg-0123456789abcdef0"


class Servers:
    """The four servers, started and stopped together."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.targets: list[Target] = []
        self._stops: list[Callable[[], None]] = []

    def start(self) -> list[Target]:
        from moto.server import ThreadedMotoServer

        from dockyard.testing.server import ThreadedServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
        subnet, group = _dockyard_subnet()
        threaded = ThreadedServer(data_dir=self.workdir / "inproc").start()
        self._stops.append(threaded.stop)
        self.targets.append(Target(PAIRS[0][0], threaded.endpoint, subnet, group))

        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        self._stops.append(moto.stop)
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        self.targets.append(Target(PAIRS[0][1], endpoint, *_moto_subnet(endpoint)))

        (self.workdir / "sub").mkdir()
        dockyard = LocalDockyard(self.workdir / "sub")
        self._stops.append(dockyard.stop)
        dockyard.start()
        self.targets.append(Target(PAIRS[1][0], dockyard.endpoint, subnet, group))

        port = free_port()
        moto_server = Process(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            self.workdir / "moto_server.log",
            environment(),
        )
        self._stops.append(moto_server.stop)
        endpoint = f"http://127.0.0.1:{port}"
        ecs = client("ecs", endpoint)

        def answers() -> bool:
            try:
                ecs.list_clusters()
                return True
            except Exception:
                return not moto_server.alive()

        if not wait_until(answers, timeout=60, interval=0.1) or not moto_server.alive():
            raise RuntimeError(f"moto_server did not start:\n{moto_server.output()}")
        self.targets.append(Target(PAIRS[1][1], endpoint, *_moto_subnet(endpoint)))
        for target in self.targets:
            target.prepare()
        return self.targets

    def stop(self) -> None:
        for stop in reversed(self._stops):
            try:
                stop()
            except Exception as exc:
                print(f"  (stopping a server failed: {exc})")


# -- measuring -----------------------------------------------------------------------------------------


def measure(targets: Sequence[Target], operation: str, calls: int, warmup: int, limit: float) -> int:
    """Warm up, then time `calls` rounds (one call per target each); the rounds done within `limit` s."""
    for target in targets:
        for _ in range(warmup):
            target.call(operation)()
        target.samples[operation] = []
    deadline = time.monotonic() + limit
    done = 0
    while done < calls and time.monotonic() < deadline:
        shift = done % len(targets)
        for target in [*targets[shift:], *targets[:shift]]:
            call = target.call(operation)
            started = time.perf_counter()
            call()
            target.samples[operation].append((time.perf_counter() - started) * 1000)
        done += 1
    return done


def run(calls: int = 500, warmup: int = 50, limit: float = 120.0) -> list[Result]:
    stats: dict[str, dict[str, Stats]] = {}
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-api-") as tmp:
        servers = Servers(Path(tmp))
        try:
            targets = servers.start()
            for operation in OPERATIONS:
                rounds = measure(targets, operation, calls, warmup, limit)
                if rounds < calls:
                    print(f"  {operation}: stopped after {rounds} rounds (the {limit:.0f}s limit)")
        finally:
            servers.stop()
    print(f"API latency through boto3 (ms; {calls} calls each after {warmup} warm-up calls)")
    print(f"  {'server':30} {'operation':24} {'p50':>7} {'p90':>7} {'p99':>7} {'mean':>7}")
    for target in targets:
        stats[target.name] = {}
        for operation in OPERATIONS:
            s = stats[target.name][operation] = summarize(target.samples[operation])
            print(f"  {target.name:30} {operation:24} {s.p50:7.2f} {s.p90:7.2f} {s.p99:7.2f} {s.mean:7.2f}")
    tenth = max(len(targets[0].samples["RunTask"]) // 10, 1)
    print(
        f"  RunTask p50 over the first and the last {tenth} calls (live tasks accumulate; none is stopped):"
    )
    for target in targets:
        first, last = target.samples["RunTask"][:tenth], target.samples["RunTask"][-tenth:]
        print(f"    {target.name:30} {median(first):6.2f} -> {median(last):6.2f}")
    return pair_results(stats)


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description="ECS API latency: Dockyard beside moto.")
    parser.add_argument("--calls", type=int, default=500, help="timed calls per operation and server")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls first")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds at most per operation")
    args = parser.parse_args(argv)
    results = run(args.calls, args.warmup, args.limit)
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
