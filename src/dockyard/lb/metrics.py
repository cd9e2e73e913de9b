"""The `AWS/ApplicationELB` CloudWatch metrics, from HAProxy's counters and the target health.

```
every (server clock) minute:
  DataPlane.read_counters()  ->  `show info; show stat -1 7 -1`  -> parse_snapshot -> Snapshot
  deltas(previous, current)  ->  per-row increments since the last read (a reload starts a new
                                 worker whose counters begin at 0: a new Pid means "from zero";
                                 the data plane reads the old worker's counters just before a
                                 reload, so what it served up to then is counted too; a worker
                                 this server started counts from zero at its first read, one it
                                 inherited from an earlier server only from there on)
  elbv2/target-health        ->  healthy / unhealthy / registered targets per target group
  compute(topology, increments, health) -> datums  -> MetricSink.put (CloudWatch's Metrics.put)
```

| Metric (dimension sets: LB = {LoadBalancer}, LB+TG = {LoadBalancer, TargetGroup}) | From  |
|---|---|
| RequestCount: LB | Σ the listener frontends' `req_tot` |
| RequestCount: LB+TG | Σ the group's servers' `req_tot` (requests a target got) |
| RequestCountPerTarget: {TargetGroup}, LB+TG | the group's requests / its healthy targets |
| TargetResponseTime (Seconds): LB, LB+TG | the servers' `rtime`, weighted by their requests |
| HTTPCode_Target_2XX/4XX/5XX_Count: LB, LB+TG | the servers' `hrsp_2xx` / `4xx` / `5xx` |
| HTTPCode_ELB_5XX_Count: LB | the frontends' `hrsp_5xx` less the targets' 5xx |
| HealthyHostCount / UnHealthyHostCount: LB+TG | `elbv2/target-health` states |

As on AWS, request metrics are reported only when they are not zero (no traffic: no datapoint),
host counts every minute while the group's health checks are enabled. Dimension values are as
AWS forms them: `app/<name>/<id>` and `targetgroup/<name>/<id>` (the ARNs' resource parts).
HAProxy's `rtime` is its average over the last 1024 responses, in milliseconds: each server's
average is one value weighted by that server's requests of the minute. A request to a group
without any healthy target is divided among its registered targets (ALB fails open to them).
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dockyard.core.clock import Clock
from dockyard.lb.model import TARGET_HEALTH, Model
from dockyard.store import Store

__all__ = [
    "COUNTERS_COMMAND",
    "NAMESPACE",
    "PERIOD",
    "Balancer",
    "CounterSource",
    "Datum",
    "FROM_ZERO",
    "Group",
    "Health",
    "LbMetrics",
    "MetricSink",
    "Row",
    "Snapshot",
    "compute",
    "deltas",
    "health_of",
    "parse_snapshot",
    "topology",
]

log = logging.getLogger(__name__)

NAMESPACE = "AWS/ApplicationELB"
PERIOD = 60.0
COUNTERS_COMMAND = "show info;show stat -1 7 -1"
_SETTLE = 1.0  # clock seconds past the minute before reading, so the minute is complete


class MetricSink(Protocol):
    """Publishes datapoints of an `AWS/*` metric (CloudWatch's in-process `Metrics.put`)."""

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
    ) -> None: ...


# -- HAProxy's counters --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """The counters of one `show stat` row (a frontend, a backend or a server)."""

    requests: int = 0  # req_tot
    r2xx: int = 0
    r4xx: int = 0
    r5xx: int = 0
    rtime: float = 0.0  # ms, HAProxy's average over the last 1024 responses (not a counter)

    def minus(self, before: Row) -> Row:
        counters = (self.requests, self.r2xx, self.r4xx, self.r5xx)
        previous = (before.requests, before.r2xx, before.r4xx, before.r5xx)
        if any(now < then for now, then in zip(counters, previous, strict=True)):
            return self  # reset since (a runtime-added server deleted and added again)
        requests, r2xx, r4xx, r5xx = (now - then for now, then in zip(counters, previous, strict=True))
        return Row(requests, r2xx, r4xx, r5xx, self.rtime)


@dataclass(frozen=True, slots=True)
class Snapshot:
    pid: str  # the worker's; a reload replaces it (and zeroes every counter)
    rows: Mapping[tuple[str, str], Row]  # (pxname, svname) -> counters


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def parse_snapshot(text: str) -> Snapshot:
    """`show info;show stat -1 7 -1` output: the worker's Pid and every row's counters."""
    pid = ""
    for line in text.splitlines():
        if line.startswith("Pid:"):
            pid = line.split(":", 1)[1].strip()
            break
    start = text.find("# pxname")
    rows: dict[tuple[str, str], Row] = {}
    if start >= 0:
        for row in csv.DictReader(io.StringIO(text[start + 2 :])):
            proxy, name = row.get("pxname") or "", row.get("svname") or ""
            if not proxy or not name:
                continue
            rows[(proxy, name)] = Row(
                requests=_int(row.get("req_tot")),
                r2xx=_int(row.get("hrsp_2xx")),
                r4xx=_int(row.get("hrsp_4xx")),
                r5xx=_int(row.get("hrsp_5xx")),
                rtime=float(_int(row.get("rtime"))),
            )
    return Snapshot(pid=pid, rows=rows)


FROM_ZERO = Snapshot(pid="", rows={})  # "before" a worker this server started: nothing counted yet


def deltas(previous: Snapshot | None, current: Snapshot) -> dict[tuple[str, str], Row] | None:
    """What each row counted since `previous`; None without one (a baseline only: an inherited
    HAProxy's counters cover its whole life, published by the server that ran it). A new worker
    (reload, or `FROM_ZERO` before the first read) counts from zero."""
    if previous is None:
        return None
    before = previous.rows if previous.pid == current.pid else {}
    return {key: row.minus(before.get(key, Row())) for key, row in current.rows.items()}


# -- what the counters mean ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Group:
    arn: str
    dimension: str  # targetgroup/<name>/<id>
    backend: str


@dataclass(frozen=True, slots=True)
class Balancer:
    account: str
    region: str
    dimension: str  # app/<name>/<id>
    frontends: tuple[str, ...]
    groups: tuple[Group, ...]


@dataclass(frozen=True, slots=True)
class Health:
    healthy: int = 0
    unhealthy: int = 0
    registered: int = 0  # not draining
    checked: bool = True


def _resource(arn: str) -> str:
    """`app/<name>/<id>` or `targetgroup/<name>/<id>`: the ARN's resource, less `loadbalancer/`."""
    resource = arn.split(":", 5)[-1]
    return resource.removeprefix("loadbalancer/")


def topology(model: Model, served: frozenset[str] | None = None) -> tuple[Balancer, ...]:
    """The application load balancers, their served HTTP listeners' frontends and their groups."""
    out = []
    for lb in model.load_balancers:
        if lb.type != "application":
            continue
        listeners = [li for li in lb.listeners if li.mode == "http" and (served is None or li.arn in served)]
        groups: dict[str, Group] = {}
        for listener in listeners:
            for rule in listener.rules:
                for arn in rule.action.target_groups():
                    group = model.target_groups.get(arn)
                    if group is not None and arn not in groups:
                        groups[arn] = Group(arn, _resource(arn), group.backend)
        out.append(
            Balancer(
                account=lb.account,
                region=lb.region,
                dimension=_resource(lb.arn),
                frontends=tuple(li.frontend for li in listeners),
                groups=tuple(sorted(groups.values(), key=lambda g: g.arn)),
            )
        )
    return tuple(out)


def health_of(document: Mapping[str, Any], *, checked: bool = True) -> Health:
    """Counts from an `elbv2/target-health` document ({"Targets": {key: {"State": ...}}})."""
    states = [str(h.get("State")) for h in (document.get("Targets") or {}).values()]
    return Health(
        healthy=states.count("healthy"),
        unhealthy=states.count("unhealthy"),
        registered=sum(s != "draining" for s in states),
        checked=checked,
    )


@dataclass(frozen=True, slots=True)
class Datum:
    account: str
    region: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    values: tuple[float, ...]
    counts: tuple[float, ...]
    unit: str = "Count"


@dataclass
class _Sums:
    requests: int = 0
    r2xx: int = 0
    r4xx: int = 0
    r5xx: int = 0
    times: list[tuple[float, float]] = field(default_factory=list)  # (seconds, requests)

    def add(self, other: _Sums) -> None:
        self.requests += other.requests
        self.r2xx += other.r2xx
        self.r4xx += other.r4xx
        self.r5xx += other.r5xx
        self.times += other.times


def _backend(backend: str, increments: Mapping[tuple[str, str], Row]) -> _Sums:
    sums = _Sums()
    for (proxy, server), row in increments.items():
        if proxy != backend or server in ("FRONTEND", "BACKEND"):
            continue
        sums.add(_Sums(row.requests, row.r2xx, row.r4xx, row.r5xx))
        if row.requests:
            sums.times.append((row.rtime / 1000.0, float(row.requests)))
    return sums


def compute(
    balancers: Iterable[Balancer],
    increments: Mapping[tuple[str, str], Row] | None,
    health: Mapping[str, Health],
) -> list[Datum]:
    """The minute's datums: request metrics from `increments` (None: none this time), host
    counts from `health` (target group ARN -> counts)."""
    out: list[Datum] = []
    for lb in balancers:

        def put(
            name: str, dims: dict[str, str], value: float, *, unit: str = "Count", lb: Balancer = lb
        ) -> None:
            out.append(Datum(lb.account, lb.region, name, tuple(dims.items()), (value,), (1.0,), unit))

        def times(dims: dict[str, str], sums: _Sums, lb: Balancer = lb) -> None:
            if sums.times:
                values, counts = zip(*sums.times, strict=True)
                out.append(Datum(lb.account, lb.region, "TargetResponseTime", tuple(dims.items()),
                                 tuple(values), tuple(counts), "Seconds"))  # fmt: skip

        whole = {"LoadBalancer": lb.dimension}
        for group in lb.groups:
            pair = {"LoadBalancer": lb.dimension, "TargetGroup": group.dimension}
            state = health.get(group.arn, Health())
            if state.checked:
                put("HealthyHostCount", pair, state.healthy)
                put("UnHealthyHostCount", pair, state.unhealthy)
        if increments is None:
            continue
        total = _Sums()
        for group in lb.groups:
            pair = {"LoadBalancer": lb.dimension, "TargetGroup": group.dimension}
            sums = _backend(group.backend, increments)
            total.add(sums)
            for name, count in _codes(sums):
                put(name, pair, count)
            times(pair, sums)
            if sums.requests:
                put("RequestCount", pair, sums.requests)
                state = health.get(group.arn, Health())
                divisor = state.healthy or state.registered or 1
                per_target = sums.requests / divisor
                put("RequestCountPerTarget", pair, per_target)
                put("RequestCountPerTarget", {"TargetGroup": group.dimension}, per_target)
        received = sum(increments.get((f, "FRONTEND"), Row()).requests for f in lb.frontends)
        answered_5xx = sum(increments.get((f, "FRONTEND"), Row()).r5xx for f in lb.frontends)
        if received:
            put("RequestCount", whole, received)
        for name, count in _codes(total):
            put(name, whole, count)
        times(whole, total)
        if answered_5xx > total.r5xx:
            put("HTTPCode_ELB_5XX_Count", whole, answered_5xx - total.r5xx)
    return out


def _codes(sums: _Sums) -> list[tuple[str, int]]:
    found = [
        ("HTTPCode_Target_2XX_Count", sums.r2xx),
        ("HTTPCode_Target_4XX_Count", sums.r4xx),
        ("HTTPCode_Target_5XX_Count", sums.r5xx),
    ]
    return [(name, count) for name, count in found if count]


# -- the loop ------------------------------------------------------------------------------------


class CounterSource(Protocol):
    """What the publisher needs from the data plane (`DataPlane` is one)."""

    @property
    def topology(self) -> tuple[Balancer, ...]: ...

    def checked(self, group_arn: str) -> bool: ...

    @property
    def inherited(self) -> bool:
        """Whether the HAProxy serving now was adopted from an earlier server (which published
        what it had counted); False when this server started it."""
        ...

    async def read_counters(self) -> str | None: ...

    def retired_counters(self) -> list[str]:
        """The counters of each worker a reload replaced since the last call, oldest first."""
        ...


def merged(
    a: dict[tuple[str, str], Row] | None, b: dict[tuple[str, str], Row] | None
) -> dict[tuple[str, str], Row] | None:
    """Increments of two consecutive spans (before and after a reload) added up."""
    if a is None or b is None:
        return b if a is None else a
    keys = set(a) | set(b)
    out = {}
    for key in keys:
        x, y = a.get(key, Row()), b.get(key, Row())
        out[key] = Row(
            x.requests + y.requests, x.r2xx + y.r2xx, x.r4xx + y.r4xx, x.r5xx + y.r5xx, y.rtime or x.rtime
        )
    return out


class LbMetrics:
    """Once a (server clock) minute: read the counters, publish the minute's datums."""

    def __init__(self, source: CounterSource, store: Store, clock: Clock, sink: MetricSink) -> None:
        self._source = source
        self._store = store
        self._clock = clock
        self._sink = sink
        self._previous: Snapshot | None = None

    async def run(self) -> None:
        while True:
            now = self._clock.now()
            await self._clock.sleep(PERIOD - now % PERIOD + _SETTLE)
            try:
                await self.collect()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("load balancers: publishing their metrics failed")

    async def collect(self) -> list[Datum]:
        """Read and publish once; the datums published (stamped in the minute just ended)."""
        balancers = self._source.topology
        increments: dict[tuple[str, str], Row] | None = None
        if self._previous is None and not self._source.inherited:
            self._previous = FROM_ZERO  # every request the worker served is this server's to count
        for retired in self._source.retired_counters():
            # What each replaced worker counted since the read before, up to its reload.
            last = parse_snapshot(retired)
            increments = merged(increments, deltas(self._previous, last))
            self._previous = last
        text = await self._source.read_counters()
        if text is not None:
            current = parse_snapshot(text)
            increments = merged(increments, deltas(self._previous, current))
            self._previous = current
        if not balancers:
            return []
        health = {
            doc.key.name: health_of(doc.value, checked=self._source.checked(doc.key.name))
            for doc in await self._store.list(TARGET_HEALTH)
        }
        for lb in balancers:
            for group in lb.groups:
                health.setdefault(group.arn, Health(checked=self._source.checked(group.arn)))
        datums = compute(balancers, increments, health)
        stamp = (self._clock.now() // PERIOD) * PERIOD - PERIOD / 2  # mid-way through the last minute
        for datum in datums:
            await self._sink.put(
                datum.account,
                datum.region,
                NAMESPACE,
                datum.name,
                dict(datum.dimensions),
                values=datum.values,
                counts=datum.counts,
                unit=datum.unit,
                timestamp=stamp,
            )
        return datums
