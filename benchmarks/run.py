"""Run every benchmark and print one summary: each figure beside its same-run baseline, as a ratio.

    .venv/bin/python benchmarks/run.py                  # what `make bench` runs
    .venv/bin/python benchmarks/run.py --only api-latency,idle-memory --quick

The benchmarks run one after another (idle memory first, while the machine is quietest). A goal
that is missed is reported, never turned into a failure: the exit status is non-zero only when a
benchmark could not run.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable, Sequence

import bench_api_latency
import bench_idle_memory
import bench_lb
import bench_lb_deploy
import bench_logs
import bench_registry
import bench_run_task
import bench_service
import bench_telemetry
from _common import Result, format_results

__all__ = ["BENCHMARKS", "main"]

# name -> (full run, quick run)
BENCHMARKS: dict[str, tuple[Callable[[], list[Result]], Callable[[], list[Result]]]] = {
    "idle-memory": (lambda: bench_idle_memory.run(idle=5.0), lambda: bench_idle_memory.run(idle=2.0)),
    "api-latency": (
        lambda: bench_api_latency.run(calls=500, warmup=50),
        lambda: bench_api_latency.run(calls=50, warmup=10),
    ),
    "run-task": (
        lambda: bench_run_task.run(tasks=20, warmup=2),
        lambda: bench_run_task.run(tasks=3, warmup=1),
    ),
    "service": (
        lambda: bench_service.run(rounds=3, tasks=10),
        lambda: bench_service.run(rounds=1, tasks=3),
    ),
    "load-balancer": (
        lambda: bench_lb.run(seconds=5.0, rounds=3)[0],
        lambda: bench_lb.run(seconds=1.0, rounds=1)[0],
    ),
    "lb-deploy": (lambda: bench_lb_deploy.run(rounds=2), lambda: bench_lb_deploy.run(rounds=1)),
    "telemetry": (lambda: bench_telemetry.run(rounds=5), lambda: bench_telemetry.run(rounds=1)),
    "logs": (lambda: bench_logs.run(lines=200_000, rounds=3), lambda: bench_logs.run(lines=5_000, rounds=1)),
    "registry": (
        lambda: bench_registry.run(rounds=6, docker_rounds=2, large_rounds=2, requests=2000),
        lambda: bench_registry.run(rounds=1, docker_rounds=1, large_rounds=0, requests=200),
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Dockyard's benchmarks.")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="few samples: checks the benchmarks run")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    results: list[Result] = []
    failed: list[str] = []
    for name in chosen:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            results += BENCHMARKS[name][1 if args.quick else 0]()
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"   ({time.monotonic() - started:.0f}s)\n", flush=True)
    print("== summary (ratio = Dockyard / baseline; below 1 is faster or smaller)")
    print(format_results(results))
    if failed:
        print(f"could not run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
