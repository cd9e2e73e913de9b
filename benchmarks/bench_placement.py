"""Placement throughput: the scheduler's checker/ranker chain beside a trivial placer, same run.

A synthetic cluster of `--instances` container instances (three availability zones, three
instance types, custom attributes) already running `--tasks` tasks spread over 50 groups is
built once. Each scenario then places `--placements` copies one after another through
`dockyard.scheduler.place` (every copy sees the reservations of the ones before it):

- binpack(memory); spread(attribute:ecs.availability-zone); spread(zone) then binpack(memory);
- memberOf: a cluster query (`attribute:ecs.instance-type =~ m5.* and ...`), random placement;
- distinctInstance with spread(instanceId).

The baseline is the trivial random-feasible placer Dockyard used before (scan every instance,
keep those whose CPU, memory and ports fit, pick one at random, reserve), run on the same cluster
for the same number of placements; the ratio is scheduler / baseline. For context it also prints
the rate implied by Nomad's published C1M run (1,000,000 containers on 5,000 hosts in under five
minutes, so at least 3,333 placements/s) and the 5,000 placements/s goal.

"Per RunTask call" measures what a RunTask of 10 copies costs end to end inside the scheduler:
building the plan context from `NodeView`s plus 10 placements.

    .venv/bin/python benchmarks/bench_placement.py [--instances 1000] [--tasks 10000] [--placements 5000]
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dockyard.scheduler import (
    Constraint,
    NodeView,
    PlanContext,
    Resources,
    Strategy,
    TaskDemand,
    Unplaceable,
    place,
)

GOAL = 5000.0  # placements per second with 1,000 instances and 10,000 tasks
NOMAD_C1M = 1_000_000 / 300  # containers / seconds in Nomad's C1M run (a lower bound on its rate)
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
TYPES = (("t3.xlarge", 4096, 16384), ("m5.2xlarge", 8192, 32768), ("c5.4xlarge", 16384, 32768))
ZONE = "ecs.availability-zone"


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    demand: TaskDemand
    strategies: tuple[Strategy, ...]


def cluster(instances: int, tasks: int, seed: int) -> list[NodeView]:
    rng = random.Random(seed)
    counts: list[dict[str, int]] = [{} for _ in range(instances)]
    for _ in range(tasks):
        where = counts[rng.randrange(instances)]
        group = f"service:svc-{rng.randrange(50)}"
        where[group] = where.get(group, 0) + 1
    nodes = []
    for i in range(instances):
        kind, cpu, memory = TYPES[i % len(TYPES)]
        running = sum(counts[i].values())
        nodes.append(
            NodeView(
                arn=f"arn:aws:ecs:us-east-1:123456789012:container-instance/bench/{i:032x}",
                remaining=Resources(
                    cpu=cpu - 128 * running,
                    memory=memory - 256 * running,
                    ports_tcp=frozenset({22, 2375, 2376, 51678, 51679}),
                ),
                attributes={
                    ZONE: ZONES[i % len(ZONES)],
                    "ecs.instance-type": kind,
                    "ecs.os-type": "linux",
                    "ecs.cpu-architecture": "x86_64",
                    "com.amazonaws.ecs.capability.docker-remote-api.1.41": None,
                    "stack": rng.choice(("prod", "staging")),
                },
                ec2_instance_id=f"i-{i:017x}",
                registered_at=1_700_000_000.0 + i,
                agent_version="1.80.0",
                running_tasks_count=running,
                group_counts=counts[i],
            )
        )
    return nodes


def scenarios() -> list[Scenario]:
    def demand(group: str, *constraints: Constraint) -> TaskDemand:
        return TaskDemand(Resources(cpu=128, memory=256), group=group, constraints=constraints)

    member_of = Constraint(
        "memberOf",
        "attribute:ecs.instance-type =~ m5.* and attribute:stack == prod and runningTasksCount < 40",
    )
    return [
        Scenario("binpack(memory)", demand("service:bench-binpack"), (Strategy("binpack", "memory"),)),
        Scenario("spread(zone)", demand("service:bench-spread"), (Strategy("spread", f"attribute:{ZONE}"),)),
        Scenario(
            "spread(zone), binpack(memory)",
            demand("service:bench-az-binpack"),
            (Strategy("spread", f"attribute:{ZONE}"), Strategy("binpack", "memory")),
        ),
        Scenario("memberOf, random", demand("service:bench-member", member_of), ()),
        Scenario(
            "distinctInstance, spread(instanceId)",
            demand("service:bench-distinct", Constraint("distinctInstance")),
            (Strategy("spread", "instanceId"),),
        ),
    ]


def run_scheduler(
    nodes: Sequence[NodeView], scenario: Scenario, placements: int, seed: int
) -> tuple[int, float]:
    """(placed, seconds) for `placements` copies, the context built before the clock starts."""
    ctx = PlanContext(nodes, rng=random.Random(seed))
    placed = 0
    start = time.perf_counter()
    for _ in range(placements):
        if isinstance(place(ctx, scenario.demand, scenario.strategies), Unplaceable):
            break
        placed += 1
    return placed, time.perf_counter() - start


class _Free:
    """The baseline's per-instance state."""

    __slots__ = ("cpu", "memory", "ports", "connected")

    def __init__(self, node: NodeView) -> None:
        self.cpu = node.remaining.cpu
        self.memory = node.remaining.memory
        self.ports = set(node.remaining.ports_tcp)
        self.connected = node.agent_connected


def run_baseline(
    nodes: Sequence[NodeView], scenario: Scenario, placements: int, seed: int
) -> tuple[int, float]:
    """The trivial placer: scan every instance for CPU, memory and port fit; random choice."""
    rng = random.Random(seed)
    state = [_Free(n) for n in nodes]
    wanted = scenario.demand.resources
    placed = 0
    start = time.perf_counter()
    for _ in range(placements):
        fitting = [
            s
            for s in state
            if s.connected
            and s.cpu >= wanted.cpu
            and s.memory >= wanted.memory
            and not (wanted.ports_tcp & s.ports)
        ]
        if not fitting:
            break
        chosen = rng.choice(fitting)
        chosen.cpu -= wanted.cpu
        chosen.memory -= wanted.memory
        chosen.ports |= wanted.ports_tcp
        placed += 1
    return placed, time.perf_counter() - start


def per_call(nodes: Sequence[NodeView], scenario: Scenario, calls: int, seed: int) -> float:
    """RunTask-sized work (context from views + 10 copies), calls per second."""
    start = time.perf_counter()
    for i in range(calls):
        ctx = PlanContext(nodes, rng=random.Random(seed + i))
        for _ in range(10):
            place(ctx, scenario.demand, scenario.strategies)
    return calls / (time.perf_counter() - start)


def best_of(repeat: int, measure: Callable[[], tuple[int, float]]) -> tuple[int, float]:
    results = [measure() for _ in range(repeat)]
    return min(results, key=lambda r: r[1] / max(r[0], 1))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--placements", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=20, help="RunTask-sized calls per scenario")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs of each measurement")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    nodes = cluster(args.instances, args.tasks, args.seed)
    print(
        f"placement: {args.instances} instances, {args.tasks} existing tasks, "
        f"{args.placements} placements per scenario (best of {args.repeat})"
    )
    header = (
        f"{'scenario':40} {'placed':>7} {'scheduler/s':>12} {'baseline/s':>11} {'ratio':>7} "
        f"{'RunTask calls/s':>16}"
    )
    print(header)
    print("-" * len(header))
    worst = float("inf")
    for scenario in scenarios():
        placed, seconds = best_of(
            args.repeat, functools.partial(run_scheduler, nodes, scenario, args.placements, args.seed)
        )
        base_placed, base_seconds = best_of(
            args.repeat, functools.partial(run_baseline, nodes, scenario, placed, args.seed)
        )
        rate = placed / seconds if seconds else float("inf")
        base_rate = base_placed / base_seconds if base_seconds else float("inf")
        calls = per_call(nodes, scenario, args.calls, args.seed)
        worst = min(worst, rate)
        print(
            f"{scenario.name:40} {placed:>7} {rate:>12,.0f} {base_rate:>11,.0f} "
            f"{rate / base_rate:>6.1f}x {calls:>16,.1f}"
        )
    print()
    print(
        f"goal: {GOAL:,.0f} placements/s   slowest scenario: {worst:,.0f}/s   "
        f"ratio to goal {worst / GOAL:.1f}x"
    )
    print(
        f"context: Nomad C1M (1,000,000 containers on 5,000 hosts in < 5 min) >= {NOMAD_C1M:,.0f} "
        f"placements/s; ratio {worst / NOMAD_C1M:.1f}x "
        "(different hardware, language and cluster: an order of magnitude only)"
    )
    return 0 if worst >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
