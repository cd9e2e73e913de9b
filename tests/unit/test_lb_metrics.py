# ruff: noqa: E501 - CAPTURED keeps HAProxy's CSV lines as they came
"""AWS/ApplicationELB metrics from HAProxy's counters (lb/metrics.py): table-driven, no HAProxy.

`CAPTURED` is real `show info;show stat -1 7 -1` output of HAProxy 2.6.12 (the `show info` part
cut to its Pid line) after GET / twice (200), /nope (404 from the target), /empty (503: a backend
without servers) and /fixed (a 200 the proxy answered itself) through frontend `f1`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from dockyard.lb.metrics import (
    Balancer,
    Group,
    Health,
    LbMetrics,
    Row,
    Snapshot,
    compute,
    deltas,
    health_of,
    parse_snapshot,
    topology,
)
from dockyard.lb.model import Documents, build_model
from dockyard.store import Key, Put, SqliteStore
from dockyard.testing.clock import FakeClock

CAPTURED = """Name: HAProxy
Version: 2.6.12-1+deb12u3
Pid: 16722
Uptime_sec: 3

# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,
f1,FRONTEND,,,0,1,9986,5,424,1694,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,5,,,,0,3,0,1,1,0,,0,5,5,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,0,5,5,1,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,5,5,409,1759,0,0,
b1,s1,0,0,0,1,,3,250,1404,,0,,0,0,0,0,no check,1,1,0,,,2,,,1,3,1,,3,,2,0,,3,,,,0,2,0,1,0,0,,,,3,0,0,,,,,1,,,0,0,2,2,,,,,,,,,,,,127.0.0.1:18992,,http,,,,,,,,0,3,0,,,0,,0,0,3,3,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
b1,fail-open:s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,0,1,,,2,,,1,3,2,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18992,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
b1,BACKEND,0,0,0,1,999,3,250,1404,0,0,,0,0,0,0,UP,1,1,1,,0,2,0,,1,3,0,,3,,1,0,,3,,,,0,2,0,1,0,0,,,,3,0,0,0,0,0,0,1,,,0,0,2,2,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,3,0,0,0,,,0,0,3,3,0,,,,,1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,3,3,1426,241,0,0,
empty,BACKEND,0,0,0,1,999,1,87,217,0,0,,1,0,0,0,UP,0,0,0,,0,2,,,1,4,0,,0,,1,1,,1,,,,0,0,0,0,1,0,,,,1,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,0,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
"""

A, R = "123456789012", "us-east-1"
P = f"arn:aws:elasticloadbalancing:{R}:{A}"
LB_ARN = f"{P}:loadbalancer/app/web/50dc6c495c0c9188"
TG_ARN = f"{P}:targetgroup/api/943f017f100becff"
EMPTY_ARN = f"{P}:targetgroup/empty/0000000000000001"
LB_DIM = "app/web/50dc6c495c0c9188"
TG_DIM = "targetgroup/api/943f017f100becff"
EMPTY_DIM = "targetgroup/empty/0000000000000001"
WEB = Balancer(A, R, LB_DIM, ("f1",), (Group(TG_ARN, TG_DIM, "b1"), Group(EMPTY_ARN, EMPTY_DIM, "empty")))


def test_parse_captured_show_stat() -> None:
    snapshot = parse_snapshot(CAPTURED)
    assert snapshot.pid == "16722"
    assert snapshot.rows[("f1", "FRONTEND")] == Row(requests=5, r2xx=3, r4xx=1, r5xx=1, rtime=0.0)
    assert snapshot.rows[("b1", "s1")] == Row(requests=3, r2xx=2, r4xx=1, r5xx=0, rtime=2.0)
    assert snapshot.rows[("b1", "fail-open:s1")] == Row()
    assert snapshot.rows[("empty", "BACKEND")] == Row(requests=1, r5xx=1)


def snap(pid: str, **rows: Row) -> Snapshot:
    return Snapshot(pid, {tuple(k.split("__")): v for k, v in rows.items()})  # type: ignore[misc]


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        pytest.param(None, snap("1", b1__s1=Row(9, 9)), None, id="first read is a baseline"),
        pytest.param(
            snap("1", b1__s1=Row(10, 8, 1, 1)),
            snap("1", b1__s1=Row(25, 20, 3, 2, rtime=7.0)),
            {("b1", "s1"): Row(15, 12, 2, 1, rtime=7.0)},
            id="increments since the last read",
        ),
        pytest.param(
            snap("1", b1__s1=Row(10, 10)),
            snap("2", b1__s1=Row(30, 30)),
            {("b1", "s1"): Row(30, 30)},
            id="reload: a new worker counts from zero, even past the old values",
        ),
        pytest.param(
            snap("1", b1__s1=Row(10, 10)),
            snap("1", b1__s1=Row(4, 4)),
            {("b1", "s1"): Row(4, 4)},
            id="a server re-added at runtime starts again at zero",
        ),
        pytest.param(
            snap("1"),
            snap("1", b1__s2=Row(3, 3)),
            {("b1", "s2"): Row(3, 3)},
            id="a new server counts from zero",
        ),
    ],
)
def test_deltas(
    previous: Snapshot | None, current: Snapshot, expected: dict[tuple[str, str], Row] | None
) -> None:
    assert deltas(previous, current) == expected


def by_name(datums: Sequence[Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, ...]]:
    return {(d.name, tuple(sorted(d.dimensions))): d.values for d in datums}


LB = (("LoadBalancer", LB_DIM),)
PAIR = (("LoadBalancer", LB_DIM), ("TargetGroup", TG_DIM))
EMPTY_PAIR = (("LoadBalancer", LB_DIM), ("TargetGroup", EMPTY_DIM))
HEALTH = {TG_ARN: Health(healthy=2, unhealthy=1, registered=3), EMPTY_ARN: Health()}


@pytest.mark.parametrize(
    ("increments", "health", "expected"),
    [
        pytest.param(
            parse_snapshot(CAPTURED).rows,
            HEALTH,
            {
                ("HealthyHostCount", PAIR): (2.0,),
                ("UnHealthyHostCount", PAIR): (1.0,),
                ("HealthyHostCount", EMPTY_PAIR): (0.0,),
                ("UnHealthyHostCount", EMPTY_PAIR): (0.0,),
                ("RequestCount", LB): (5.0,),
                ("RequestCount", PAIR): (3.0,),
                ("RequestCountPerTarget", PAIR): (1.5,),
                ("RequestCountPerTarget", (("TargetGroup", TG_DIM),)): (1.5,),
                ("HTTPCode_Target_2XX_Count", PAIR): (2.0,),
                ("HTTPCode_Target_4XX_Count", PAIR): (1.0,),
                ("HTTPCode_Target_2XX_Count", LB): (2.0,),
                ("HTTPCode_Target_4XX_Count", LB): (1.0,),
                ("HTTPCode_ELB_5XX_Count", LB): (1.0,),
                ("TargetResponseTime", PAIR): (0.002,),
                ("TargetResponseTime", LB): (0.002,),
            },
            id="the captured counters as one minute",
        ),
        pytest.param(
            None,
            HEALTH,
            {
                ("HealthyHostCount", PAIR): (2.0,),
                ("UnHealthyHostCount", PAIR): (1.0,),
                ("HealthyHostCount", EMPTY_PAIR): (0.0,),
                ("UnHealthyHostCount", EMPTY_PAIR): (0.0,),
            },
            id="baseline or no traffic: host counts only",
        ),
        pytest.param(
            {("b1", "s1"): Row(6, 6), ("b1", "fail-open:s1"): Row(3, 3), ("f1", "FRONTEND"): Row(9, 9)},
            {TG_ARN: Health(healthy=0, unhealthy=3, registered=3), EMPTY_ARN: Health(checked=False)},
            {
                ("HealthyHostCount", PAIR): (0.0,),
                ("UnHealthyHostCount", PAIR): (3.0,),
                ("RequestCount", LB): (9.0,),
                ("RequestCount", PAIR): (9.0,),
                ("RequestCountPerTarget", PAIR): (3.0,),
                ("RequestCountPerTarget", (("TargetGroup", TG_DIM),)): (3.0,),
                ("HTTPCode_Target_2XX_Count", PAIR): (9.0,),
                ("HTTPCode_Target_2XX_Count", LB): (9.0,),
                ("TargetResponseTime", PAIR): (0.0, 0.0),
                ("TargetResponseTime", LB): (0.0, 0.0),
            },
            id="fail-open: twins count, divided among registered targets; unchecked group: no hosts",
        ),
    ],
)
def test_compute(
    increments: Mapping[tuple[str, str], Row] | None,
    health: Mapping[str, Health],
    expected: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, ...]],
) -> None:
    assert by_name(compute([WEB], increments, health)) == expected


def test_response_time_is_weighted_by_requests() -> None:
    increments = {("b1", "s1"): Row(requests=3, r2xx=3, rtime=100.0), ("b1", "s2"): Row(1, 1, rtime=500.0)}
    found = [d for d in compute([WEB], increments, HEALTH) if d.name == "TargetResponseTime"]
    assert {(d.values, d.counts, d.unit) for d in found} == {((0.1, 0.5), (3.0, 1.0), "Seconds")}


def test_health_of_counts_states() -> None:
    doc = {
        "Targets": {
            "a:80": {"State": "healthy"},
            "b:80": {"State": "unhealthy", "Reason": "Target.Timeout"},
            "c:80": {"State": "draining"},
            "d:80": {"State": "initial"},
        }
    }
    assert health_of(doc) == Health(healthy=1, unhealthy=1, registered=3)


def test_topology_names_dimensions_as_aws_does() -> None:
    lb = (A, R, {
        "LoadBalancerArn": LB_ARN, "LoadBalancerName": "web", "Type": "application",
        "DNSName": "web-1.elb.localhost", "dockyard": {"Address": "127.0.200.1"},
    })  # fmt: skip
    listener = f"{P}:listener/app/web/50dc6c495c0c9188/0000000000000002"
    forward = [{"Type": "forward", "TargetGroupArn": TG_ARN}]
    model = build_model(
        Documents(
            load_balancers=[lb],
            listeners=[
                {
                    "ListenerArn": listener,
                    "LoadBalancerArn": LB_ARN,
                    "Port": 80,
                    "Protocol": "HTTP",
                    "DefaultActions": forward,
                }
            ],  # fmt: skip
            rules=[
                {
                    "RuleArn": listener.replace(":listener/", ":listener-rule/") + "/3",
                    "Priority": "default",
                    "Conditions": [],
                    "Actions": forward,
                    "IsDefault": True,
                    "dockyard": {"ListenerArn": listener, "LoadBalancerArn": LB_ARN},
                }
            ],  # fmt: skip
            target_groups=[(A, R, {"TargetGroupArn": TG_ARN, "TargetGroupName": "api", "Protocol": "HTTP"})],
            targets=[],
        )
    )
    (found,) = topology(model)
    assert found.dimension == LB_DIM
    assert [(g.arn, g.dimension) for g in found.groups] == [(TG_ARN, TG_DIM)]
    assert found.frontends == (model.load_balancers[0].listeners[0].frontend,)
    assert topology(model, frozenset()) == (Balancer(A, R, LB_DIM, (), ()),)


def bump(text: str, proxy: str, server: str, **fields: int) -> str:
    """`text` with some counters of one row changed (as a later read would show them)."""
    head, stat = text[: text.index("# pxname")], text[text.index("# pxname") + 2 :]
    rows = list(csv.DictReader(io.StringIO(stat)))
    for row in rows:
        if (row["pxname"], row["svname"]) == (proxy, server):
            row.update({k: str(v) for k, v in fields.items()})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return head + "# " + out.getvalue()


class _Source:
    def __init__(
        self, texts: list[str | None], retired: list[list[str]] | None = None, *, inherited: bool = False
    ) -> None:
        self.texts = texts
        self.retired = retired or []
        self.inherited = inherited

    @property
    def topology(self) -> tuple[Balancer, ...]:
        return (WEB,)

    def checked(self, group_arn: str) -> bool:
        return True

    async def read_counters(self) -> str | None:
        return self.texts.pop(0)

    def retired_counters(self) -> list[str]:
        return self.retired.pop(0) if self.retired else []


class _Sink:
    def __init__(self) -> None:
        self.puts: list[tuple[str, dict[str, str], Sequence[float] | None, float | None]] = []

    async def put(
        self,
        account_id: str,
        region: str,
        namespace: str,
        name: str,
        dimensions: Mapping[str, str],
        *,
        values: Sequence[float] | None = None,
        counts: Sequence[float] | None = None,
        unit: str = "None",
        timestamp: float | None = None,
    ) -> None:
        assert (account_id, region, namespace) == (A, R, "AWS/ApplicationELB")
        self.puts.append((name, dict(dimensions), values, timestamp))


async def test_collect_publishes_the_minute_just_ended() -> None:
    store = SqliteStore(":memory:")
    healthy = {"x:80": {"State": "healthy"}, "y:80": {"State": "healthy"}}
    await store.commit([Put(Key(A, R, "elbv2/target-health", TG_ARN), {"Targets": healthy})])
    later = bump(CAPTURED, "f1", "FRONTEND", req_tot=65)
    clock = FakeClock(start=1_700_000_461.0)  # one second into a minute
    sink = _Sink()
    metrics = LbMetrics(_Source([CAPTURED, later], inherited=True), store, clock, sink)
    assert {d.name for d in await metrics.collect()} == {"HealthyHostCount", "UnHealthyHostCount"}
    published = await metrics.collect()
    assert [(d.name, d.values) for d in published if d.name == "RequestCount"] == [("RequestCount", (60.0,))]
    assert all(stamp == 1_700_000_430.0 for *_, stamp in sink.puts)
    assert (
        "HealthyHostCount",
        {"LoadBalancer": LB_DIM, "TargetGroup": TG_DIM},
        (2.0,),
        1_700_000_430.0,
    ) in sink.puts


async def test_requests_served_before_a_reload_are_counted() -> None:
    """The data plane reads the old worker's counters just before it reloads: what it served since
    the last read counts, and the new worker's counters (from zero) are added to it."""
    store = SqliteStore(":memory:")
    before_reload = bump(CAPTURED, "f1", "FRONTEND", req_tot=25)  # 20 more on the old worker
    new_worker = bump(CAPTURED.replace("Pid: 16722", "Pid: 16800"), "f1", "FRONTEND", req_tot=12)
    source = _Source([CAPTURED, new_worker], retired=[[], [before_reload]], inherited=True)
    metrics = LbMetrics(source, store, FakeClock(start=1_700_000_461.0), _Sink())
    await metrics.collect()  # the baseline
    published = await metrics.collect()
    by_balancer = [d.values for d in published if d.name == "RequestCount" and len(d.dimensions) == 1]
    assert by_balancer == [(32,)]  # 20 on the old worker + 12 on the new one


@pytest.mark.parametrize(
    ("inherited", "first"),
    [
        pytest.param(False, [(5.0,)], id="a worker this server started: everything it served"),
        pytest.param(True, [], id="an inherited worker: a baseline (its server published it)"),
    ],
)
async def test_the_first_read(inherited: bool, first: list[tuple[float, ...]]) -> None:
    store = SqliteStore(":memory:")
    later = bump(CAPTURED, "f1", "FRONTEND", req_tot=9)
    metrics = LbMetrics(
        _Source([CAPTURED, later], inherited=inherited), store, FakeClock(start=1_700_000_461.0), _Sink()
    )

    def by_balancer(datums: list[Any]) -> list[tuple[float, ...]]:
        return [d.values for d in datums if d.name == "RequestCount" and len(d.dimensions) == 1]

    assert by_balancer(await metrics.collect()) == first
    assert by_balancer(await metrics.collect()) == [(4.0,)]


async def test_a_worker_started_after_the_first_read_counts_from_zero() -> None:
    """No HAProxy at the first read: what the worker serves until the next read is counted, not
    taken for a baseline."""
    source = _Source([None, CAPTURED])
    metrics = LbMetrics(source, SqliteStore(":memory:"), FakeClock(start=1_700_000_461.0), _Sink())
    await metrics.collect()
    published = await metrics.collect()
    assert [d.values for d in published if d.name == "RequestCount" and len(d.dimensions) == 1] == [(5.0,)]
