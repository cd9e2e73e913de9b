"""What the benchmarks share: statistics, results beside their baselines, processes, RSS, clients.

Every benchmark measures Dockyard and a baseline in the same run and reports the ratio
(Dockyard / baseline; below 1 means Dockyard is faster or smaller). The statistics helpers are
pure so tests can run them on fixed numbers. Processes started here are tracked by their pid and
stopped by it (SIGTERM, then SIGKILL after a bounded wait); nothing is killed by name.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CREDENTIALS",
    "REGION",
    "Process",
    "Result",
    "Stats",
    "child_pids",
    "client",
    "dockyard_command",
    "environment",
    "format_results",
    "free_port",
    "http_ok",
    "median",
    "percentile",
    "ratio",
    "rss_kib",
    "summarize",
    "table",
    "wait_until",
]

REGION = "us-east-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_DEFAULT_REGION": REGION,
}

# -- statistics (pure) -----------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks (numpy's default method)."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50)


@dataclass(frozen=True, slots=True)
class Stats:
    n: int
    p50: float
    p90: float
    p99: float
    mean: float
    min: float
    max: float


def summarize(samples: Sequence[float]) -> Stats:
    return Stats(
        n=len(samples),
        p50=percentile(samples, 50),
        p90=percentile(samples, 90),
        p99=percentile(samples, 99),
        mean=math.fsum(samples) / len(samples),
        min=min(samples),
        max=max(samples),
    )


def ratio(value: float, baseline: float) -> float:
    """value / baseline; NaN when the baseline is zero or missing."""
    if not baseline or math.isnan(baseline):
        return math.nan
    return value / baseline


@dataclass(frozen=True, slots=True)
class Result:
    """One measured figure beside its baseline from the same run."""

    bench: str
    metric: str
    value: float
    baseline_name: str
    baseline: float
    unit: str  # "ms" or "MiB"
    goal: float | None = None  # the highest acceptable ratio, when the issue sets one

    @property
    def ratio(self) -> float:
        return ratio(self.value, self.baseline)

    @property
    def verdict(self) -> str:
        if self.goal is None or math.isnan(self.ratio):
            return ""
        return "meets goal" if self.ratio <= self.goal else "ABOVE GOAL"


def table(rows: Sequence[Sequence[str]], *, align: str = "", indent: str = "") -> str:
    """Plain-text columns with a rule under the header; `align` has one letter per column, l or r
    (default: the first column left, the others right)."""
    count = len(rows[0])
    align = align or "l" + "r" * (count - 1)
    widths = [max(len(row[i]) for row in rows) for i in range(count)]

    def line(row: Sequence[str]) -> str:
        cells = [
            cell.ljust(width) if side == "l" else cell.rjust(width)
            for cell, width, side in zip(row, widths, align, strict=True)
        ]
        return (indent + "  ".join(cells)).rstrip()

    return "\n".join([line(rows[0]), indent + "  ".join("-" * w for w in widths), *map(line, rows[1:])])


def format_results(results: Iterable[Result]) -> str:
    """The summary table: metric, Dockyard's figure, the baseline's, the ratio and the goal."""
    rows = [["benchmark", "metric", "dockyard", "baseline", "ratio", "goal"]]
    for r in results:
        goal = f"<= {r.goal:g}x {r.verdict}" if r.goal is not None else "reported"
        rows.append(
            [
                r.bench,
                r.metric,
                f"{r.value:.1f} {r.unit}",
                f"{r.baseline:.1f} {r.unit} ({r.baseline_name})",
                f"{r.ratio:.2f}x",
                goal,
            ]
        )
    return table(rows, align="llrlrl")


# -- processes ---------------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.05) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds pass (bounded); whether it became true."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status < 500)
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


def dockyard_command(*args: str) -> list[str]:
    """`dockyard ARGS` with this interpreter (the venv's), as `make bench` runs it."""
    return [sys.executable, "-m", "dockyard", *args]


class Process:
    """A subprocess this benchmark started, with its output in a log file; stopped by its pid."""

    def __init__(self, args: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> None:
        self.args = list(args)
        self.log = log
        with open(log, "ab") as out:
            self.popen = subprocess.Popen(
                self.args,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def rss_kib(pid: int) -> int | None:
    """VmRSS of a process in KiB, from /proc/<pid>/status (None if it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def child_pids(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc/<pid>/task/*/children)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(children))


# -- clients -----------------------------------------------------------------------------------------


def client(service: str, endpoint: str, *, retries: bool = True) -> Any:
    """A boto3 client on `endpoint`; `retries=False` makes one attempt per call (latency benchmarks)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"total_max_attempts": 1}) if not retries else Config()
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=config,
    )


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, **CREDENTIALS, "PYTHONUNBUFFERED": "1", **extra}
