"""Log lines per second from a chatty container: to GetLogEvents (awslogs) beside `docker logs`.

Dockyard runs as users run it: a `dockyard server` process and a Fargate pool agent. Each round
runs one Fargate task whose only container prints N lines as fast as it can (`seq` piped through
`sed`, about 60 bytes a line) with the awslogs driver, and measures, for that one container:

- dockyard: from the container's start (`docker inspect` StartedAt) until GetLogEvents has
  returned all N lines (paging forward from the head with the forward token, every 50 ms);
- docker logs (baseline): the container's run (StartedAt to FinishedAt, while the engine writes
  its json-file log) plus one `docker logs` reading all N lines back: the same lines, read from the
  engine instead of CloudWatch Logs.

Both are reported as the time until all N lines are readable (ms), with their lines per second;
the ratio is Dockyard / docker logs. Every container is removed and every wait is bounded.

    .venv/bin/python benchmarks/bench_logs.py [--lines 200000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from _common import Result, client, format_results, median, table, wait_until
from _dockyard import LocalDockyard

__all__ = ["main", "run"]

BENCH = "logs"
IMAGE = "dockyard/busybox:latest"
GROUP = "/bench/chatty"
CLUSTER = "logs-bench"
POLL = 0.05
TIMEOUT = 300.0
PADDING = "x" * 48


def _epoch(value: str) -> float:
    head, _, fraction = value.rstrip("Z").partition(".")
    return datetime.fromisoformat(head + "+00:00").timestamp() + float(f"0.{fraction or '0'}")


def _docker(*args: str, timeout: float = 120) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, timeout=timeout
    ).stdout


class Round:
    def __init__(self, dockyard: LocalDockyard, subnet: str, lines: int) -> None:
        self.dockyard = dockyard
        self.subnet = subnet
        self.lines = lines
        self.logs = client("logs", dockyard.endpoint)

    def run(self, family: str) -> tuple[float, float]:
        """(ms until GetLogEvents has every line, ms until `docker logs` has read them all)."""
        ecs = self.dockyard.ecs
        script = f"seq 1 {self.lines} | sed 's/$/ {PADDING}/'"
        ecs.register_task_definition(
            family=family,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            executionRoleArn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            containerDefinitions=[
                {
                    "name": "chatty",
                    "image": IMAGE,
                    "command": ["sh", "-c", script],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": GROUP,
                            "awslogs-region": "us-east-1",
                            "awslogs-stream-prefix": family,
                        },
                    },
                }
            ],
        )
        arn = ecs.run_task(
            cluster=CLUSTER,
            taskDefinition=family,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": [self.subnet]}},
        )["tasks"][0]["taskArn"]
        stream = f"{family}/chatty/{arn.rsplit('/', 1)[1]}"
        container_id = self._runtime_id(arn)
        seen = self._read_all(stream)
        visible_at = time.time()
        if seen < self.lines:
            raise RuntimeError(f"only {seen} of {self.lines} lines reached GetLogEvents in {TIMEOUT:.0f}s")
        self._wait_exited(container_id)
        state = json.loads(_docker("inspect", container_id))[0]["State"]
        started, finished = _epoch(state["StartedAt"]), _epoch(state["FinishedAt"])
        began = time.monotonic()
        output = subprocess.run(
            ["docker", "logs", container_id], capture_output=True, check=True, timeout=TIMEOUT
        ).stdout
        read = time.monotonic() - began
        count = output.count(b"\n")
        if count != self.lines:
            raise RuntimeError(f"docker logs returned {count} lines, not {self.lines}")
        return (visible_at - started) * 1000, (finished - started + read) * 1000

    def _runtime_id(self, arn: str) -> str:
        found: list[str] = []

        def started() -> bool:
            task = self.dockyard.ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]
            runtime_id = task["containers"][0].get("runtimeId")
            if runtime_id:
                found.append(runtime_id)
            return bool(found) or task["lastStatus"] == "STOPPED"

        if not wait_until(started, timeout=120, interval=0.02) or not found:
            raise RuntimeError(f"task {arn} never got a container:\n{self.dockyard.tails()}")
        return found[0]

    def _read_all(self, stream: str) -> int:
        """Page forward from the head until every line has been read (bounded); lines read."""
        seen = 0
        token: str | None = None
        deadline = time.monotonic() + TIMEOUT
        while seen < self.lines and time.monotonic() < deadline:
            try:
                page = self.logs.get_log_events(
                    logGroupName=GROUP,
                    logStreamName=stream,
                    startFromHead=True,
                    **({"nextToken": token} if token else {}),
                )
            except self.logs.exceptions.ResourceNotFoundException:
                time.sleep(POLL)
                continue
            seen += len(page["events"])
            if page["nextForwardToken"] == token:
                time.sleep(POLL)
            token = page["nextForwardToken"]
        return seen

    def _wait_exited(self, container_id: str) -> None:
        def exited() -> bool:
            return bool(json.loads(_docker("inspect", container_id))[0]["State"]["Status"] == "exited")

        if not wait_until(exited, timeout=TIMEOUT, interval=0.1):
            raise RuntimeError(f"container {container_id} did not exit")


def run(lines: int = 200_000, rounds: int = 3) -> list[Result]:
    from dockyard.services.ecs.networking import default_subnets

    subnet = default_subnets("123456789012", "us-east-1")[0].subnet_id
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as workdir:
        with LocalDockyard(Path(workdir), cleanup_wait="600s") as dockyard:
            dockyard.start_pool()
            dockyard.ecs.create_cluster(clusterName=CLUSTER)
            dockyard.clusters.append(CLUSTER)
            client("logs", dockyard.endpoint).create_log_group(logGroupName=GROUP)
            bench = Round(dockyard, subnet, lines)
            samples: list[tuple[float, float]] = []
            for index in range(rounds):
                dockyard_ms, docker_ms = bench.run(f"chatty{index}")
                samples.append((dockyard_ms, docker_ms))
                print(f"  round {index + 1}: dockyard {dockyard_ms:.0f} ms, docker logs {docker_ms:.0f} ms")
    dockyard_ms = median([s[0] for s in samples])
    docker_ms = median([s[1] for s in samples])
    rows = [["reader", "ms until all lines (median)", "lines/s"]]
    for name, ms in (("GetLogEvents (awslogs)", dockyard_ms), ("docker logs", docker_ms)):
        rows.append([name, f"{ms:.0f}", f"{lines / ms * 1000:,.0f}"])
    print(table(rows))
    metric = f"{lines:,} lines readable"
    return [Result(BENCH, metric, dockyard_ms, "docker logs", docker_ms, "ms")]


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(
        description="Chatty container: lines to GetLogEvents beside docker logs."
    )
    parser.add_argument(
        "--lines", type=int, default=200_000, help="lines the container prints (default 200000)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="tasks run, one after another (default 3)")
    args = parser.parse_args(argv)
    results = run(args.lines, args.rounds)
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
