"""A 10-task Fargate service on real Docker: time to converge and to finish a rolling deployment.

Dockyard runs as users run it: a `dockyard server` process (with `DOCKYARD_SERVICE_HEALTHY_DELAY=0`,
so a task without health checks counts as healthy once it runs and no fixed wait is measured)
and the Fargate pool agent. After one unmeasured warm-up service, each round:

- converge: CreateService of 10 tasks of `dockyard/hello` (FARGATE, awsvpc, two subnets), timed
  from the call to the first DescribeServices (polled every 50 ms) that shows 10 tasks running,
  one deployment, `rolloutState` COMPLETED and the event "has reached a steady state";
- roll: UpdateService to a new revision (default minimumHealthyPercent 100, maximumPercent 200),
  timed from the call until the service is back to one COMPLETED deployment of the new
  revision with 10 running tasks and every old task is STOPPED;
- then the service is scaled to 0 and deleted, and every task has stopped before the next round.

Each figure is printed beside two baselines measured in the same run:

- the sum of its 10 containers' own start times (`docker inspect`: Created -> State.StartedAt),
  the time Docker itself spent starting them, one after another;
- `docker run -d` x10: ten sequential `docker run -d` of the same image, timed until the tenth
  returns (in each round, right after the service measurements).

The span of the starts (first container created -> last one started) is printed too: it shows how
much of the converge time the engine was busy. All waits are bounded; every task is stopped and
every container removed.

    .venv/bin/python benchmarks/bench_service.py [--rounds 3] [--tasks 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import REGION, Result, format_results, median, table, wait_until
from _dockyard import LocalDockyard
from _timeline import parse_docker_time

__all__ = ["Round", "StartTimes", "main", "report", "run", "start_times"]

BENCH = "service"
IMAGE = "dockyard/hello:latest"
POLL = 0.05
TIMEOUT = 180.0


@dataclass(frozen=True, slots=True)
class StartTimes:
    """The containers' own start times, from `docker inspect` (epoch seconds)."""

    total: float  # sum over containers of StartedAt - Created
    span: float  # first Created -> last StartedAt


@dataclass
class Round:
    converge: float = 0.0
    converge_starts: StartTimes = StartTimes(0.0, 0.0)
    roll: float = 0.0
    roll_starts: StartTimes = StartTimes(0.0, 0.0)
    docker_x10: float = 0.0


def start_times(times: Sequence[tuple[float, float]]) -> StartTimes:
    """(Created, StartedAt) pairs -> their summed start time and the span they cover."""
    if not times:
        return StartTimes(0.0, 0.0)
    return StartTimes(
        total=sum(started - created for created, started in times),
        span=max(started for _, started in times) - min(created for created, _ in times),
    )


def _docker(*args: str, timeout: float = 120) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, timeout=timeout
    ).stdout.strip()


def _inspect(container_ids: Sequence[str]) -> list[tuple[float, float]]:
    found = json.loads(_docker("inspect", *container_ids)) if container_ids else []
    return [(parse_docker_time(c["Created"]), parse_docker_time(c["State"]["StartedAt"])) for c in found]


class Bench:
    def __init__(self, dockyard: LocalDockyard, tasks: int) -> None:
        self.dockyard = dockyard
        self.tasks = tasks
        self.cluster = f"bench-svc-{dockyard.run_id}"
        self.ecs: Any = None
        self.subnets: list[str] = []

    def start(self) -> None:
        self.dockyard.env["DOCKYARD_SERVICE_HEALTHY_DELAY"] = "0"
        self.dockyard.start()
        self.ecs = self.dockyard.ecs
        self.ecs.create_cluster(clusterName=self.cluster)
        self.dockyard.clusters.append(self.cluster)  # its tasks are stopped at the end
        self.dockyard.start_pool()
        from dockyard.services.ecs.networking import default_subnets

        self.subnets = [s.subnet_id for s in default_subnets("123456789012", REGION)[:2]]

    def register(self, marker: str) -> str:
        container = {
            "name": "web",
            "image": IMAGE,
            "portMappings": [{"containerPort": 80}],
            "environment": [{"name": "MARKER", "value": marker}],
            "stopTimeout": 2,
        }
        found = self.ecs.register_task_definition(
            family="bench-hello",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=[container],
        )
        return str(found["taskDefinition"]["taskDefinitionArn"])

    # -- observing

    def _service(self, name: str) -> dict[str, Any]:
        found = self.ecs.describe_services(cluster=self.cluster, services=[name])["services"]
        return dict(found[0])

    def _tasks(self, name: str) -> list[dict[str, Any]]:
        arns: list[str] = []
        for page in self.ecs.get_paginator("list_tasks").paginate(cluster=self.cluster, serviceName=name):
            arns += page["taskArns"]
        tasks: list[dict[str, Any]] = []
        for i in range(0, len(arns), 100):
            tasks += self.ecs.describe_tasks(cluster=self.cluster, tasks=arns[i : i + 100])["tasks"]
        return tasks

    def _steady(self, name: str, revision: str, count: int) -> bool:
        service = self._service(name)
        deployments = service["deployments"]
        return (
            len(deployments) == 1
            and deployments[0]["rolloutState"] == "COMPLETED"
            and deployments[0]["taskDefinition"] == revision
            and service["runningCount"] == count
            and any("has reached a steady state" in e["message"] for e in service["events"][:1])
        )

    def _wait(self, check: Callable[[], bool], what: str) -> None:
        if not wait_until(check, timeout=TIMEOUT, interval=POLL):
            raise RuntimeError(f"timed out after {TIMEOUT:.0f}s waiting for {what}")

    def _starts(self, name: str, revision: str) -> StartTimes:
        ids = [
            c["runtimeId"]
            for t in self._tasks(name)
            if t["taskDefinitionArn"] == revision and t["lastStatus"] == "RUNNING"
            for c in t["containers"]
            if c.get("runtimeId")
        ]
        if len(ids) != self.tasks:
            raise RuntimeError(f"expected {self.tasks} running containers of {revision}, found {len(ids)}")
        return start_times(_inspect(ids))

    # -- one round

    def converge(self, name: str, revision: str) -> tuple[float, StartTimes]:
        started = time.perf_counter()
        self.ecs.create_service(
            cluster=self.cluster,
            serviceName=name,
            taskDefinition=revision,
            desiredCount=self.tasks,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": self.subnets}},
        )
        self._wait(lambda: self._steady(name, revision, self.tasks), f"{name} to converge")
        elapsed = time.perf_counter() - started
        return elapsed, self._starts(name, revision)

    def roll(self, name: str, old: str, new: str) -> tuple[float, StartTimes]:
        before = {t["taskArn"] for t in self._tasks(name)}
        started = time.perf_counter()
        self.ecs.update_service(cluster=self.cluster, service=name, taskDefinition=new)

        def done() -> bool:
            if not self._steady(name, new, self.tasks):
                return False
            return all(t["lastStatus"] == "STOPPED" for t in self._tasks(name) if t["taskArn"] in before)

        self._wait(done, f"{name} to roll from {old.rsplit('/', 1)[1]} to {new.rsplit('/', 1)[1]}")
        elapsed = time.perf_counter() - started
        return elapsed, self._starts(name, new)

    def remove(self, name: str) -> None:
        self.ecs.update_service(cluster=self.cluster, service=name, desiredCount=0)
        self.ecs.delete_service(cluster=self.cluster, service=name)
        self._wait(
            lambda: all(t["lastStatus"] == "STOPPED" for t in self._tasks(name)), f"{name}'s tasks to stop"
        )

    def docker_x10(self) -> float:
        ids: list[str] = []
        started = time.perf_counter()
        try:
            for _ in range(self.tasks):
                ids.append(_docker("run", "-d", "--label", self.dockyard.label, IMAGE))
            return time.perf_counter() - started
        finally:
            if ids:
                _docker("rm", "-f", *ids)

    def round(self, number: int) -> Round:
        name = f"web-{number}"
        first, second = self.register(f"{number}a"), self.register(f"{number}b")
        result = Round()
        result.converge, result.converge_starts = self.converge(name, first)
        result.roll, result.roll_starts = self.roll(name, first, second)
        self.remove(name)
        result.docker_x10 = self.docker_x10()
        return result


def _ensure_image() -> None:
    from dockyard.agent.runtime.docker import DockerRuntime
    from dockyard.images import ensure_image

    async def build() -> None:
        async with DockerRuntime() as runtime:
            await ensure_image(runtime, "hello")

    asyncio.run(build())


def run(rounds: int = 3, tasks: int = 10) -> list[Result]:
    if shutil.which("docker") is None:
        raise SystemExit("bench_service: the docker CLI is needed for the baseline")
    _ensure_image()
    measured: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        bench = Bench(LocalDockyard(Path(tmp)), tasks)
        try:
            bench.start()
            bench.round(0)  # warm-up: the pool's first tasks, the VPC network, the image's layers
            for number in range(1, rounds + 1):
                measured.append(bench.round(number))
        except BaseException:
            print(bench.dockyard.tails())
            raise
        finally:
            bench.dockyard.stop()
    return report(measured, tasks)


def report(rounds: Sequence[Round], tasks: int = 10) -> list[Result]:
    """Print each round and the medians; the results (medians, ms) for the summary."""
    rows = [
        [
            "round",
            "converge",
            "sum of starts",
            "span",
            "roll",
            "sum of starts",
            "span",
            f"docker run -d x{tasks}",
        ]
    ]
    for number, r in enumerate(rounds, 1):
        rows.append(
            [
                str(number),
                *(
                    f"{v * 1000:.0f}"
                    for v in (
                        r.converge,
                        r.converge_starts.total,
                        r.converge_starts.span,
                        r.roll,
                        r.roll_starts.total,
                        r.roll_starts.span,
                        r.docker_x10,
                    )
                ),
            ]
        )
    print(f"{tasks}-task Fargate service on real Docker, ms ({len(rounds)} rounds)")
    print(table(rows, indent="  "))

    def med(pick: Callable[[Round], float]) -> float:
        return median([pick(r) for r in rounds]) * 1000

    converge, roll, docker = med(lambda r: r.converge), med(lambda r: r.roll), med(lambda r: r.docker_x10)
    converge_sum, roll_sum = med(lambda r: r.converge_starts.total), med(lambda r: r.roll_starts.total)
    converge_span, roll_span = med(lambda r: r.converge_starts.span), med(lambda r: r.roll_starts.span)
    label = f"{tasks}-task"
    return [
        Result(BENCH, f"{label} converge", converge, "sum of its container starts", converge_sum, "ms"),
        Result(BENCH, f"{label} converge", converge, "span of its container starts", converge_span, "ms"),
        Result(BENCH, f"{label} converge", converge, f"docker run -d x{tasks}", docker, "ms"),
        Result(BENCH, f"{label} rolling deployment", roll, "sum of its container starts", roll_sum, "ms"),
        Result(BENCH, f"{label} rolling deployment", roll, "span of its container starts", roll_span, "ms"),
        Result(BENCH, f"{label} rolling deployment", roll, f"docker run -d x{tasks}", docker, "ms"),
    ]


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description="A 10-task Fargate service: converge and roll.")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds (after one warm-up)")
    parser.add_argument("--tasks", type=int, default=10, help="the service's desired count (default 10)")
    args = parser.parse_args(argv)
    results = run(args.rounds, args.tasks)
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
