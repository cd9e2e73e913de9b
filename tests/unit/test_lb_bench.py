"""benchmarks/bench_lb.py reads wrk's report right (no benchmark runs here)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

WRK = """Running 5s test @ http://127.0.200.1:40000/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.31ms  403.52us  12.10ms   88.65%
    Req/Sec    38.52k     2.01k   41.20k    80.00%
  Latency Distribution
     50%    1.24ms
     75%    1.41ms
     90%    1.66ms
     99%    2.51ms
  191650 requests in 5.00s, 18.83MB read
  Socket errors: connect 0, read 3, write 0, timeout 1
  Non-2xx or 3xx responses: 2
Requests/sec:  38327.71
Transfer/sec:      3.77MB
"""


@pytest.fixture(scope="module")
def bench_lb() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("bench_lb")
    finally:
        sys.path.remove(str(BENCHMARKS))
        for name in ("bench_lb", "_common"):
            sys.modules.pop(name, None)


def test_parse_wrk(bench_lb: ModuleType) -> None:
    run = bench_lb.parse_wrk(WRK)
    assert (run.requests_per_second, run.p50_ms, run.p99_ms, run.errors, run.requests) == (
        38327.71,
        1.24,
        2.51,
        6,
        191650,
    )
    micro = bench_lb.parse_wrk(WRK.replace("1.24ms", "812.00us").replace("2.51ms", "1.02s"))
    assert (micro.p50_ms, micro.p99_ms) == (pytest.approx(0.812), 1020.0)
    with pytest.raises(ValueError):
        bench_lb.parse_wrk("no report")


def test_results_compare_with_plain_haproxy_and_the_target(bench_lb: ModuleType) -> None:
    run = bench_lb.WrkRun
    loaded = {
        "direct": [run(60000.0, 0.5, 1.0, 0, 1, 10.0)],
        "plain haproxy": [run(40000.0, 0.9, 2.0, 0, 1, 20.0)],
        "dockyard alb": [run(38000.0, 1.0, 2.2, 0, 1, 23.0)],
    }
    single = {
        "direct": [run(9000.0, 0.1, 0.2, 0, 1, 10.0)],
        "plain haproxy": [run(6000.0, 0.15, 0.3, 0, 1, 20.0)],
        "dockyard alb": [run(5500.0, 0.17, 0.3, 0, 1, 23.0)],
    }
    per_request, cpu, p99, p50_plain, p50_direct = bench_lb._results(loaded, single)
    assert (per_request.baseline_name, per_request.verdict) == ("plain haproxy", "meets goal")
    assert per_request.ratio == pytest.approx(40000 / 38000)  # 0.95x the throughput: within 1/0.9
    assert (cpu.metric, cpu.ratio, cpu.verdict) == ("proxy CPU per request", 1.15, "ABOVE GOAL")
    assert (p99.value, p99.baseline) == (2.2, 2.0)
    assert p50_plain.baseline == 0.15
    assert p50_direct.value - p50_direct.baseline == pytest.approx(0.07)  # added p50 over the target alone
