"""Placement: every checker, every strategy and their combinations, multi-copy reservations,
the closest-instance report, explanations, scale-in order and request validation.

Table-driven over real `NodeView`s and a seeded random source; no mocks.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from dockyard.scheduler import (
    DISTINCT_INSTANCE_UNSATISFIED,
    MEMBER_OF_UNSATISFIED,
    NO_INSTANCES,
    Constraint,
    NodeView,
    Placement,
    PlacementSpecError,
    PlanContext,
    Requirement,
    Resources,
    Strategy,
    TaskDemand,
    TaskView,
    Unplaceable,
    check_node,
    choose_tasks_to_stop,
    explain,
    first_failure,
    is_candidate,
    parse_constraints,
    parse_strategies,
    place,
    place_many,
    release,
    reserve,
    select,
)
from dockyard.services.ecs.instance_resources import node_view, placement_demand, remaining, with_remaining

ZONE = "ecs.availability-zone"
GROUP = "family:web"


def arn(name: str) -> str:
    return f"arn:aws:ecs:us-east-1:123456789012:container-instance/c/{name}"


def node(
    name: str,
    *,
    cpu: int = 2048,
    memory: int = 4096,
    tcp: tuple[int, ...] = (22, 2375, 2376, 51678, 51679),
    udp: tuple[int, ...] = (),
    az: str | None = "us-east-1a",
    status: str = "ACTIVE",
    connected: bool = True,
    attributes: dict[str, str | None] | None = None,
    groups: dict[str, int] | None = None,
    running: int | None = None,
    external: bool = False,
    agent_version: str | None = "1.80.0",
) -> NodeView:
    attrs: dict[str, str | None] = {"ecs.os-type": "linux", "ecs.instance-type": "t3.medium"}
    if az is not None:
        attrs[ZONE] = az
    attrs.update(attributes or {})
    counts = dict(groups or {})
    return NodeView(
        arn=arn(name),
        remaining=Resources(cpu, memory, frozenset(tcp), frozenset(udp)),
        status=status,
        agent_connected=connected,
        attributes=attrs,
        ec2_instance_id=f"i-{name}",
        registered_at=1_700_000_000.0,
        agent_version=agent_version,
        running_tasks_count=sum(counts.values()) if running is None else running,
        group_counts=counts,
        external=external,
    )


def demand(
    cpu: int = 256,
    memory: int = 512,
    *,
    tcp: tuple[int, ...] = (),
    udp: tuple[int, ...] = (),
    group: str = GROUP,
    constraints: tuple[Constraint, ...] = (),
    requires: tuple[Requirement, ...] = (),
    zones: frozenset[str] | None = None,
    launch_type: str = "EC2",
) -> TaskDemand:
    return TaskDemand(
        resources=Resources(cpu, memory, frozenset(tcp), frozenset(udp)),
        group=group,
        launch_type=launch_type,
        requires=requires,
        constraints=constraints,
        zones=zones,
    )


def member_of(expression: str) -> Constraint:
    return Constraint("memberOf", expression)


DISTINCT = Constraint("distinctInstance")
BINPACK_MEMORY = Strategy("binpack", "memory")
BINPACK_CPU = Strategy("binpack", "cpu")
SPREAD_AZ = Strategy("spread", f"attribute:{ZONE}")
SPREAD_INSTANCE = Strategy("spread", "instanceId")
RANDOM = Strategy("random")


def context(*nodes: NodeView, seed: int = 7) -> PlanContext:
    return PlanContext(nodes, rng=random.Random(seed))


def short(value: str | None) -> str | None:
    return None if value is None else value.rsplit("/", 1)[-1]


def chosen(result: Placement | Unplaceable) -> str:
    assert isinstance(result, Placement), result
    return result.arn.rsplit("/", 1)[-1]


# checkers --------------------------------------------------------------------------------------

CHECK_CASES: list[tuple[str, NodeView, TaskDemand, str | None, dict[str, Any] | None]] = [
    ("fits", node("a"), demand(), None, None),
    ("draining", node("a", status="DRAINING"), demand(), "INACTIVE", {"status": "DRAINING"}),
    ("agent gone", node("a", connected=False), demand(), "AGENT", {"agentConnected": False}),
    (
        "missing capability",
        node("a"),
        demand(requires=(Requirement("ecs.capability.secrets.ssm.environment-variables"),)),
        "ATTRIBUTE",
        {"missing": ["ecs.capability.secrets.ssm.environment-variables"]},
    ),
    (
        "attribute with the wrong value",
        node("a"),
        demand(requires=(Requirement("ecs.os-type", "windows"),)),
        "ATTRIBUTE",
        {"missing": ["ecs.os-type=windows"]},
    ),
    (
        "required attributes present",
        node("a", attributes={"com.amazonaws.ecs.capability.docker-remote-api.1.19": None}),
        demand(
            requires=(
                Requirement("com.amazonaws.ecs.capability.docker-remote-api.1.19"),
                Requirement("ecs.os-type", "linux"),
            )
        ),
        None,
        None,
    ),
    (
        "zone outside the subnets",
        node("a", az="us-east-1c"),
        demand(zones=frozenset({"us-east-1a", "us-east-1b"})),
        "LOCATION",
        {"availabilityZone": "us-east-1c", "subnetZones": ["us-east-1a", "us-east-1b"]},
    ),
    (
        "zone inside the subnets",
        node("a", az="us-east-1b"),
        demand(zones=frozenset({"us-east-1b"})),
        None,
        None,
    ),
    ("no zone attribute", node("a", az=None), demand(zones=frozenset({"us-east-1b"})), None, None),
    ("cpu short", node("a", cpu=255), demand(cpu=256), "RESOURCE:CPU", {"required": 256, "remaining": 255}),
    ("cpu exact", node("a", cpu=256), demand(cpu=256), None, None),
    (
        "memory short",
        node("a", memory=511),
        demand(memory=512),
        "RESOURCE:MEMORY",
        {"required": 512, "remaining": 511},
    ),
    ("memory exact", node("a", memory=512), demand(memory=512), None, None),
    (
        "tcp port in use",
        node("a", tcp=(22, 8080)),
        demand(tcp=(8080, 9090)),
        "RESOURCE:PORTS",
        {"requested": [8080, 9090], "inUse": [8080]},
    ),
    (
        "reserved port 22",
        node("a"),
        demand(tcp=(22,)),
        "RESOURCE:PORTS",
        {"requested": [22], "inUse": [22]},
    ),
    ("tcp port in use only over udp", node("a", udp=(53,)), demand(tcp=(53,)), None, None),
    (
        "udp port in use",
        node("a", udp=(53,)),
        demand(udp=(53,)),
        "RESOURCE:PORTS_UDP",
        {"requested": [53], "inUse": [53]},
    ),
    (
        "more than 100 reserved ports",
        node("a", tcp=tuple(range(1000, 1099))),
        demand(tcp=(80, 81)),
        "RESOURCE:PORTS",
        {"requested": [80, 81], "inUse": [], "reservedAfter": 101, "limit": 100},
    ),
    ("exactly 100 reserved ports", node("a", tcp=tuple(range(1000, 1098))), demand(tcp=(80, 81)), None, None),
    (
        "memberOf by instance type",
        node("a"),
        demand(constraints=(member_of("attribute:ecs.instance-type =~ m5.*"),)),
        MEMBER_OF_UNSATISFIED,
        {"unsatisfied": ["attribute:ecs.instance-type =~ m5.*"]},
    ),
    (
        "memberOf satisfied",
        node("a"),
        demand(
            constraints=(member_of("attribute:ecs.instance-type =~ t3.* and attribute:ecs.os-type == linux"),)
        ),
        None,
        None,
    ),
    (
        "memberOf constraints are ANDed",
        node("a"),
        demand(constraints=(member_of("attribute:ecs.os-type == linux"), member_of("ec2InstanceId == i-b"))),
        MEMBER_OF_UNSATISFIED,
        {"unsatisfied": ["ec2InstanceId == i-b"]},
    ),
    (
        "memberOf on task groups",
        node("a", groups={"service:db": 1}),
        demand(constraints=(member_of("not(task:group == service:db)"),)),
        MEMBER_OF_UNSATISFIED,
        {"unsatisfied": ["not(task:group == service:db)"]},
    ),
    (
        "memberOf on running tasks",
        node("a", groups={"x": 3}),
        demand(constraints=(member_of("runningTasksCount < 3"),)),
        MEMBER_OF_UNSATISFIED,
        {"unsatisfied": ["runningTasksCount < 3"]},
    ),
    (
        "memberOf on agent version",
        node("a", agent_version="1.14.4"),
        demand(constraints=(member_of("agentVersion >= 1.14.5"),)),
        MEMBER_OF_UNSATISFIED,
        {"unsatisfied": ["agentVersion >= 1.14.5"]},
    ),
    (
        "distinctInstance with the group already there",
        node("a", groups={GROUP: 2}),
        demand(constraints=(DISTINCT,)),
        DISTINCT_INSTANCE_UNSATISFIED,
        {"group": GROUP, "tasksOfGroup": 2},
    ),
    (
        "distinctInstance ignores other groups",
        node("a", groups={"family:other": 2}),
        demand(constraints=(DISTINCT,)),
        None,
        None,
    ),
    ("no distinctInstance, same group is fine", node("a", groups={GROUP: 2}), demand(), None, None),
]


@pytest.mark.parametrize(
    ("name", "view", "wanted", "reason", "detail"), CHECK_CASES, ids=[c[0] for c in CHECK_CASES]
)
def test_checkers(
    name: str, view: NodeView, wanted: TaskDemand, reason: str | None, detail: dict[str, Any] | None
) -> None:
    ctx = context(view)
    failure = first_failure(ctx.nodes[0], wanted)
    if reason is None:
        assert failure is None
        assert chosen(place(ctx, wanted)) == "a"
        return
    assert failure is not None
    assert failure.reason == reason
    assert dict(failure.detail) == detail
    result = place(ctx, wanted)
    assert isinstance(result, Unplaceable)
    assert (result.reason, result.closest) == (reason, view.arn)
    assert result.failure() == {"arn": view.arn, "reason": reason}


@pytest.mark.parametrize(
    ("external", "launch_type", "status", "expected"),
    [
        (False, "EC2", "ACTIVE", True),
        (True, "EC2", "ACTIVE", False),
        (True, "EXTERNAL", "ACTIVE", True),
        (False, "EXTERNAL", "ACTIVE", False),
        (False, "EC2", "DRAINING", True),  # a candidate that fails with INACTIVE
        (False, "EC2", "INACTIVE", False),  # deregistered: not a cluster member any more
    ],
)
def test_candidates_are_registered_instances_of_the_launch_type(
    external: bool, launch_type: str, status: str, expected: bool
) -> None:
    ctx = context(node("a", external=external, status=status))
    assert is_candidate(ctx.nodes[0], demand(launch_type=launch_type)) is expected


def test_no_candidates_is_no_container_instances() -> None:
    ctx = context(node("ext", external=True), node("gone", status="INACTIVE"))
    result = place(ctx, demand())
    assert result == Unplaceable(NO_INSTANCES, None, {})
    assert result.failure() == {"reason": NO_INSTANCES}


# the closest instance --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nodes", "wanted", "reason", "closest"),
    [
        (
            [node("drain", status="DRAINING"), node("small", memory=100), node("off", connected=False)],
            demand(),
            "RESOURCE:MEMORY",
            "small",
        ),
        ([node("cpu", cpu=10), node("mem", memory=10)], demand(), "RESOURCE:MEMORY", "mem"),
        (
            [node("m1", memory=100), node("m2", memory=300), node("m3", memory=200)],
            demand(),
            "RESOURCE:MEMORY",
            "m2",
        ),
        (
            [node("busy", groups={GROUP: 1}), node("tiny", cpu=1)],
            demand(constraints=(DISTINCT,)),
            DISTINCT_INSTANCE_UNSATISFIED,
            "busy",
        ),
        (
            [node("port", tcp=(80,)), node("zone", az="us-east-1d")],
            demand(tcp=(80,), zones=frozenset({"us-east-1a"})),
            "RESOURCE:PORTS",
            "port",
        ),
        (
            [node("win", attributes={"ecs.os-type": "windows"}), node("off", connected=False)],
            demand(constraints=(member_of("attribute:ecs.os-type == linux"),)),
            MEMBER_OF_UNSATISFIED,
            "win",
        ),
    ],
    ids=[
        "memory beats agent/status",
        "memory beats cpu",
        "most memory",
        "constraint last",
        "ports",
        "memberOf",
    ],
)
def test_unplaceable_reports_the_closest_instance(
    nodes: list[NodeView], wanted: TaskDemand, reason: str, closest: str
) -> None:
    result = place(context(*nodes), wanted)
    assert isinstance(result, Unplaceable)
    assert (result.reason, short(result.closest)) == (reason, closest)
    assert sum(result.filtered.values()) == len(nodes)


# strategies ------------------------------------------------------------------------------------

STRATEGY_CASES: list[tuple[str, list[NodeView], TaskDemand, list[Strategy], str]] = [
    (
        "binpack memory: least remaining that fits",
        [
            node("big", memory=8192),
            node("tight", memory=1024),
            node("mid", memory=2048),
            node("full", memory=256),
        ],
        demand(memory=512),
        [BINPACK_MEMORY],
        "tight",
    ),
    (
        "binpack cpu",
        [node("a", cpu=4096), node("b", cpu=512), node("c", cpu=1024)],
        demand(cpu=512),
        [BINPACK_CPU],
        "b",
    ),
    (
        "binpack skips an instance whose ports are taken",
        [node("tight", memory=1024, tcp=(80,)), node("mid", memory=2048)],
        demand(tcp=(80,)),
        [BINPACK_MEMORY],
        "mid",
    ),
    (
        "spread by instance: fewest tasks of the group",
        [
            node("a", groups={GROUP: 2}),
            node("b", groups={GROUP: 1, "other": 5}),
            node("c", groups={GROUP: 3}),
        ],
        demand(),
        [SPREAD_INSTANCE],
        "b",
    ),
    (
        "spread by zone: zone with fewest tasks of the group",
        [
            node("a1", az="us-east-1a", groups={GROUP: 1}),
            node("a2", az="us-east-1a", groups={GROUP: 1}),
            node("b1", az="us-east-1b", groups={GROUP: 3}),
            node("c1", az="us-east-1c", groups={GROUP: 1, "other": 9}),
        ],
        demand(),
        [SPREAD_AZ],
        "c1",
    ),
    (
        "spread zone then binpack memory",
        [
            node("a-big", az="us-east-1a", memory=8192),
            node("b-big", az="us-east-1b", memory=8192, groups={GROUP: 1}),
            node("b-small", az="us-east-1b", memory=1024),
            node("a-small", az="us-east-1a", memory=600),
        ],
        demand(memory=512),
        [SPREAD_AZ, BINPACK_MEMORY],
        "a-small",
    ),
    (
        "binpack memory then spread by instance breaks the tie",
        [
            node("a", memory=1024, groups={GROUP: 2}),
            node("b", memory=1024, groups={GROUP: 1}),
            node("c", memory=4096),
        ],
        demand(memory=512),
        [BINPACK_MEMORY, SPREAD_INSTANCE],
        "b",
    ),
    (
        "spread over a custom attribute; instances lacking it are one bucket",
        [
            node("r1", attributes={"rack": "r1"}, groups={GROUP: 1}),
            node("r2", attributes={"rack": "r2"}, groups={GROUP: 2}),
            node("none1", groups={GROUP: 1}),
            node("none2", groups={GROUP: 1}),
        ],
        demand(),
        [Strategy("spread", "attribute:rack"), SPREAD_INSTANCE],
        "r1",
    ),
    (
        "spread skips the zone whose instances do not fit",
        [node("a", az="us-east-1a", memory=100), node("b", az="us-east-1b", groups={GROUP: 4})],
        demand(memory=512),
        [SPREAD_AZ],
        "b",
    ),
    (
        "strategies never exclude: binpack falls back to the only fit",
        [node("x", memory=9000)],
        demand(memory=512),
        [BINPACK_MEMORY, SPREAD_AZ, BINPACK_CPU],
        "x",
    ),
    (
        "memberOf narrows, binpack picks among the members",
        [node("t3", memory=1024), node("m5", memory=600, attributes={"ecs.instance-type": "m5.large"})],
        demand(memory=512, constraints=(member_of("attribute:ecs.instance-type == t3.medium"),)),
        [BINPACK_MEMORY],
        "t3",
    ),
]


@pytest.mark.parametrize(
    ("name", "nodes", "wanted", "strategies", "expected"), STRATEGY_CASES, ids=[c[0] for c in STRATEGY_CASES]
)
def test_strategies(
    name: str, nodes: list[NodeView], wanted: TaskDemand, strategies: list[Strategy], expected: str
) -> None:
    for seed in range(5):
        assert chosen(place(context(*nodes, seed=seed), wanted, strategies)) == expected


@pytest.mark.parametrize(
    "strategies", [[], [RANDOM], [RANDOM, BINPACK_MEMORY]], ids=["none", "random", "random+"]
)
def test_random_chooses_among_all_feasible_instances(strategies: list[Strategy]) -> None:
    nodes = [node("a", memory=1024), node("b", memory=8192), node("c", memory=4096), node("no", memory=1)]
    seen = Counter(chosen(place(context(*nodes, seed=seed), demand(), strategies)) for seed in range(300))
    assert set(seen) == {"a", "b", "c"}
    assert min(seen.values()) > 60  # roughly uniform


def test_ties_after_every_strategy_are_random() -> None:
    nodes = [node(f"n{i}", memory=1024) for i in range(4)]
    seen = {chosen(place(context(*nodes, seed=seed), demand(), [BINPACK_MEMORY])) for seed in range(60)}
    assert seen == {"n0", "n1", "n2", "n3"}


# several copies ---------------------------------------------------------------------------------


def names(results: list[Placement | Unplaceable]) -> list[str | None]:
    return [short(r.arn) if isinstance(r, Placement) else r.reason for r in results]


def test_binpack_fills_the_tightest_instance_first() -> None:
    ctx = context(node("big", memory=4096), node("tight", memory=1100), node("mid", memory=2048))
    results = place_many(ctx, demand(memory=512), [BINPACK_MEMORY], 6)
    assert names(results) == ["tight", "tight", "mid", "mid", "mid", "mid"]
    assert ctx.node(arn("tight")).memory == 76  # type: ignore[union-attr]
    assert ctx.node(arn("mid")).memory == 0  # type: ignore[union-attr]


def test_spread_by_zone_balances_copies() -> None:
    nodes = [node(f"{z}{i}", az=f"us-east-1{z}") for z in "abc" for i in range(2)]
    ctx = context(*nodes)
    results = place_many(ctx, demand(), [SPREAD_AZ, SPREAD_INSTANCE], 6)
    placed = [r.arn.rsplit("/", 1)[-1] for r in results if isinstance(r, Placement)]
    assert len(placed) == 6
    assert sorted(placed) == sorted(n.arn.rsplit("/", 1)[-1] for n in nodes)  # one per instance


def test_spread_zone_then_binpack_memory_packs_within_each_zone() -> None:
    ctx = context(
        node("a-small", az="us-east-1a", memory=1024),
        node("a-big", az="us-east-1a", memory=4096),
        node("b-small", az="us-east-1b", memory=1024),
        node("b-big", az="us-east-1b", memory=4096),
    )
    results = place_many(ctx, demand(memory=512), [SPREAD_AZ, BINPACK_MEMORY], 6)
    assert Counter(names(results)) == {"a-small": 2, "b-small": 2, "a-big": 1, "b-big": 1}


def test_distinct_instance_over_copies() -> None:
    ctx = context(node("a"), node("b", groups={GROUP: 1}), node("c"), node("d"))
    results = place_many(ctx, demand(constraints=(DISTINCT,)), [], 4)
    assert sorted(names(results)[:3]) == ["a", "c", "d"]  # type: ignore[type-var]
    failure = results[3]
    assert isinstance(failure, Unplaceable) and failure.reason == DISTINCT_INSTANCE_UNSATISFIED


def test_static_host_port_copies_need_one_instance_each() -> None:
    ctx = context(node("a"), node("b"))
    results = place_many(ctx, demand(tcp=(8080,)), [BINPACK_MEMORY], 3)
    assert sorted(names(results)[:2]) == ["a", "b"]  # type: ignore[type-var]
    assert isinstance(results[2], Unplaceable) and results[2].reason == "RESOURCE:PORTS"


def test_group_aware_member_of_sees_earlier_copies() -> None:
    ctx = context(node("a"), node("b"), node("c"))
    wanted = demand(constraints=(member_of(f"not(task:group == {GROUP})"),))
    results = place_many(ctx, wanted, [], 4)
    assert sorted(names(results)[:3]) == ["a", "b", "c"]  # type: ignore[type-var]
    assert isinstance(results[3], Unplaceable) and results[3].reason == MEMBER_OF_UNSATISFIED


def test_running_tasks_count_constraint_sees_earlier_copies() -> None:
    ctx = context(node("a", running=1), node("b"))
    wanted = demand(constraints=(member_of("runningTasksCount < 2"),))
    assert Counter(names(place_many(ctx, wanted, [], 4))) == {
        "a": 1,
        "b": 2,
        MEMBER_OF_UNSATISFIED: 1,
    }


def test_copies_of_different_demands_share_the_context() -> None:
    ctx = context(node("a", memory=1024), node("b", memory=2048))
    assert names(place_many(ctx, demand(memory=1024), [BINPACK_MEMORY], 1)) == ["a"]
    # The first demand's reservation is visible to a second one with other strategies.
    assert names(place_many(ctx, demand(memory=512, group="g2"), [BINPACK_MEMORY], 1)) == ["b"]
    assert names(place_many(ctx, demand(memory=1024), [BINPACK_MEMORY], 2)) == ["b", "RESOURCE:MEMORY"]


def test_start_task_checks_a_named_instance_without_constraints() -> None:
    ctx = context(node("a", groups={GROUP: 1}), node("d", status="DRAINING"), node("s", memory=1))
    wanted = demand(constraints=(DISTINCT,))
    assert check_node(ctx, arn("a"), wanted) is None
    assert ctx.node(arn("a")).group_count(GROUP) == 2  # type: ignore[union-attr]
    failure = check_node(ctx, arn("d"), wanted)
    assert failure is not None and failure.reason == "INACTIVE"
    failure = check_node(ctx, arn("s"), wanted)
    assert failure is not None and failure.reason == "RESOURCE:MEMORY"


# the ranking against an exhaustive search ----------------------------------------------------

COMBINATIONS = [
    [],
    [BINPACK_MEMORY],
    [BINPACK_CPU, BINPACK_MEMORY],
    [SPREAD_INSTANCE],
    [SPREAD_AZ],
    [SPREAD_AZ, BINPACK_MEMORY],
    [SPREAD_AZ, SPREAD_INSTANCE],
    [BINPACK_MEMORY, SPREAD_AZ],
    [Strategy("spread", "attribute:rack"), BINPACK_CPU, SPREAD_INSTANCE],
    [SPREAD_INSTANCE, RANDOM, BINPACK_MEMORY],
]


@pytest.mark.parametrize("strategies", COMBINATIONS, ids=lambda s: "+".join(x.label for x in s) or "none")
def test_every_choice_is_among_the_best_by_exhaustive_search(strategies: list[Strategy]) -> None:
    rng = random.Random(hash(tuple(strategies)) & 0xFFFF)
    for round_ in range(6):
        nodes = [
            node(
                f"n{i}",
                cpu=rng.choice([512, 1024, 2048]),
                memory=rng.choice([768, 1024, 1536, 2048]),
                az=rng.choice(["us-east-1a", "us-east-1b", "us-east-1c", None]),
                attributes={"rack": rng.choice(["r1", "r2", None])},
                groups={GROUP: rng.randint(0, 2), "other": rng.randint(0, 2)},
                status=rng.choice(["ACTIVE"] * 9 + ["DRAINING"]),
                tcp=rng.choice([(22,), (22, 8080)]),
            )
            for i in range(25)
        ]
        ctx = context(*nodes, seed=round_)
        wanted = demand(
            cpu=rng.choice([128, 256]),
            memory=rng.choice([256, 512]),
            tcp=rng.choice([(), (8080,)]),
            constraints=rng.choice([(), (DISTINCT,), (member_of("attribute:rack != r2"),)]),
        )
        for _ in range(30):
            expected = explain(ctx, wanted, strategies)
            result = place(ctx, wanted, strategies)
            if isinstance(result, Unplaceable):
                assert expected["best"] == []
                assert expected["outcome"]["reason"] == result.reason
                assert expected["outcome"]["closest"] == result.closest
                break
            assert result.arn in expected["best"]


# explanations -----------------------------------------------------------------------------------


def test_explain_reports_every_instance_with_numbers() -> None:
    ctx = context(
        node("fits", memory=2048, az="us-east-1a"),
        node("fits-too", memory=1024, az="us-east-1b"),
        node("short", memory=100),
        node("ext", external=True),
    )
    report = explain(ctx, demand(memory=512), [BINPACK_MEMORY])
    assert report["strategies"] == ["binpack(memory)"]
    assert (report["candidates"], report["feasible"]) == (3, 2)
    assert report["best"] == [arn("fits-too")]
    assert report["outcome"] == {"placeable": True}
    by_name = {short(i["containerInstanceArn"]): i for i in report["instances"]}
    assert by_name["fits"]["rank"] == [{"strategy": "binpack(memory)", "key": 2048}]
    short_entry = by_name["short"]
    assert (short_entry["feasible"], short_entry["failedCheck"], short_entry["reason"]) == (
        False,
        "memory",
        "RESOURCE:MEMORY",
    )
    memory_check = next(c for c in short_entry["checks"] if c["check"] == "memory")
    assert memory_check == {
        "check": "memory",
        "passed": False,
        "reason": "RESOURCE:MEMORY",
        "detail": {"required": 512, "remaining": 100},
    }
    assert by_name["ext"] == {
        "containerInstanceArn": arn("ext"),
        "candidate": False,
        "feasible": False,
        "note": "An external instance: it takes only EXTERNAL tasks, not EC2.",
    }
    assert report["demand"]["memory"] == 512


def test_explain_when_nothing_fits() -> None:
    ctx = context(node("a", memory=100), node("b", memory=300, status="DRAINING"), node("c", memory=200))
    report = explain(ctx, demand(memory=512, constraints=(DISTINCT,)))
    assert report["strategies"] == ["random"]
    assert report["best"] == []
    assert report["outcome"] == {
        "placeable": False,
        "reason": "RESOURCE:MEMORY",
        "closest": arn("c"),
        "filtered": {"memory": 2, "status": 1},
    }
    a = next(i for i in report["instances"] if i["containerInstanceArn"] == arn("a"))
    assert [c["check"] for c in a["checks"] if not c["passed"]] == ["memory"]


def test_explain_and_select_change_nothing() -> None:
    ctx = context(node("a"))
    explain(ctx, demand(), [SPREAD_AZ])
    assert select(ctx, demand(), [SPREAD_AZ]) == Placement(arn("a"))
    assert ctx.node(arn("a")).memory == 4096  # type: ignore[union-attr]
    assert ctx.views()[0] == node("a")
    assert place(ctx, demand(), [SPREAD_AZ]) == Placement(arn("a"))
    assert ctx.views()[0].remaining.memory == 4096 - 512
    assert ctx.views()[0].group_counts == {GROUP: 1}


# scale-in order ---------------------------------------------------------------------------------


def task(
    name: str,
    on: str | None,
    *,
    memory: int = 512,
    status: str = "RUNNING",
    health: str = "HEALTHY",
    protected: bool = False,
    az: str | None = None,
) -> TaskView:
    return TaskView(
        arn=f"task/{name}",
        node=None if on is None else arn(on),
        resources=Resources(256, memory),
        last_status=status,
        health_status=health,
        protected=protected,
        availability_zone=az,
    )


def stopped(tasks: list[TaskView]) -> list[str]:
    return [t.arn.split("/", 1)[1] for t in tasks]


ZONED = [node("a1", az="us-east-1a"), node("a2", az="us-east-1a"), node("b1", az="us-east-1b")]


def test_scale_in_default_is_zone_with_most_then_instance_with_most() -> None:
    tasks = [task("t1", "a1"), task("t2", "a1"), task("t3", "a2"), task("t4", "b1"), task("t5", "b1")]
    first = choose_tasks_to_stop(tasks, ZONED, [], 1, rng=random.Random(1))
    assert stopped(first) in (["t1"], ["t2"])  # zone a has 3, and a1 has 2 of them
    order = choose_tasks_to_stop(tasks, ZONED, [], 5, rng=random.Random(1))
    zones_after = []
    remaining_tasks = list(tasks)
    for victim in order:
        remaining_tasks.remove(victim)
        per_zone = Counter("a" if t.node != arn("b1") else "b" for t in remaining_tasks)
        zones_after.append(abs(per_zone["a"] - per_zone["b"]))
    assert all(d <= 1 for d in zones_after)  # the zones stay balanced all the way down


@pytest.mark.parametrize(
    ("tasks", "strategies", "count", "expected"),
    [
        (
            [task("t1", "a1"), task("t2", "a2"), task("t3", "a2"), task("t4", "a2"), task("t5", "b1")],
            [SPREAD_INSTANCE],
            2,
            [["t2", "t3"], ["t3", "t2"], ["t2", "t4"], ["t4", "t2"], ["t3", "t4"], ["t4", "t3"]],
        ),
        (
            [task("small", "a1", memory=256), task("big", "a2", memory=2048)],
            [BINPACK_MEMORY],
            1,
            [["big"]],
        ),
        (
            [task("t1", "a1"), task("t2", "a1", protected=True), task("t3", "b1", protected=True)],
            [SPREAD_INSTANCE],
            3,
            [["t1"]],
        ),
        (
            [task("run", "a1"), task("sick", "a1", health="UNHEALTHY"), task("new", "b1", status="PENDING")],
            [SPREAD_INSTANCE],
            3,
            [["new", "sick", "run"]],
        ),
        (
            [
                task("f1", None, az="us-east-1a"),
                task("f2", None, az="us-east-1b"),
                task("f3", None, az="us-east-1b"),
            ],
            [],
            1,
            [["f2"], ["f3"]],
        ),
    ],
    ids=["spread instance", "binpack memory", "protected", "pending and unhealthy first", "fargate zones"],
)
def test_scale_in_order(
    tasks: list[TaskView], strategies: list[Strategy], count: int, expected: list[list[str]]
) -> None:
    nodes = [node("a1", memory=1024), node("a2", memory=1024), node("b1", az="us-east-1b", memory=1024)]
    for seed in range(4):
        assert (
            stopped(choose_tasks_to_stop(tasks, nodes, strategies, count, rng=random.Random(seed)))
            in expected
        )


def test_scale_in_binpack_recomputes_after_each_stop() -> None:
    nodes = [node("a1", memory=1000), node("a2", memory=1500)]
    tasks = [task("x1", "a1", memory=1000), task("x2", "a1", memory=1000), task("y", "a2", memory=100)]
    # a1 will have 2000 left after x1/x2 (vs 1600 on a2); then 3000 after the second.
    assert stopped(choose_tasks_to_stop(tasks, nodes, [BINPACK_MEMORY], 3, rng=random.Random(0)))[2] == "y"


def test_scale_in_random_takes_distinct_tasks() -> None:
    tasks = [task(f"t{i}", "a1") for i in range(6)]
    chosen_tasks = choose_tasks_to_stop(tasks, ZONED, [RANDOM], 4, rng=random.Random(3))
    assert len(set(stopped(chosen_tasks))) == 4
    assert choose_tasks_to_stop(tasks, ZONED, [RANDOM], 0) == []


# validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "task_definition", "message"),
    [
        (
            [{"type": "distinctInstance", "expression": ""}],
            [],
            "distinctInstance expression should not be specified.",
        ),
        (
            [{"type": "distinctInstance", "expression": "attribute:a == b"}],
            [],
            "distinctInstance expression should not be specified.",
        ),
        ([{"type": "memberOf"}], [], "Placement constraint of type memberOf must have an expression."),
        (
            [{"type": "memberOf", "expression": "  "}],
            [],
            "Placement constraint of type memberOf must have an expression.",
        ),
        (
            [{"type": "memberOf", "expression": "attribute:a == " + "x" * 2000}],
            [],
            "Placement constraint expression must be 2000 characters or fewer.",
        ),
        (
            [{"type": "memberOf", "expression": "attribute:a ==="}],
            [],
            None,
        ),
        (
            [{"type": "memberOf", "expression": "attribute:a == b"}] * 6,
            [{"type": "memberOf", "expression": "attribute:c == d"}] * 5,
            "The maximum number of placement constraints is 10.",
        ),
        (
            [{"type": "sometimes"}],
            [],
            "Invalid placement constraint type 'sometimes'. Valid types are distinctInstance and memberOf.",
        ),
    ],
)
def test_constraint_validation(
    requested: list[dict[str, str]], task_definition: list[dict[str, str]], message: str | None
) -> None:
    with pytest.raises(PlacementSpecError) as caught:
        parse_constraints(requested, task_definition=task_definition)
    if message is None:
        assert caught.value.message.startswith("Invalid placement constraint expression: ")
    else:
        assert caught.value.message == message


def test_constraints_combine_task_definition_and_request() -> None:
    parsed = parse_constraints(
        [{"type": "distinctInstance"}, {"type": "memberOf", "expression": " attribute:b exists "}],
        task_definition=[{"type": "memberOf", "expression": "attribute:a == x"}],
    )
    assert parsed == (
        Constraint("memberOf", "attribute:a == x"),
        Constraint("distinctInstance"),
        Constraint("memberOf", "attribute:b exists"),
    )
    assert len(parse_constraints([{"type": "distinctInstance"}] * 10)) == 10
    assert parse_constraints(None) == ()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"type": "binpack", "field": "memory"}, Strategy("binpack", "memory")),
        ({"type": "binpack", "field": "MEMORY"}, Strategy("binpack", "memory")),
        ({"type": "binpack", "field": "CPU"}, Strategy("binpack", "cpu")),
        ({"type": "spread", "field": "instanceId"}, Strategy("spread", "instanceId")),
        ({"type": "spread", "field": "host"}, Strategy("spread", "instanceId")),
        ({"type": "spread", "field": "attribute:ecs.availability-zone"}, SPREAD_AZ),
        ({"type": "random"}, RANDOM),
        ({"type": "random", "field": ""}, RANDOM),
    ],
)
def test_strategy_fields_are_normalized(given: dict[str, str], expected: Strategy) -> None:
    assert parse_strategies([given]) == (expected,)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            [{"type": "binpack"}],
            "Placement strategy of type binpack must have a field. Valid fields are cpu and memory.",
        ),
        (
            [{"type": "binpack", "field": "disk"}],
            "Invalid field 'disk' for placement strategy of type binpack. Valid fields are cpu and memory.",
        ),
        (
            [{"type": "spread"}],
            "Placement strategy of type spread must have a field. "
            "Valid fields are instanceId, host and attribute:<name>.",
        ),
        (
            [{"type": "spread", "field": "memory"}],
            "Invalid field 'memory' for placement strategy of type spread. "
            "Valid fields are instanceId, host and attribute:<name>.",
        ),
        (
            [{"type": "spread", "field": "attribute:"}],
            "Invalid field 'attribute:' for placement strategy of type spread. "
            "Valid fields are instanceId, host and attribute:<name>.",
        ),
        ([{"type": "random", "field": "cpu"}], "Placement strategy of type random does not take a field."),
        ([{"type": "random"}] * 6, "The maximum number of placement strategies is 5."),
        (
            [{"type": "sideways"}],
            "Invalid placement strategy type 'sideways'. Valid types are binpack, random and spread.",
        ),
    ],
)
def test_strategy_validation(given: list[dict[str, str]], message: str) -> None:
    with pytest.raises(PlacementSpecError) as caught:
        parse_strategies(given)
    assert caught.value.message == message


# documents <-> views ---------------------------------------------------------------------------


def test_node_view_from_documents() -> None:
    instance = {
        "containerInstanceArn": arn("doc"),
        "ec2InstanceId": "i-doc",
        "status": "ACTIVE",
        "agentConnected": True,
        "registeredAt": 1234.5,
        "versionInfo": {"agentVersion": "1.80.0"},
        "attributes": [{"name": ZONE, "value": "us-east-1b"}, {"name": "ecs.capability.external"}],
        "remainingResources": [
            {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 900},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "8080"]},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": ["53"]},
        ],
    }
    tasks = [
        {"group": GROUP, "lastStatus": "RUNNING", "desiredStatus": "RUNNING"},
        {"group": GROUP, "lastStatus": "PROVISIONING", "desiredStatus": "RUNNING"},
        {"group": GROUP, "lastStatus": "STOPPING", "desiredStatus": "STOPPED"},
        {"group": "service:db", "lastStatus": "RUNNING", "desiredStatus": "STOPPED"},
    ]
    view = node_view(instance, tasks)
    assert view.remaining == Resources(1024, 900, frozenset({22, 8080}), frozenset({53}))
    assert view.group_counts == {GROUP: 2, "service:db": 1}
    assert view.running_tasks_count == 2
    assert view.external and view.attributes[ZONE] == "us-east-1b"
    assert (view.ec2_instance_id, view.registered_at, view.agent_version) == ("i-doc", 1234.5, "1.80.0")
    assert view.task_groups == frozenset({GROUP, "service:db"})
    left = reserve(remaining(instance), Resources(24, 400, frozenset({80})))
    assert remaining(with_remaining(instance, left)) == Resources(
        1000, 500, frozenset({22, 80, 8080}), frozenset({53})
    )
    assert release(left, Resources(24, 400, frozenset({80}))) == remaining(instance)


def test_placement_demand_reads_required_attributes() -> None:
    td = {
        "requiresAttributes": [{"name": "ecs.capability.task-eni"}, {"name": "ecs.os-type", "value": "linux"}]
    }
    wanted = placement_demand(td, Resources(1, 2), group=GROUP, launch_type="EC2", zones=["us-east-1a"])
    assert wanted.requires == (Requirement("ecs.capability.task-eni"), Requirement("ecs.os-type", "linux"))
    assert wanted.zones == frozenset({"us-east-1a"})
