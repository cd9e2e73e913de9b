"""The benchmarks stay importable and their pure helpers compute the right figures on fixed numbers.

Nothing here runs a benchmark or times anything: no Docker, no servers, no timing assertions.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import io
import json
import math
import sys
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
MODULES = (
    "_common",
    "_dockyard",
    "_registry",
    "_timeline",
    "bench_api_latency",
    "bench_idle_memory",
    "bench_lb",
    "bench_lb_deploy",
    "bench_logs",
    "bench_registry",
    "bench_run_task",
    "bench_service",
    "bench_telemetry",
    "run",
)


@pytest.fixture(scope="module")
def bench() -> Iterator[dict[str, ModuleType]]:
    """The benchmark modules, imported as `benchmarks/run.py` imports them (their folder on sys.path)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield {name: importlib.import_module(name) for name in MODULES}
    finally:
        sys.path.remove(str(BENCHMARKS))
        for name in MODULES:
            sys.modules.pop(name, None)


def test_percentiles_interpolate_between_ranks(bench: dict[str, ModuleType]) -> None:
    common = bench["_common"]
    samples = [float(n) for n in range(10, 0, -1)]  # 10..1, unsorted on purpose
    assert common.percentile(samples, 50) == pytest.approx(5.5)
    assert common.percentile(samples, 90) == pytest.approx(9.1)
    assert common.percentile(samples, 99) == pytest.approx(9.91)
    assert common.percentile(samples, 0) == 1.0 and common.percentile(samples, 100) == 10.0
    assert common.percentile([7.0], 90) == 7.0
    stats = common.summarize(samples)
    assert (stats.n, stats.p50, stats.mean, stats.min, stats.max) == (10, 5.5, 5.5, 1.0, 10.0)
    with pytest.raises(ValueError):
        common.percentile([], 50)
    with pytest.raises(ValueError):
        common.percentile([1.0], 101)


def test_results_carry_their_ratio_and_verdict(bench: dict[str, ModuleType]) -> None:
    common = bench["_common"]
    fast = common.Result("b", "p50", 3.0, "moto p50", 6.0, "ms", 1.0)
    slow = common.Result("b", "p90", 9.0, "docker p90", 4.0, "ms", 1.5)
    plain = common.Result("b", "rss", 50.0, "bare", 40.0, "MiB")
    assert fast.ratio == 0.5 and fast.verdict == "meets goal"
    assert slow.ratio == 2.25 and slow.verdict == "ABOVE GOAL"
    assert plain.ratio == 1.25 and plain.verdict == ""
    assert math.isnan(common.ratio(1.0, 0.0))
    text = common.format_results([fast, slow, plain])
    lines = text.splitlines()
    assert lines[0].split() == ["benchmark", "metric", "dockyard", "baseline", "ratio", "goal"]
    assert "0.50x" in lines[2] and "meets goal" in lines[2]
    assert "2.25x" in lines[3] and "ABOVE GOAL" in lines[3]
    assert "1.25x" in lines[4] and "reported" in lines[4]


def test_docker_timestamps_keep_their_nanoseconds(bench: dict[str, ModuleType]) -> None:
    parse = bench["_timeline"].parse_docker_time
    whole = datetime(2026, 11, 21, 21, 52, 42, tzinfo=UTC).timestamp()
    assert parse("2026-11-21T21:52:42.123456789Z") == pytest.approx(whole + 0.123456789, abs=1e-6)
    assert parse("2026-11-21T21:52:42Z") == whole


def test_phases_add_up_to_the_observed_latency(bench: dict[str, ModuleType]) -> None:
    timeline = bench["_timeline"]
    task = {"createdAt": 100.002, "pullStartedAt": 100.007, "pullStoppedAt": 100.017, "startedAt": 100.260}
    bridge = timeline.task_phases(called=100.0, seen=100.268, task=task, app=(100.020, 100.255))
    assert sum(bridge.values()) == pytest.approx(0.268)
    assert bridge["image pull attempt"] == pytest.approx(0.010)
    assert bridge["docker create -> process started"] == pytest.approx(0.235)
    fargate = timeline.task_phases(
        called=100.0,
        seen=100.468,
        task=task | {"startedAt": 100.460},
        app=(100.330, 100.455),
        pause=(100.019, 100.320),
    )
    assert sum(fargate.values()) == pytest.approx(0.468)
    assert fargate["pause: docker create -> process started"] == pytest.approx(0.301)
    docker = timeline.docker_phases(called=200.0, returned=200.25, app=(200.012, 200.244))
    assert list(docker) == [
        "CLI call -> container created",
        "docker create -> process started",
        "process started -> CLI returns",
    ]
    assert sum(docker.values()) == pytest.approx(0.25)
    pair = timeline.docker_phases(called=0.0, returned=0.4, app=(0.29, 0.39), pause=(0.01, 0.27))
    assert sum(pair.values()) == pytest.approx(0.4)
    table = timeline.phase_table(
        {
            "docker": [timeline.Sample(0.25, phases=docker)],
            "docker x2": [timeline.Sample(0.4, phases=pair)],
        }
    )
    rows = [line.strip().split("  ")[0] for line in table.splitlines()[2:]]
    assert rows == [
        "CLI call -> container created",
        "CLI call -> pause container created",
        "pause: docker create -> process started",
        "pause started -> app container created",
        "docker create -> process started",
        "process started -> CLI returns",
        "total, as the client saw it",
    ]


def test_run_task_report_ratios(bench: dict[str, ModuleType], capsys: pytest.CaptureFixture[str]) -> None:
    rt, timeline = bench["bench_run_task"], bench["_timeline"]

    def samples(seconds: list[float], server: bool) -> list[object]:
        return [timeline.Sample(s, server=s - 0.01 if server else None, phases={"x": s}) for s in seconds]

    fixed = {
        rt.DOCKER: samples([0.20, 0.20, 0.30], False),
        rt.DOCKER_PAIR: samples([0.40, 0.40, 0.40], False),
        rt.BRIDGE: samples([0.25, 0.25, 0.25], True),
        rt.FARGATE: samples([0.50, 0.50, 0.50], True),
    }
    results = {r.metric: r for r in rt.report(fixed)}
    assert results["bridge p50"].ratio == pytest.approx(1.25)
    assert results["bridge p50"].verdict == "meets goal"
    assert results["fargate p50"].value == pytest.approx(500.0)
    assert results["fargate p90"].baseline == pytest.approx(280.0)
    assert results["bridge startedAt-createdAt p50"].value == pytest.approx(240.0)
    assert "median phase (ms)" in capsys.readouterr().out


def test_api_latency_pairs_each_dockyard_with_its_moto(bench: dict[str, ModuleType]) -> None:
    api, common = bench["bench_api_latency"], bench["_common"]
    ours = common.summarize([1.0, 2.0, 3.0])
    theirs = common.summarize([2.0, 4.0, 6.0])
    stats = {}
    for dockyard, moto in api.PAIRS:
        stats[dockyard] = {op: ours for op in api.OPERATIONS}
        stats[moto] = {op: theirs for op in api.OPERATIONS}
    results = api.pair_results(stats)
    assert len(results) == len(api.PAIRS) * len(api.OPERATIONS) * 3
    assert {r.ratio for r in results} == {0.5}
    assert {r.verdict for r in results} == {"meets goal"}
    assert api.pair_results({}) == []


def test_idle_memory_ratios(bench: dict[str, ModuleType]) -> None:
    mem = bench["bench_idle_memory"]
    rss = {mem.SERVER: 51200, mem.AGENT: 40960, mem.TOTAL: 92160, mem.MOTO: 153600, mem.BARE: 40960}
    results = mem.memory_results(rss)
    by_pair = {(r.metric, r.baseline_name): r for r in results}
    assert by_pair[(f"{mem.TOTAL} RSS", mem.MOTO)].ratio == pytest.approx(0.6)
    assert by_pair[(f"{mem.SERVER} RSS", mem.BARE)].value == pytest.approx(50.0)
    assert by_pair[(f"{mem.AGENT} RSS", mem.BARE)].ratio == pytest.approx(1.0)
    assert all(r.goal is None for r in results)


def test_service_starts_and_ratios(bench: dict[str, ModuleType], capsys: pytest.CaptureFixture[str]) -> None:
    svc = bench["bench_service"]
    starts = svc.start_times([(10.0, 10.3), (10.1, 10.5), (10.2, 10.4)])
    assert starts.total == pytest.approx(0.9) and starts.span == pytest.approx(0.5)
    assert svc.start_times([]) == svc.StartTimes(0.0, 0.0)
    rounds = [
        svc.Round(converge=c, converge_starts=svc.StartTimes(3.0, 1.0), roll=2 * c,
                  roll_starts=svc.StartTimes(4.0, 1.5), docker_x10=2.0)
        for c in (1.0, 1.2, 1.1)
    ]  # fmt: skip
    results = {(r.metric, r.baseline_name): r for r in svc.report(rounds)}
    converge = results[("10-task converge", "sum of its container starts")]
    assert converge.value == pytest.approx(1100.0) and converge.ratio == pytest.approx(1.1 / 3.0)
    assert results[("10-task converge", "span of its container starts")].ratio == pytest.approx(1.1)
    assert results[("10-task rolling deployment", "docker run -d x10")].ratio == pytest.approx(1.1)
    assert all(r.goal is None for r in results.values())
    assert "docker run -d x10" in capsys.readouterr().out


def test_the_runner_knows_every_benchmark(bench: dict[str, ModuleType]) -> None:
    runner = bench["run"]
    assert set(runner.BENCHMARKS) == {
        "idle-memory",
        "api-latency",
        "run-task",
        "service",
        "load-balancer",
        "lb-deploy",
        "telemetry",
        "logs",
        "registry",
    }
    with pytest.raises(SystemExit):
        runner.main(["--only", "no-such-benchmark"])
    for name in (
        "bench_api_latency",
        "bench_idle_memory",
        "bench_lb",
        "bench_lb_deploy",
        "bench_logs",
        "bench_registry",
        "bench_run_task",
        "bench_service",
        "bench_telemetry",
    ):
        with pytest.raises(SystemExit) as exited:
            bench[name].main(["--help"])
        assert exited.value.code == 0


def test_registry_layouts_are_valid_oci_images(bench: dict[str, ModuleType], tmp_path: Path) -> None:
    reg = bench["_registry"]
    layout = reg.write_layout(tmp_path / "layout", [3 * 1024 * 1024 + 7, 100], tag="t")
    blobs = tmp_path / "layout" / "blobs" / "sha256"

    def blob(digest: str) -> bytes:
        data = (blobs / digest.removeprefix("sha256:")).read_bytes()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
        return data

    index = json.loads((tmp_path / "layout" / "index.json").read_text())
    assert index["manifests"][0]["annotations"] == {"org.opencontainers.image.ref.name": "t"}
    assert index["manifests"][0]["digest"] == layout.manifest_digest
    manifest = json.loads(blob(layout.manifest_digest))
    assert manifest["mediaType"] == reg.OCI_MANIFEST and manifest["config"]["digest"] == layout.config_digest
    config = json.loads(blob(layout.config_digest))
    assert config["rootfs"]["diff_ids"] == [layer.diff_id for layer in layout.layers]
    assert [entry["size"] for entry in manifest["layers"]] == [layer.size for layer in layout.layers]
    assert layout.layer_bytes == sum(layer.size for layer in layout.layers)
    contents = []
    for layer in layout.layers:
        raw = gzip.decompress(blob(layer.digest))
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == layer.diff_id
        with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
            (member,) = archive.getmembers()
            contents.append((member.size, archive.extractfile(member).read()))  # type: ignore[union-attr]
    assert [size for size, _ in contents] == [3 * 1024 * 1024 + 7, 100]
    again = reg.write_layout(tmp_path / "again", [100])
    assert again.layers[0].digest != layout.layers[1].digest  # fresh bytes every time
    assert layout.oci_ref == f"oci:{tmp_path / 'layout'}:t"


def test_registry_helpers(bench: dict[str, ModuleType]) -> None:
    reg = bench["_registry"]
    assert reg.mb_per_s(250_000_000, 2.0) == pytest.approx(125.0)
    assert math.isnan(reg.mb_per_s(1, 0.0))
    assert reg.peak_above(100 * 1024, [90 * 1024, 130 * 1024, 120 * 1024]) == pytest.approx(30.0)
    assert reg.peak_above(100 * 1024, [90 * 1024]) == 0.0
    assert sum(reg.app_layer_sizes()) == 250_000_000 and len(reg.app_layer_sizes()) == 8
    assert len(reg.tar_header("a.bin", 5)) == 512
    config = reg.cncf_config(Path("/tmp/x"), 5123)
    assert '"addr": "127.0.0.1:5123"' in config and '"rootdirectory": "/tmp/x"' in config
    assert "auth" not in config and '"disabled": true' in config
    request = reg.encode_request("HEAD", "/v2/a/manifests/t", "127.0.0.1:1", {"Accept": "x"})
    assert request == b"HEAD /v2/a/manifests/t HTTP/1.1\r\nHost: 127.0.0.1:1\r\nAccept: x\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: a\r\ncontent-length: 42"
    assert reg.parse_head(head) == (200, 42)
    assert reg.parse_head(b"HTTP/1.1 404 Not Found\r\nX: y") == (404, None)


def test_registry_report_ratios(bench: dict[str, ModuleType], capsys: pytest.CaptureFixture[str]) -> None:
    br = bench["bench_registry"]
    case, large = br.CASES[1].name, br.LARGE.name
    figures = br.Figures(
        push={case: {"dockyard": [1.0, 2.0, 3.0], "cncf": [2.0, 2.0, 2.0]}},
        pull={case: {"dockyard": [4.0, 4.0, 4.0], "cncf": [2.0, 2.0, 2.0]}},
        size={case: 200_000_000},
        cpu={f"{case} push": {"dockyard": [0.2], "cncf": [0.4]}},
        docker_push={"dockyard": [8.0], "cncf": [10.0]},
        docker_pull={"dockyard": [3.0], "cncf": [3.0]},
        latency={op: {"dockyard": [0.0004] * 10, "cncf": [0.0008] * 10} for op in br.OPERATIONS},
        memory={f"{large} push": {"dockyard": (100 * 1024, 110 * 1024), "cncf": (20 * 1024, 25 * 1024)}},
    )
    results = {r.metric: r for r in br.report(figures)}
    push = results[f"skopeo push {case} (time)"]
    assert push.value == pytest.approx(2000.0) and push.ratio == pytest.approx(1.0)
    assert push.verdict == "meets goal"
    assert results[f"skopeo pull {case} (time)"].verdict == "ABOVE GOAL"  # half the CNCF MB/s
    assert results[f"docker push {br.APP.name}"].ratio == pytest.approx(0.8)
    assert results["HEAD blob p50"].value == pytest.approx(0.4)
    assert results["HEAD blob p50"].ratio == pytest.approx(0.5)
    memory = results["RSS above idle, 1 GiB push"]
    assert memory.value == pytest.approx(10.0) and memory.baseline == pytest.approx(5.0)
    assert results["RSS peak, 1 GiB push"].ratio == pytest.approx(110 / 25)
    out = capsys.readouterr().out
    assert "MISSED" in out and "100.0" in out and "0.50x" in out  # MB/s, and the pull's ratio
