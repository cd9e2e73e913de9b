"""The control plane's CPU cost of ECS's metrics for 100 running tasks.

A `dockyard server` process (as users run it) with a cluster of 100 RUNNING Fargate tasks of one
service. The tasks are launched with RunTask and brought to RUNNING with the agent channel's
reports (no containers: this measures the server, not Docker). Then, alternating, for `rounds`
rounds each:

- telemetry: one agent report of 100 samples (`POST /_dockyard/agent/v1/telemetry`), which the
  server turns into AWS/ECS CPUUtilization and MemoryUtilization datapoints per cluster and per
  service (and the cluster's reservations): what one collection interval costs it;
- baseline: the same 400 datapoints sent as a user-side collector would, with CloudWatch
  PutMetricData (20 datums per call, the API's limit, so 20 calls) to a custom namespace.

The figure is the server's CPU time (user + system from /proc/<pid>/stat, in 10 ms ticks, so
measured over 10 collections at a time) per collection, median of the rounds.

    .venv/bin/python benchmarks/bench_telemetry.py [--rounds 5] [--tasks 100]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import Result, client, format_results, median
from _dockyard import LocalDockyard
from _registry import cpu_seconds

__all__ = ["main", "run"]

BENCH = "telemetry"
BATCH = 10  # collections per measurement


def _post(endpoint: str, path: str, body: Any) -> Any:
    request = urllib.request.Request(
        endpoint + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _running_tasks(dockyard: LocalDockyard, count: int) -> list[str]:
    from dockyard.services.ecs.networking import default_subnets

    ecs = dockyard.ecs
    ecs.create_cluster(clusterName="bench")
    ecs.register_task_definition(
        family="bench", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": "dockyard/hello:latest"}],
    )  # fmt: skip
    subnet = default_subnets("123456789012", "us-east-1")[0].subnet_id
    arns: list[str] = []
    while len(arns) < count:
        found = ecs.run_task(
            cluster="bench", taskDefinition="bench", launchType="FARGATE", group="service:web",
            count=min(10, count - len(arns)),
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}},
        )  # fmt: skip
        arns += [t["taskArn"] for t in found["tasks"]]
    reports = [
        {"taskArn": arn, "lastStatus": "RUNNING", "containers": [{"name": "app", "lastStatus": "RUNNING"}]}
        for arn in arns
    ]
    _post(dockyard.endpoint, "/_dockyard/agent/v1/reports", {"tasks": reports})
    return arns


def run(rounds: int = 5, tasks: int = 100) -> list[Result]:
    telemetry: list[float] = []
    baseline: list[float] = []
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-telemetry-") as tmp:
        dockyard = LocalDockyard(Path(tmp))
        try:
            dockyard.start()
            assert dockyard.server is not None
            pid = dockyard.server.pid
            arns = _running_tasks(dockyard, tasks)
            cloudwatch = client("cloudwatch", dockyard.endpoint)
            samples = [{"taskArn": arn, "cpu": 100.0 + i % 50, "memory": 200.0} for i, arn in enumerate(arns)]
            datums = [
                {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Value": 40.0 + i % 50,
                    "Unit": "Percent",
                }
                for i in range(tasks)
                for name in ("CPUUtilization", "MemoryUtilization")
                for dimensions in (
                    [{"Name": "ClusterName", "Value": "bench"}],
                    [{"Name": "ClusterName", "Value": "bench"}, {"Name": "ServiceName", "Value": "web"}],
                )
            ]
            accepted = _post(
                dockyard.endpoint, "/_dockyard/agent/v1/telemetry", {"node": "fargate", "samples": samples}
            )
            if accepted.get("accepted") != tasks:
                raise RuntimeError(f"the server took {accepted} of {tasks} samples")
            telemetry_body = {"node": "fargate", "samples": samples}
            for _ in range(rounds):  # CPU time counts in 10 ms ticks: measure BATCH at a time
                before = cpu_seconds(pid) or 0.0
                for _ in range(BATCH):
                    _post(dockyard.endpoint, "/_dockyard/agent/v1/telemetry", telemetry_body)
                telemetry.append(((cpu_seconds(pid) or 0.0) - before) / BATCH)
                before = cpu_seconds(pid) or 0.0
                for _ in range(BATCH):
                    for first in range(0, len(datums), 20):
                        chunk = datums[first : first + 20]
                        cloudwatch.put_metric_data(Namespace="Bench/Collector", MetricData=chunk)
                baseline.append(((cpu_seconds(pid) or 0.0) - before) / BATCH)
        finally:
            dockyard.stop()
    value, base = median(telemetry) * 1000, median(baseline) * 1000
    print(f"server CPU per collection of {tasks} tasks: {value:.1f} ms; as PutMetricData: {base:.1f} ms")
    return [
        Result(
            BENCH,
            f"server CPU per metrics collection, {tasks} tasks",
            value,
            f"the same {len(datums)} datapoints by PutMetricData",
            base,
            "ms",
        )  # fmt: skip
    ]


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description="The server's CPU cost of ECS metrics for 100 tasks.")
    parser.add_argument("--rounds", type=int, default=5, help=f"measurements of {BATCH} collections each")
    parser.add_argument("--tasks", type=int, default=100)
    args = parser.parse_args(argv)
    results = run(args.rounds, args.tasks)
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
