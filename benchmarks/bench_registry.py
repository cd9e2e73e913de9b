"""Dockyard's registry beside the CNCF distribution registry (Debian's `docker-registry` 2.8.2).

Both servers run side by side on 127.0.0.1, each on a free port with its storage in a temporary
directory on the same disk: a `dockyard server` process (as users run it; the repository is made
with ECR's CreateRepository and every client logs in with a GetAuthorizationToken password) and
`docker-registry serve` with its own config (no auth, no access log). Every measurement takes
both servers in turn, in an order that alternates between rounds, and reports Dockyard / CNCF:

1. skopeo copy, push (`oci:` layout -> `docker://`) and pull (back into a new layout), of a
   single layer of 1 MiB, 100 MiB and 1 GiB and of an 8-layer ~250 MB image, in MB/s of layer
   bytes (skopeo's own start-up included, the same for both). Each round generates fresh random
   layouts (see `_registry.write_layout`), and skopeo's blob-info cache is deleted before every
   copy, so every byte is uploaded and nothing is mounted or deduplicated. Pulled manifests must
   have the pushed digest. Dirty pages are synced before every copy (untimed) so that no copy
   pays for the writeback of the one before. The median of `--rounds` rounds is reported (the
   1 GiB layer is copied in the first `--large-rounds` of them), with each server's CPU time
   (/proc/<pid>/stat) per GB copied.
2. docker push and pull of a fresh 8-layer image (loaded into the engine with skopeo; docker
   gzips the layers again itself, so this measures the client as much as the server): wall time.
3. HEAD manifest (by tag), GET manifest (by digest) and HEAD blob at concurrency 1 on one
   keep-alive connection per server (a raw-socket client): p50 and p99 of `--requests` requests
   each, the two servers alternating (capped at `--limit` seconds per operation), after 100
   warm-up requests.
4. Server memory: VmRSS of each server process every 50 ms during every copy; the peak above the
   RSS just before the copy (the largest over the rounds) is reported, the 1 GiB upload's first.

Goals (issue): throughput at least 0.9x the CNCF registry's; manifest and blob HEAD p50 at most
1 ms; RSS flat and under 150 MB above idle during a 1 GiB upload. A missed goal is reported,
never asserted. Docker is used, so run it under the shared lock:

    flock /tmp/dockyard-docker.lock .venv/bin/python benchmarks/bench_registry.py \
        [--rounds 6] [--large-rounds 2] [--docker-rounds 2] [--requests 2000] [--limit 60]

It needs skopeo, docker-registry and the docker CLI (`scripts/system-deps.sh --test`); about
3-4 minutes and 10 GB of free disk in the temporary directory.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from _common import Result, client, environment, format_results, median, rss_kib, summarize, table
from _dockyard import LocalDockyard
from _registry import (
    OCI_MANIFEST,
    CncfRegistry,
    HttpTarget,
    Layout,
    MiB,
    RssSampler,
    app_layer_sizes,
    cpu_seconds,
    forget_blob_info,
    mb_per_s,
    peak_above,
    write_layout,
)

__all__ = ["CASES", "Case", "Figures", "main", "report", "run"]

BENCH = "registry"
BASELINE = "CNCF registry 2.8.2"
REPOSITORY = "bench/registry"
THROUGHPUT_GOAL = 0.9  # Dockyard's MB/s at least this share of the CNCF registry's
TIME_GOAL = round(1 / THROUGHPUT_GOAL, 2)  # the same goal as a ratio of times, for the summary
LATENCY_GOAL_MS = 1.0
MEMORY_GOAL_MB = 150.0
COPY_TIMEOUT = 600.0
WARMUP_REQUESTS = 100
MANIFEST_ACCEPT = ", ".join(
    [
        OCI_MANIFEST,
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    slug: str
    sizes: tuple[int, ...]
    large: bool = False


CASES = (
    Case("1 MiB layer", "1m", (MiB,)),
    Case("100 MiB layer", "100m", (100 * MiB,)),
    Case("1 GiB layer", "1g", (1024 * MiB,), large=True),
    Case("8 layers, 250 MB", "app", tuple(app_layer_sizes())),
)
LARGE = CASES[2]
APP = CASES[3]
OPERATIONS = ("HEAD manifest", "GET manifest", "HEAD blob")


@dataclass(slots=True)
class Server:
    name: str
    host: str
    pid: int
    creds: str | None  # "AWS:<password>" for Dockyard
    headers: dict[str, str] = field(default_factory=dict)

    def ref(self, tag: str) -> str:
        return f"{self.host}/{REPOSITORY}:{tag}"


@dataclass(slots=True)
class Figures:
    """Everything measured, by server name."""

    push: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # case -> server -> seconds
    pull: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    size: dict[str, int] = field(default_factory=dict)  # case -> layer bytes
    docker_push: dict[str, list[float]] = field(default_factory=dict)  # server -> seconds
    docker_pull: dict[str, list[float]] = field(default_factory=dict)
    latency: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # op -> server -> seconds
    # "<case> push|pull" -> server -> (RSS before, peak RSS during) in KiB, the largest rise of the rounds
    memory: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    cpu: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # what -> server -> CPU seconds

    def add(self, table_: dict[str, dict[str, list[float]]], case: str, server: str, value: float) -> None:
        table_.setdefault(case, {}).setdefault(server, []).append(value)


# -- running the clients ---------------------------------------------------------------------------


def _run(args: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = COPY_TIMEOUT) -> str:
    result = subprocess.run(
        list(args),
        capture_output=True,
        text=True,
        env=dict(env) if env else None,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:3])} ... failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return result.stdout


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def skopeo_push(server: Server, layout: Layout, tag: str) -> float:
    forget_blob_info()
    creds = ["--dest-creds", server.creds] if server.creds else []
    args = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", *creds]
    return _timed(lambda: _run([*args, layout.oci_ref, f"docker://{server.ref(tag)}"]))


def skopeo_pull(server: Server, tag: str, dest: Path, expected: str) -> float:
    forget_blob_info()
    creds = ["--src-creds", server.creds] if server.creds else []
    args = ["skopeo", "copy", "--quiet", "--src-tls-verify=false", *creds]
    seconds = _timed(lambda: _run([*args, f"docker://{server.ref(tag)}", f"oci:{dest}:{tag}"]))
    pulled = json.loads((dest / "index.json").read_text())["manifests"][0]["digest"]
    if pulled != expected:
        raise RuntimeError(f"{server.name}: pulled manifest {pulled}, pushed {expected}")
    return seconds


class Bench:
    """Both servers, the repository in each, and the measurements."""

    def __init__(self, workdir: Path, *, requests: int, limit: float) -> None:
        self.workdir = workdir
        self.requests = requests
        self.limit = limit
        self.cncf = CncfRegistry(workdir / "cncf")
        self.dockyard = LocalDockyard(workdir / "dockyard")
        self.servers: list[Server] = []
        self.figures = Figures()
        self.docker_env = environment(DOCKER_CONFIG=str(workdir / "docker-config"))
        self.docker_refs: list[str] = []

    def start(self) -> None:
        (self.workdir / "cncf").mkdir()
        (self.workdir / "dockyard").mkdir()
        self.cncf.start()
        self.dockyard.start()
        ecr = client("ecr", self.dockyard.endpoint)
        ecr.create_repository(repositoryName=REPOSITORY)
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        creds = base64.b64decode(token).decode()
        host = self.dockyard.endpoint.removeprefix("http://")
        assert self.dockyard.server is not None
        self.servers = [
            Server("dockyard", host, self.dockyard.server.pid, creds, {"Authorization": f"Basic {token}"}),
            Server("cncf", self.cncf.host, self.cncf.pid, None),
        ]

    def stop(self) -> None:
        if self.docker_refs:
            subprocess.run(
                ["docker", "rmi", "-f", *self.docker_refs], capture_output=True, check=False, timeout=120
            )
        self.dockyard.stop()
        self.cncf.stop()

    def order(self, turn: int) -> list[Server]:
        return self.servers if turn % 2 == 0 else self.servers[::-1]

    # -- 1 and 4: skopeo copies, with the servers' RSS sampled

    def copy_round(self, number: int, cases: Sequence[Case]) -> None:
        for index, case in enumerate(cases):
            layout = write_layout(self.workdir / f"layout-{case.slug}-{number}", case.sizes, tag="bench")
            self.figures.size[case.name] = layout.layer_bytes
            tag = f"{case.slug}-r{number}"
            for server in self.order(number + index):
                push = partial(skopeo_push, server, layout, tag)
                self.figures.add(
                    self.figures.push, case.name, server.name, self._sampled(server, case, "push", push)
                )
                dest = self.workdir / f"pulled-{server.name}"
                pull = partial(skopeo_pull, server, tag, dest, layout.manifest_digest)
                self.figures.add(
                    self.figures.pull, case.name, server.name, self._sampled(server, case, "pull", pull)
                )
                shutil.rmtree(dest, ignore_errors=True)
            shutil.rmtree(layout.path)
            print(f"  round {number + 1}: {case.name} {self._last(case.name)}", flush=True)

    def _sampled(self, server: Server, case: Case, direction: str, action: Callable[[], float]) -> float:
        """Run `action` (a copy) while sampling the server's RSS and CPU time."""
        what = f"{case.name} {direction}"
        os.sync()  # start every copy with no dirty pages left by the one before (it pays its own)
        idle = rss_kib(server.pid) or 0
        cpu = cpu_seconds(server.pid) or 0.0
        with RssSampler(server.pid, limit=COPY_TIMEOUT) as sampler:
            seconds = action()
        self.figures.add(self.figures.cpu, what, server.name, (cpu_seconds(server.pid) or 0.0) - cpu)
        peak = max(sampler.samples, default=idle)
        known = self.figures.memory.setdefault(what, {}).get(server.name)
        if known is None or peak - idle > known[1] - known[0]:
            self.figures.memory[what][server.name] = (idle, peak)
        return seconds

    def _last(self, case: str) -> str:
        size = self.figures.size[case]
        parts = []
        for server in self.servers:
            push = mb_per_s(size, self.figures.push[case][server.name][-1])
            pull = mb_per_s(size, self.figures.pull[case][server.name][-1])
            parts.append(f"{server.name} push {push:.0f} pull {pull:.0f} MB/s")
        return "; ".join(parts)

    # -- 2: docker push and pull

    def docker_round(self, number: int) -> None:
        docker = self.docker_env
        if number == 0:
            dockyard = self.servers[0]
            assert dockyard.creds is not None
            password = dockyard.creds.split(":", 1)[1]
            subprocess.run(
                ["docker", "login", "--username", "AWS", "--password-stdin", dockyard.host],
                input=password, capture_output=True, text=True, env=docker, check=True, timeout=60,
            )  # fmt: skip
        layout = write_layout(self.workdir / f"layout-docker-{number}", APP.sizes, tag="bench")
        local = f"dockyard-bench/registry:{self.dockyard.run_id}-{number}"
        tag = f"docker-r{number}"
        refs = [server.ref(tag) for server in self.servers]
        self.docker_refs += [local, *refs]
        _run(["skopeo", "copy", "--quiet", layout.oci_ref, f"docker-daemon:{local}"])
        shutil.rmtree(layout.path)
        for ref in refs:
            _run(["docker", "tag", local, ref], env=docker)
        for server in self.order(number):
            seconds = _timed(partial(_run, ["docker", "push", server.ref(tag)], env=docker))
            self.figures.docker_push.setdefault(server.name, []).append(seconds)
        _run(["docker", "rmi", local, *refs], env=docker)
        for server in self.order(number + 1):
            seconds = _timed(partial(_run, ["docker", "pull", server.ref(tag)], env=docker))
            self.figures.docker_pull.setdefault(server.name, []).append(seconds)
            _run(["docker", "rmi", server.ref(tag)], env=docker)
        line = "; ".join(
            f"{s.name} push {self.figures.docker_push[s.name][-1]:.1f} s"
            f" pull {self.figures.docker_pull[s.name][-1]:.1f} s"
            for s in self.servers
        )
        print(f"  round {number + 1}: docker {line}", flush=True)

    # -- 3: request latency at concurrency 1

    def latency(self) -> None:
        layout = write_layout(self.workdir / "layout-latency", (MiB,), tag="bench")
        for server in self.servers:
            skopeo_push(server, layout, "latency")
        paths = {
            "HEAD manifest": ("HEAD", f"/v2/{REPOSITORY}/manifests/latency"),
            "GET manifest": ("GET", f"/v2/{REPOSITORY}/manifests/{layout.manifest_digest}"),
            "HEAD blob": ("HEAD", f"/v2/{REPOSITORY}/blobs/{layout.layers[0].digest}"),
        }
        shutil.rmtree(layout.path)
        targets = {server.name: HttpTarget(server.host, server.headers) for server in self.servers}
        accept = {"Accept": MANIFEST_ACCEPT}
        try:
            for operation in OPERATIONS:
                method, path = paths[operation]
                headers = accept if "manifest" in operation else {}
                requests = {name: target.request(method, path, headers) for name, target in targets.items()}
                head = method == "HEAD"
                for _ in range(WARMUP_REQUESTS):
                    for name, target in targets.items():
                        target.time(requests[name], head=head)
                deadline = time.monotonic() + self.limit
                samples: dict[str, list[float]] = {name: [] for name in targets}
                for number in range(self.requests):
                    for server in self.order(number):
                        samples[server.name].append(
                            targets[server.name].time(requests[server.name], head=head)
                        )
                    if time.monotonic() > deadline:
                        print(f"  {operation}: stopped after {number + 1} requests ({self.limit:.0f} s cap)")
                        break
                self.figures.latency[operation] = samples
                line = "; ".join(
                    f"{name} p50 {summarize(s).p50 * 1000:.3f} ms" for name, s in samples.items()
                )
                print(f"  {operation}: {line}", flush=True)
        finally:
            for target in targets.values():
                target.close()


# -- report ----------------------------------------------------------------------------------------


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _copy_report(figures: Figures) -> list[Result]:
    rows = [["skopeo copy (median)", "dockyard MB/s", "cncf MB/s", "dockyard/cncf", "goal >= 0.9x"]]
    results: list[Result] = []
    for direction, samples in (("push", figures.push), ("pull", figures.pull)):
        for case, by_server in samples.items():
            ours, theirs = median(by_server["dockyard"]), median(by_server["cncf"])
            speed, baseline = mb_per_s(figures.size[case], ours), mb_per_s(figures.size[case], theirs)
            verdict = _verdict(speed >= THROUGHPUT_GOAL * baseline)
            rows.append(
                [
                    f"{direction} {case}",
                    f"{speed:.1f}",
                    f"{baseline:.1f}",
                    f"{speed / baseline:.2f}x",
                    verdict,
                ]
            )
            metric = f"skopeo {direction} {case} (time)"
            results.append(Result(BENCH, metric, ours * 1000, BASELINE, theirs * 1000, "ms", TIME_GOAL))
    print(table(rows))
    rows = [["server CPU-s per GB (median)", "dockyard", "cncf", "dockyard/cncf"]]
    for what, cpu in figures.cpu.items():
        gigabytes = figures.size[what.rsplit(" ", 1)[0]] / 1e9
        if gigabytes < 0.05:  # CPU time comes in 10 ms ticks: too coarse for a 1 MiB copy
            continue
        ours, theirs = median(cpu["dockyard"]) / gigabytes, median(cpu["cncf"]) / gigabytes
        rows.append([what, f"{ours:.2f}", f"{theirs:.2f}", f"{ours / theirs:.2f}x" if theirs else "-"])
    print(table(rows))
    return results


def _docker_report(figures: Figures) -> list[Result]:
    rows = [["docker (median)", "dockyard s", "cncf s", "dockyard/cncf"]]
    results: list[Result] = []
    for what, samples in (("push", figures.docker_push), ("pull", figures.docker_pull)):
        ours, theirs = median(samples["dockyard"]), median(samples["cncf"])
        rows.append([f"{what} {APP.name}", f"{ours:.2f}", f"{theirs:.2f}", f"{ours / theirs:.2f}x"])
        results.append(Result(BENCH, f"docker {what} {APP.name}", ours * 1000, BASELINE, theirs * 1000, "ms"))
    print(table(rows))
    return results


def _latency_report(figures: Figures) -> list[Result]:
    rows = [["c=1 latency (ms)", "n", "dockyard p50", "p99", "cncf p50", "p99", "p50 ratio", "p50 <= 1 ms"]]
    results: list[Result] = []
    for operation, by_server in figures.latency.items():
        ours = summarize([s * 1000 for s in by_server["dockyard"]])
        theirs = summarize([s * 1000 for s in by_server["cncf"]])
        rows.append(
            [operation, str(ours.n), f"{ours.p50:.3f}", f"{ours.p99:.3f}", f"{theirs.p50:.3f}",
             f"{theirs.p99:.3f}", f"{ours.p50 / theirs.p50:.2f}x", _verdict(ours.p50 <= LATENCY_GOAL_MS)]
        )  # fmt: skip
        results += [
            Result(BENCH, f"{operation} p50", ours.p50, f"{BASELINE} p50", theirs.p50, "ms"),
            Result(BENCH, f"{operation} p99", ours.p99, f"{BASELINE} p99", theirs.p99, "ms"),
        ]
    print(table(rows))
    return results


def _memory_report(figures: Figures) -> list[Result]:
    rows = [["server RSS (MiB)", "dockyard idle", "peak above", "cncf idle", "peak above", "< 150 MB"]]
    results: list[Result] = []
    for what, by_server in figures.memory.items():
        (ours_idle, ours_peak), (their_idle, their_peak) = by_server["dockyard"], by_server["cncf"]
        ours, theirs = peak_above(ours_idle, [ours_peak]), peak_above(their_idle, [their_peak])
        rows.append(
            [what, f"{ours_idle / 1024:.1f}", f"{ours:.1f}", f"{their_idle / 1024:.1f}", f"{theirs:.1f}",
             _verdict(ours * MiB < MEMORY_GOAL_MB * 1e6)]
        )  # fmt: skip
        if what == f"{LARGE.name} push":
            results += [
                Result(BENCH, "RSS above idle, 1 GiB push", ours, BASELINE, theirs, "MiB"),
                Result(BENCH, "RSS peak, 1 GiB push", ours_peak / 1024, BASELINE, their_peak / 1024, "MiB"),
            ]
    print(table(rows))
    return results


def report(figures: Figures) -> list[Result]:
    """Print the tables (each Dockyard figure beside the CNCF registry's) and return the results."""
    results: list[Result] = []
    if figures.push:
        results += _copy_report(figures)
    if figures.docker_push:
        results += _docker_report(figures)
    if figures.latency:
        results += _latency_report(figures)
    if figures.memory:
        results += _memory_report(figures)
    return results


def run(
    rounds: int = 6,
    docker_rounds: int = 2,
    *,
    large_rounds: int = 2,
    requests: int = 2000,
    limit: float = 60.0,
) -> list[Result]:
    """Measure both servers: `rounds` of skopeo copies (the 1 GiB layer in the first
    `large_rounds` of them), `docker_rounds` of docker push and pull, then `requests` timed
    requests of each kind (at most `limit` seconds each)."""
    for tool in ("skopeo", "docker-registry", *(["docker"] if docker_rounds else [])):
        if shutil.which(tool) is None:
            raise RuntimeError(f"bench_registry: {tool} is needed (scripts/system-deps.sh --test)")
    print(f"registry benchmark: Dockyard beside {CncfRegistry.version()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-registry-") as tmp:
        bench = Bench(Path(tmp), requests=requests, limit=limit)
        try:
            bench.start()
            for number in range(rounds):
                bench.copy_round(number, [case for case in CASES if number < large_rounds or not case.large])
            for number in range(docker_rounds):
                bench.docker_round(number)
            bench.latency()
        except BaseException:
            print(bench.dockyard.tails())
            print(bench.cncf.process.output()[-3000:] if bench.cncf.process else "")
            raise
        finally:
            bench.stop()
    return report(bench.figures)


def main(argv: Sequence[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description="Dockyard's registry beside the CNCF registry 2.8.2.")
    parser.add_argument("--rounds", type=int, default=6, help="skopeo push+pull rounds (default 6)")
    parser.add_argument(
        "--large-rounds",
        type=int,
        default=2,
        help="rounds that also copy the 1 GiB layer (default 2; 0: none)",
    )
    parser.add_argument(
        "--docker-rounds", type=int, default=2, help="docker push+pull rounds (default 2; 0: no docker)"
    )
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per operation (2000)")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds at most per operation (60)")
    args = parser.parse_args(argv)
    results = run(
        args.rounds,
        args.docker_rounds,
        large_rounds=args.large_rounds,
        requests=args.requests,
        limit=args.limit,
    )
    print(format_results(results))
    return results


if __name__ == "__main__":
    main()
