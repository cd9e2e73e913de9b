"""A service behind an Application Load Balancer: registration to healthy, and a rolling deployment.

Real Docker, real HAProxy, an in-process Dockyard with the Fargate pool (dockyard.testing.platform).
A target group with tuned health checks (every 5 s, healthy after a passing check, 2 s timeout,
5 s deregistration delay) behind an ALB; a 4-task Fargate service of `dockyard/hello` on it.
Each round:

- registration -> healthy: for each of the service's new tasks, the time from its target first
  appearing in DescribeTargetHealth (ECS registered it) to the first DescribeTargetHealth that shows
  it `healthy` (polled every 100 ms), beside one health-check interval (5 s): the wait the health
  check configuration alone imposes;
- rolling deployment: UpdateService to a new revision (minimumHealthyPercent 100, maximumPercent
  200), timed until one COMPLETED deployment of the new revision remains and no target drains,
  beside the floor of such a deployment measured in the same round: `docker run -d` of the image
  (the container start) + one health-check interval + the deregistration delay.

    .venv/bin/python benchmarks/bench_lb_deploy.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import Result, format_results, median, table

__all__ = ["Round", "main", "report", "run"]

BENCH = "lb-deploy"
IMAGE = "dockyard/hello:latest"
INTERVAL = 5.0
DELAY = 5.0
TASKS = 4
TIMEOUT = 240.0


@dataclass(frozen=True, slots=True)
class Round:
    to_healthy: tuple[float, ...]  # seconds, one per target
    roll: float  # seconds
    docker_run: float  # seconds: `docker run -d` of the image


def _until(check: Callable[[], Any], what: str, *, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what}")


class Bench:
    def __init__(self, platform: Any) -> None:
        self.platform = platform
        self.group = ""
        self.revision = 0

    def aws(self, *args: str) -> Any:
        return self.platform.aws(*args)

    def setup(self) -> None:
        p = self.platform
        lb = self.aws(
            "elbv2", "create-load-balancer", "--name", "bench", "--subnets", p.subnet(0), p.subnet(1)
        )
        vpc = self.aws("ec2", "describe-vpcs")["Vpcs"][0]["VpcId"]
        self.group = self.aws(
            "elbv2", "create-target-group", "--name", "bench", "--protocol", "HTTP", "--port", "80",
            "--vpc-id", vpc, "--target-type", "ip", "--health-check-interval-seconds", str(int(INTERVAL)),
            "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2",
        )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
        self.aws(
            "elbv2", "modify-target-group-attributes", "--target-group-arn", self.group,
            "--attributes", f"Key=deregistration_delay.timeout_seconds,Value={int(DELAY)}",
        )  # fmt: skip
        forward = f"Type=forward,TargetGroupArn={self.group}"
        self.aws(
            "elbv2", "create-listener", "--load-balancer-arn", lb["LoadBalancers"][0]["LoadBalancerArn"],
            "--protocol", "HTTP", "--port", "80", "--default-actions", forward,
        )  # fmt: skip
        self.aws("ecs", "create-cluster")

    def register(self) -> str:
        self.revision += 1
        container = {
            "name": "web", "image": IMAGE, "stopTimeout": 2, "portMappings": [{"containerPort": 80}],
            "environment": [{"name": "VERSION", "value": str(self.revision)}],
        }  # fmt: skip
        found = self.aws(
            "ecs", "register-task-definition", "--family", "bench", "--requires-compatibilities", "FARGATE",
            "--network-mode", "awsvpc", "--cpu", "256", "--memory", "512",
            "--container-definitions", json.dumps([container]),
        )  # fmt: skip
        return str(found["taskDefinition"]["taskDefinitionArn"])

    def health(self) -> dict[str, str]:
        found = self.aws("elbv2", "describe-target-health", "--target-group-arn", self.group)
        return {
            f"{d['Target']['Id']}:{d['Target']['Port']}": d["TargetHealth"]["State"]
            for d in found["TargetHealthDescriptions"]
        }

    def watch_targets(self, count: int, known: set[str]) -> tuple[float, ...]:
        """Seconds from registration to healthy for `count` new targets (not in `known`)."""
        seen: dict[str, float] = {}
        healthy: dict[str, float] = {}

        def done() -> bool:
            now = time.monotonic()
            for target, state in self.health().items():
                if target in known:
                    continue
                seen.setdefault(target, now)
                if state == "healthy":
                    healthy.setdefault(target, now)
            return len(healthy) >= count

        _until(done, f"{count} healthy targets")
        return tuple(healthy[t] - seen[t] for t in healthy)

    def settled(self, revision: str) -> bool:
        service = self.aws("ecs", "describe-services", "--services", "bench")["services"][0]
        deployments = service["deployments"]
        return (
            len(deployments) == 1
            and deployments[0]["rolloutState"] == "COMPLETED"
            and service["taskDefinition"] == revision
            and "draining" not in self.health().values()
        )

    def docker_run(self) -> float:
        started = time.perf_counter()
        container = subprocess.run(
            ["docker", "run", "-d", "--rm", IMAGE], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
        elapsed = time.perf_counter() - started
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False, timeout=60)
        return elapsed

    def round(self, first: bool) -> Round:
        revision = self.register()
        known = set(self.health())
        if first:
            self.aws(
                "ecs", "create-service", "--service-name", "bench", "--task-definition", revision,
                "--desired-count", str(TASKS), "--launch-type", "FARGATE",
                "--network-configuration", f"awsvpcConfiguration={{subnets=[{self.platform.subnet(0)}]}}",
                "--load-balancers", f"targetGroupArn={self.group},containerName=web,containerPort=80",
            )  # fmt: skip
            to_healthy = self.watch_targets(TASKS, known)
            _until(lambda: self.settled(revision), "the service to settle", interval=0.2)
            return Round(to_healthy, 0.0, self.docker_run())
        started = time.monotonic()
        self.aws("ecs", "update-service", "--service", "bench", "--task-definition", revision)
        to_healthy = self.watch_targets(TASKS, known)
        _until(lambda: self.settled(revision), "the rolling deployment", interval=0.2)
        return Round(to_healthy, time.monotonic() - started, self.docker_run())


def run(rounds: int = 2) -> list[Result]:
    from dockyard.testing.platform import Platform

    measured: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-lb-") as tmp:
        with Platform(Path(tmp), server_settings={"service_healthy_delay": 0.0}) as platform:
            bench = Bench(platform)
            bench.setup()
            bench.round(first=True)  # the service's first tasks (unmeasured: the pool warms up)
            for _ in range(rounds):
                measured.append(bench.round(first=False))
    return report(measured)


def report(rounds: Sequence[Round]) -> list[Result]:
    rows = [["round", "registration -> healthy (median, max)", "rolling deployment", "docker run -d"]]
    for number, r in enumerate(rounds, 1):
        rows.append(
            [
                str(number),
                f"{median(list(r.to_healthy)):.2f} s, {max(r.to_healthy):.2f} s",
                f"{r.roll:.2f} s",
                f"{r.docker_run:.2f} s",
            ]
        )
    print(f"{TASKS}-task Fargate service behind an ALB (checks every {INTERVAL:.0f} s, {DELAY:.0f} s drain)")
    print(table(rows, indent="  "))
    to_healthy = median([t for r in rounds for t in r.to_healthy]) * 1000
    roll = median([r.roll for r in rounds]) * 1000
    floor = median([r.docker_run + INTERVAL + DELAY for r in rounds]) * 1000
    return [
        Result(
            BENCH,
            "target registration -> healthy",
            to_healthy,
            "one health-check interval",
            INTERVAL * 1000,
            "ms",
        ),
        Result(
            BENCH, f"{TASKS}-task rolling deployment", roll, "container start + interval + drain", floor, "ms"
        ),
    ]


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(
        description="A service behind an ALB: to healthy, and a rolling deployment."
    )
    parser.add_argument("--rounds", type=int, default=2, help="measured rolling deployments")
    args = parser.parse_args(argv)
    results = run(args.rounds)
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
