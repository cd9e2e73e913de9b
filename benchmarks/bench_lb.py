"""Load balancer data plane: requests/s and latency through a Dockyard ALB, in the same run as
the target alone and a plain HAProxy with a static configuration in front of the same target.

    .venv/bin/python benchmarks/bench_lb.py [--seconds 5] [--rounds 3] [--connections 50] [--no-pin]

- target: a static origin (HAProxy answering `200 ok` itself, one thread) on the address of a
  simulated EC2 instance (127.1.x.y), so the ELBv2 API accepts it as an instance target;
- direct: wrk straight to the target;
- plain haproxy: `haproxy -f` with a frontend and one server, nothing else (the baseline);
- dockyard alb: `dockyard server` (a subprocess, as users run it) with a load balancer, target
  group, listener and the instance registered through the ELBv2 API; HAProxy as Dockyard
  renders it (ALB headers, rules, health checks, the fail-open twin).

Every scenario runs `--rounds` times for `--seconds` with wrk (keep-alive): loaded, with
`--connections` (throughput, the proxy's CPU per request read from /proc, p99), then on one
connection (the latency a request sees without queueing); in an order that rotates each round;
the medians are reported. Unless `--no-pin`, wrk and the target
run on CPU 0 and the proxy under test on CPU 1 (with two cores, as the reference measurement did).
Goals: at least 0.9x plain HAProxy's throughput, at most 0.5 ms added p50 (one connection).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
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
    http_ok,
    median,
    table,
    wait_until,
)

from dockyard.lb.config import Paths
from dockyard.lb.haproxy import HAProxy

__all__ = ["WrkRun", "parse_wrk", "run", "main", "SCENARIOS"]

BENCH = "load-balancer"
SCENARIOS = ("direct", "plain haproxy", "dockyard alb")
THROUGHPUT_GOAL = 0.9  # of plain HAProxy's requests/s
ADDED_P50_GOAL_MS = 0.5
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}

log = logging.getLogger("bench_lb")


@dataclass(frozen=True, slots=True)
class WrkRun:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    proxy_cpu_us: float = math.nan  # CPU time of the proxy (or target) per request


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkRun:
    """wrk --latency's report: requests/s, the 50% and 99% latencies, socket errors and non-2xx."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    if rate is None or p50 is None or p99 is None:
        raise ValueError(f"unexpected wrk output:\n{output}")
    errors = 0
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    total = re.search(r"(\d+) requests in", output)
    requests = int(total.group(1)) if total else 0
    return WrkRun(float(rate.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), errors, requests)


def _cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of processes and their children (from /proc/<pid>/stat)."""
    total = 0.0
    seen: set[int] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        todo += child_pids(pid)
    return total


def _pinned(cpu: int | None, command: Sequence[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *command] if cpu is not None else list(command)


def _haproxy_config(path: Path, address: str, port: int, body: str) -> Path:
    path.write_text(
        "global\n    nbthread 1\n\ndefaults\n    mode http\n    timeout connect 10s\n"
        "    timeout client 60s\n    timeout server 60s\n\n"
        f"frontend main\n    bind {address}:{port}\n{body}"
    )
    return path


def _wrk(url: str, *, seconds: float, connections: int, cpu: int | None, measured: Sequence[int]) -> WrkRun:
    """One wrk run against `url`, with the CPU the `measured` processes spent per request."""
    command = _pinned(cpu, ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", url])
    before = _cpu_seconds(measured)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    spent = _cpu_seconds(measured) - before
    run = parse_wrk(done.stdout)
    return replace(run, proxy_cpu_us=spent * 1e6 / run.requests if run.requests else math.nan)


class _Dockyard:
    """`dockyard server` with simulated instances, its hosts file and HAProxy in a work directory."""

    def __init__(self, workdir: Path, cpu: int | None) -> None:
        self.workdir = workdir
        self.cpu = cpu
        self.endpoint = f"http://127.0.0.1:{free_port()}"
        port = self.endpoint.rsplit(":", 1)[1]
        env = environment(DOCKYARD_HOSTS_FILE=str(workdir / "hosts"))
        (workdir / "hosts").write_text("")
        command = dockyard_command(
            "server", "--port", port, "--data-dir", str(workdir / "db"), "--simulate-instances"
        )
        self.process = Process(_pinned(cpu, command), workdir / "server.log", env)
        if not wait_until(lambda: http_ok(f"{self.endpoint}/health"), timeout=60):
            raise RuntimeError(f"dockyard server did not start:\n{self.process.output()}")
        self.ec2 = client("ec2", self.endpoint)
        self.elb = client("elbv2", self.endpoint)

    def instance_address(self) -> str:
        found = self.ec2.run_instances(
            ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro"
        )
        self.instance = found["Instances"][0]
        return str(self.instance["PrivateIpAddress"])

    def load_balancer(self, target_port: int) -> str:
        """Create the ALB through the API; its URL once the target is healthy."""
        subnets = self.ec2.describe_subnets()["Subnets"]
        lb = self.elb.create_load_balancer(Name="bench", Subnets=[s["SubnetId"] for s in subnets[:2]])
        lb = lb["LoadBalancers"][0]
        group = self.elb.create_target_group(
            Name="bench",
            Protocol="HTTP",
            Port=80,
            VpcId=subnets[0]["VpcId"],
            HealthCheckIntervalSeconds=5,
            HealthCheckTimeoutSeconds=2,
            HealthyThresholdCount=2,
        )["TargetGroups"][0]
        port = free_port()
        self.elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
        )
        self.elb.register_targets(
            TargetGroupArn=group["TargetGroupArn"],
            Targets=[{"Id": self.instance["InstanceId"], "Port": target_port}],
        )

        def healthy() -> bool:
            found = self.elb.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
            return bool(found["TargetHealthDescriptions"][0]["TargetHealth"]["State"] == "healthy")

        if not wait_until(healthy, timeout=60, interval=0.5):
            raise RuntimeError("the target did not become healthy")
        if self.cpu is not None:  # HAProxy inherited CPU 1 (one thread); the idle server moves away
            subprocess.run(
                ["taskset", "-a", "-p", "-c", "0", str(self.process.pid)], capture_output=True, check=True
            )
        lines = (self.workdir / "hosts").read_text().splitlines()
        address = next(line.split()[0] for line in lines if line.endswith(" " + lb["DNSName"]))
        return f"http://{address}:{port}/"

    def haproxy_pid(self) -> int | None:
        try:
            return int((self.workdir / "db" / "lb" / "haproxy.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        self.process.stop()
        lb_dir = self.workdir / "db" / "lb"
        asyncio.run(HAProxy("haproxy", Paths(lb_dir, lb_dir)).stop())  # it outlives the server


def _threads(pid: int | None) -> str:
    """Where a process (and its children) may run and how many threads each has."""
    if pid is None:
        return "not running"
    out = []
    for each in [pid, *child_pids(pid)]:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        out.append(
            f"pid {each}: {fields['Threads'].strip()} threads on CPUs {fields['Cpus_allowed_list'].strip()}"
        )
    return "; ".join(out)


def run(
    *, seconds: float = 5.0, rounds: int = 3, connections: int = 50, pin: bool = True
) -> tuple[list[Result], dict[str, list[WrkRun]], dict[str, list[WrkRun]]]:
    """(results, loaded runs, runs on one connection) per scenario."""
    for tool in ("wrk", "haproxy", *(["taskset"] if pin else [])):
        if shutil.which(tool) is None:
            raise RuntimeError(f"bench_lb needs {tool} (scripts/system-deps.sh --test installs it)")
    load_cpu, proxy_cpu = (0, 1) if pin else (None, None)
    loaded: dict[str, list[WrkRun]] = {name: [] for name in SCENARIOS}
    single: dict[str, list[WrkRun]] = {name: [] for name in SCENARIOS}
    with tempfile.TemporaryDirectory(prefix="bench-lb-") as tmp:
        workdir = Path(tmp)
        dockyard = _Dockyard(workdir, proxy_cpu)
        processes: list[Process] = []
        try:
            target_address = dockyard.instance_address()
            target_port = free_port(target_address)
            origin = _haproxy_config(
                workdir / "origin.cfg",
                target_address,
                target_port,
                '    http-request return status 200 content-type text/plain string "ok"\n',
            )
            processes.append(
                Process(_pinned(load_cpu, ["haproxy", "-f", str(origin)]), workdir / "origin.log")
            )
            plain_port = free_port("127.0.196.1")
            plain = _haproxy_config(
                workdir / "plain.cfg",
                "127.0.196.1",
                plain_port,
                "    default_backend target\n\nbackend target\n"
                f"    server s1 {target_address}:{target_port}\n",
            )
            processes.append(
                Process(_pinned(proxy_cpu, ["haproxy", "-f", str(plain)]), workdir / "plain.log")
            )
            urls = {
                "direct": f"http://{target_address}:{target_port}/",
                "plain haproxy": f"http://127.0.196.1:{plain_port}/",
                "dockyard alb": dockyard.load_balancer(target_port),
            }
            for name, url in urls.items():
                if not wait_until(functools.partial(http_ok, url), timeout=30):
                    raise RuntimeError(f"{name} ({url}) does not answer")
            haproxy = dockyard.haproxy_pid()
            measured = {
                "direct": [processes[0].pid],  # the target itself
                "plain haproxy": [processes[1].pid],
                "dockyard alb": [haproxy] if haproxy is not None else [],
            }
            log.info("dockyard's HAProxy: %s", _threads(haproxy))
            for round_ in range(rounds):
                order = SCENARIOS[round_ % 3 :] + SCENARIOS[: round_ % 3]
                for name in order:
                    for count, runs in ((connections, loaded), (1, single)):
                        result = _wrk(
                            urls[name],
                            seconds=seconds,
                            connections=count,
                            cpu=load_cpu,
                            measured=measured[name],
                        )
                        runs[name].append(result)
                        log.info("%s round %d, %d connections: %s", name, round_ + 1, count, result)
        finally:
            for process in processes:
                process.stop()
            dockyard.stop()
    log.info(
        "loaded: medians of %d runs of %gs, %d connections:\n%s", rounds, seconds, connections, report(loaded)
    )
    log.info("one connection: medians of %d runs of %gs:\n%s", rounds, seconds, report(single))
    return _results(loaded, single), loaded, single


def _medians(samples: Mapping[str, Sequence[WrkRun]], field: str) -> dict[str, float]:
    return {name: median([getattr(s, field) for s in runs]) for name, runs in samples.items()}


def _results(loaded: Mapping[str, Sequence[WrkRun]], single: Mapping[str, Sequence[WrkRun]]) -> list[Result]:
    """Loaded: time per request (1/throughput) and proxy CPU per request against plain HAProxy
    (goal: 0.9x its throughput), p99; one connection: p50 against the target alone and plain HAProxy."""
    us = {name: 1e6 / rate for name, rate in _medians(loaded, "requests_per_second").items()}
    cpu = _medians(loaded, "proxy_cpu_us")
    p99 = _medians(loaded, "p99_ms")
    p50 = _medians(single, "p50_ms")
    alb, plain, direct = "dockyard alb", "plain haproxy", "direct"
    goal = 1 / THROUGHPUT_GOAL
    return [
        Result(BENCH, "time per request (1/throughput)", us[alb], plain, us[plain], "us", goal),
        Result(BENCH, "proxy CPU per request", cpu[alb], plain, cpu[plain], "us", goal),
        Result(BENCH, "p99 latency, loaded", p99[alb], plain, p99[plain], "ms"),
        Result(BENCH, "p50 latency, 1 connection", p50[alb], plain, p50[plain], "ms"),
        Result(BENCH, "p50 latency, 1 connection", p50[alb], direct, p50[direct], "ms"),
    ]


def report(samples: Mapping[str, Sequence[WrkRun]]) -> str:
    rows = [["scenario", "requests/s", "CPU us/request", "p50 ms", "p99 ms", "errors"]]
    for name, runs in samples.items():
        rows.append(
            [
                name,
                f"{median([r.requests_per_second for r in runs]):,.0f}",
                f"{median([r.proxy_cpu_us for r in runs]):.1f}",
                f"{median([r.p50_ms for r in runs]):.3f}",
                f"{median([r.p99_ms for r in runs]):.3f}",
                str(sum(r.errors for r in runs)),
            ]
        )
    return table(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each scenario (medians reported)")
    parser.add_argument("--connections", type=int, default=50, help="wrk's keep-alive connections")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the load and the proxy to CPUs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results, _, _ = run(
        seconds=args.seconds, rounds=args.rounds, connections=args.connections, pin=not args.no_pin
    )
    by_name = {(r.metric, r.baseline_name): r for r in results}
    rps_ratio = 1 / by_name[("time per request (1/throughput)", "plain haproxy")].ratio
    cpu_ratio = 1 / by_name[("proxy CPU per request", "plain haproxy")].ratio
    direct = by_name[("p50 latency, 1 connection", "direct")]
    plain = by_name[("p50 latency, 1 connection", "plain haproxy")]
    added, plain_added = direct.value - direct.baseline, plain.baseline - direct.baseline
    print(format_results(results))
    print()
    for what, value in (("throughput", rps_ratio), ("throughput per CPU", cpu_ratio)):
        verdict = "meets goal" if value >= THROUGHPUT_GOAL else "BELOW GOAL"
        print(f"{what}: {value:.2f}x plain HAProxy's (goal >= {THROUGHPUT_GOAL}x): {verdict}")
    verdict = "meets goal" if added <= ADDED_P50_GOAL_MS else "ABOVE GOAL"
    print(
        f"added p50 on one connection: {added:.3f} ms over the target alone (plain HAProxy adds "
        f"{plain_added:.3f} ms; goal <= {ADDED_P50_GOAL_MS} ms): {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
