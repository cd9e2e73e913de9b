"""Drive Dockyard at scale with simulated instances: 1,000 instances, 10,000 tasks, on this machine.

```
dockyard server (its own process, a temporary data directory)
  <- instances: `dockyard agent --simulate --count N` (one more process)      --mode agent
             or an Auto Scaling group of N instances tagged dockyard:simulated=true
                (their agents run inside the server)                           --mode asg
  <- RunTask --count 10, from a few threads, until --tasks tasks are placed
wait: every instance registered; every task RUNNING (reported by the simulated agents)
```
It prints how long each phase took and the rates; it asserts nothing about time. Processes it
starts are stopped by their pid.

    .venv/bin/python scripts/scale_simulated.py                    # 1000 instances, 10000 tasks
    .venv/bin/python scripts/scale_simulated.py --mode asg --instances 200 --tasks 2000
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

__all__ = ["main"]

REGION = "us-east-1"
CLUSTER = "scale"
ENV = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_DEFAULT_REGION": REGION}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=ENV["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 10, "mode": "standard"}, max_pool_connections=64),
    )


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dockyard", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **ENV, "PYTHONUNBUFFERED": "1"},
        )


def _stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _until(check: Callable[[], bool], *, timeout: float, what: str, every: float = 0.5) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(every)
    raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")


def _counts(ecs: Any) -> dict[str, int]:
    cluster = ecs.describe_clusters(clusters=[CLUSTER])["clusters"][0]
    return {
        "instances": int(cluster["registeredContainerInstancesCount"]),
        "running": int(cluster["runningTasksCount"]),
        "pending": int(cluster["pendingTasksCount"]),
    }


def _asg(endpoint: str, instances: int, instance_type: str) -> None:
    ec2, autoscaling = _client(endpoint, "ec2"), _client(endpoint, "autoscaling")
    script = f"#!/bin/bash\necho ECS_CLUSTER={CLUSTER} >> /etc/ecs/ecs.config\n"
    ec2.create_launch_template(
        LaunchTemplateName="simulated",
        LaunchTemplateData={
            "ImageId": "ami-0123456789abcdef0",
            "InstanceType": instance_type,
            "UserData": base64.b64encode(script.encode()).decode(),
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": [{"Key": "dockyard:simulated", "Value": "true"}]}
            ],
        },
    )
    subnets = ",".join(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"])
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="simulated",
        LaunchTemplate={"LaunchTemplateName": "simulated"},
        MinSize=0,
        MaxSize=instances,
        DesiredCapacity=instances,
        VPCZoneIdentifier=subnets,
    )


def _run_tasks(endpoint: str, tasks: int, threads: int) -> int:
    """RunTask 10 at a time from `threads` threads; returns how many were not placed."""
    ecs = _client(endpoint, "ecs")
    calls = [min(10, tasks - start) for start in range(0, tasks, 10)]

    def one(count: int) -> int:
        response = ecs.run_task(cluster=CLUSTER, taskDefinition="simulated", count=count, launchType="EC2")
        return len(response["failures"])

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(one, calls))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="1,000 simulated instances and 10,000 tasks, timed.")
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--instance-type", default="c5.xlarge")
    parser.add_argument("--mode", choices=["agent", "asg"], default="agent")
    parser.add_argument("--threads", type=int, default=8, help="concurrent RunTask callers")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="dockyard-scale-"))
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    processes = [
        _start(["server", "--port", str(port), "--data-dir", str(work / "server")], work / "server.log")
    ]
    results: list[tuple[str, str]] = []
    try:
        _until(lambda: _healthy(endpoint), timeout=30, what="the server", every=0.1)
        ecs = _client(endpoint, "ecs")
        ecs.create_cluster(clusterName=CLUSTER)
        started = time.monotonic()
        if args.mode == "agent":
            processes.append(
                _start(
                    [
                        "agent",
                        "--simulate",
                        "--count",
                        str(args.instances),
                        "--cluster",
                        CLUSTER,
                        "--instance-type",
                        args.instance_type,
                        "--endpoint",
                        endpoint,
                    ],  # fmt: skip
                    work / "agents.log",
                )
            )
        else:
            _asg(endpoint, args.instances, args.instance_type)
        _until(
            lambda: _counts(ecs)["instances"] >= args.instances,
            timeout=args.timeout,
            what="the instances to register",
        )
        registered = time.monotonic() - started
        results.append((f"{args.instances} instances registered ({args.mode})", f"{registered:.1f}s"))
        ecs.register_task_definition(
            family="simulated",
            requiresCompatibilities=["EC2"],
            containerDefinitions=[{"name": "app", "image": "busybox", "cpu": 256, "memory": 256}],
        )
        started = time.monotonic()
        unplaced = _run_tasks(endpoint, args.tasks, args.threads)
        placed_in = time.monotonic() - started
        placed = args.tasks - unplaced
        results.append((f"{placed} tasks placed by RunTask ({unplaced} not placed)", f"{placed_in:.1f}s"))
        results.append(("  placements per second, end to end over the API", f"{placed / placed_in:.0f}/s"))
        _until(
            lambda: _counts(ecs)["running"] >= placed, timeout=args.timeout, what="every task to be RUNNING"
        )
        running_in = time.monotonic() - started
        results.append((f"{placed} tasks RUNNING (from the first RunTask)", f"{running_in:.1f}s"))
        results.append(("  tasks reaching RUNNING per second", f"{placed / running_in:.0f}/s"))
    finally:
        for process in reversed(processes):
            _stop(process)
    width = max(len(name) for name, _ in results) if results else 0
    print(f"Dockyard at scale: {args.instances} simulated {args.instance_type} instances, {args.tasks} tasks")
    print(f"(on {os.cpu_count()} CPUs; logs in {work})")
    for name, value in results:
        print(f"  {name:<{width}}  {value:>9}")
    return 0


def _healthy(endpoint: str) -> bool:
    with contextlib.suppress(OSError):
        with urllib.request.urlopen(f"{endpoint}/health", timeout=1) as response:
            return bool(response.status == 200)
    return False


if __name__ == "__main__":
    sys.exit(main())
