"""The benchmarks stay importable and their pure helpers compute the right figures on fixed numbers.

Nothing here runs a benchmark or times anything: no Docker, no servers, no timing assertions.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
MODULES = (
    "_common",
    "_dockyard",
    "_timeline",
    "bench_api_latency",
    "bench_idle_memory",
    "bench_run_task",
    "bench_service",
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
    assert set(runner.BENCHMARKS) == {"idle-memory", "api-latency", "run-task", "service"}
    with pytest.raises(SystemExit):
        runner.main(["--only", "no-such-benchmark"])
    for name in ("bench_api_latency", "bench_idle_memory", "bench_run_task", "bench_service"):
        with pytest.raises(SystemExit) as exited:
            bench[name].main(["--help"])
        assert exited.value.code == 0
