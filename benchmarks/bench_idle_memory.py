"""Idle memory of `dockyard up` (server + Fargate pool agent) beside moto_server and a bare Python.

Three processes start together and idle side by side:

- `dockyard up --port <free> --data-dir <tmp>`: the server process and the Fargate pool agent it
  starts (its child process), measured separately and together;
- `moto_server` on a free loopback port (the same interpreter and venv);
- a bare Python: `import aiohttp, botocore.session`, then sleep (what any aiohttp + botocore
  service costs before it does anything).

Once Dockyard says it is up (and its pool agent has written its state file) and moto answers,
each server gets one ECS call (ListClusters, so both have loaded their ECS layer); then all idle
for `--idle` seconds while VmRSS (from /proc/<pid>/status) is sampled every half second. The
figure is the last sample; the peak during the idle window is printed too. Everything is stopped
by pid afterwards.

    .venv/bin/python benchmarks/bench_idle_memory.py [--idle 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from _common import (
    Process,
    Result,
    child_pids,
    client,
    dockyard_command,
    environment,
    format_results,
    free_port,
    rss_kib,
    wait_until,
)

__all__ = ["BARE_PYTHON", "main", "memory_results", "run", "to_mib"]

BENCH = "idle-memory"
BARE_PYTHON = (
    "import aiohttp, botocore.session, sys, time; print('ready', flush=True); time.sleep(float(sys.argv[1]))"
)
SERVER, AGENT, TOTAL, MOTO, BARE = (
    "dockyard server",
    "fargate pool agent",
    "dockyard up (server + agent)",
    "moto_server",
    "bare python",
)


def to_mib(kib: int) -> float:
    return kib / 1024


def memory_results(rss: Mapping[str, int]) -> list[Result]:
    """rss[name] (KiB, last idle sample) -> Results with their baselines."""
    mib = {name: to_mib(value) for name, value in rss.items()}
    pairs = [
        (TOTAL, MOTO),
        (SERVER, MOTO),
        (SERVER, BARE),
        (AGENT, BARE),
    ]
    return [
        Result(BENCH, f"{name} RSS", mib[name], baseline, mib[baseline], "MiB")
        for name, baseline in pairs
        if name in mib and baseline in mib
    ]


def run(idle: float = 5.0, interval: float = 0.5) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-mem-") as tmp:
        workdir = Path(tmp)
        env = environment()
        port, moto_port = free_port(), free_port()
        budget = idle + 120  # bounded: start-up waits plus the idle window
        processes = [
            Process(
                dockyard_command("up", "--port", str(port), "--data-dir", str(workdir / "data")),
                workdir / "up.log",
                env,
            ),
            Process(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                workdir / "moto.log",
                env,
            ),
            Process([sys.executable, "-c", BARE_PYTHON, str(budget)], workdir / "bare.log", env),
        ]
        up, moto, bare = processes
        try:
            pids = _ready(up, moto, bare, port, moto_port, workdir / "data")
            samples: dict[str, list[int]] = {name: [] for name in (SERVER, AGENT, MOTO, BARE, TOTAL)}
            deadline = time.monotonic() + idle
            while True:
                now = {name: rss_kib(pid) or 0 for name, pid in pids.items()}
                now[TOTAL] = now[SERVER] + now[AGENT]
                for name, value in now.items():
                    samples[name].append(value)
                if time.monotonic() >= deadline:
                    break
                time.sleep(interval)
            if not up.alive() or not all(rss_kib(pid) for pid in pids.values()):
                raise RuntimeError(f"a process exited while idle:\n{up.output()[-3000:]}")
        finally:
            for process in processes:
                process.stop()
    last = {name: values[-1] for name, values in samples.items()}
    print(f"Idle RSS after {idle:g}s idle (MiB; sampled every {interval:g}s)")
    for name, values in samples.items():
        print(f"  {name:30} {to_mib(values[-1]):7.1f}  (peak {to_mib(max(values)):.1f})")
    print(f'  bare python is: python -c "{BARE_PYTHON}"')
    return memory_results(last)


def _ready(
    up: Process, moto: Process, bare: Process, port: int, moto_port: int, data_dir: Path
) -> dict[str, int]:
    """Wait (bounded) until all three are up; one ECS call to each server; the pids to sample.

    The pool agent is up once it has written its state file: it does so at the end of its set-up
    (pause image, VPC network, metadata endpoint), just before it starts polling for work."""
    if not wait_until(lambda: "Dockyard is up" in up.output() or not up.alive(), timeout=90):
        raise RuntimeError(f"dockyard up did not start:\n{up.output()}")
    agents: list[int] = []

    def agent_started() -> bool:
        agents[:] = child_pids(up.pid)
        return bool(agents) or not up.alive()

    if not up.alive() or not wait_until(agent_started, timeout=30) or not agents:
        raise RuntimeError(f"dockyard up did not start its Fargate pool agent:\n{up.output()}")
    state = data_dir / "agents" / "fargate" / "state.json"
    if not wait_until(lambda: state.exists() or not up.alive(), timeout=60) or not up.alive():
        raise RuntimeError(f"the Fargate pool agent did not finish its set-up:\n{up.output()}")
    moto_ecs = client("ecs", f"http://127.0.0.1:{moto_port}")

    def moto_answers() -> bool:
        try:
            moto_ecs.list_clusters()
            return True
        except Exception:
            return not moto.alive()

    if not wait_until(moto_answers, timeout=60, interval=0.1) or not moto.alive():
        raise RuntimeError(f"moto_server did not start:\n{moto.output()}")
    client("ecs", f"http://127.0.0.1:{port}").list_clusters()
    if not wait_until(lambda: "ready" in bare.output() or not bare.alive(), timeout=30) or not bare.alive():
        raise RuntimeError(f"the bare python did not start:\n{bare.output()}")
    return {SERVER: up.pid, AGENT: agents[0], MOTO: moto.pid, BARE: bare.pid}


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description="Idle memory of dockyard up beside moto_server.")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before the figure is taken")
    args = parser.parse_args(argv)
    results = run(args.idle)
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
