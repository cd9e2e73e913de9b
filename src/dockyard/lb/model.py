"""The data plane's model: what HAProxy must serve, built purely from the ELBv2 documents.

```
elbv2/load-balancer + elbv2/listener + elbv2/rule + elbv2/target-group + elbv2/targets
        --build_model-->  Model(load_balancers[listeners[rules]], target_groups[targets])
```
The ELBv2 API (services/elbv2) writes those documents in botocore's output shapes; this module
reads only what the data plane needs and fills in AWS's defaults for anything missing. Names
that HAProxy sees (frontends, backends, servers) are derived here, so every other module agrees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.lb.rules import Rule, parse_rule

__all__ = [
    "LOAD_BALANCER",
    "LISTENER",
    "RULE",
    "TARGET_GROUP",
    "TARGETS",
    "TARGET_HEALTH",
    "WATCHED_KINDS",
    "Documents",
    "HealthCheck",
    "Target",
    "TargetGroup",
    "Listener",
    "LoadBalancer",
    "Model",
    "build_model",
    "digest",
]

LOAD_BALANCER = "elbv2/load-balancer"
LISTENER = "elbv2/listener"
RULE = "elbv2/rule"
TARGET_GROUP = "elbv2/target-group"
TARGETS = "elbv2/targets"
TARGET_HEALTH = "elbv2/target-health"
WATCHED_KINDS = (LOAD_BALANCER, LISTENER, RULE, TARGET_GROUP, TARGETS)

HTTP_PROTOCOLS = ("HTTP", "HTTPS")
TLS_PROTOCOLS = ("HTTPS", "TLS")
Doc = Mapping[str, Any]


def digest(text: str, size: int = 10) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True, slots=True)
class HealthCheck:
    enabled: bool = True
    protocol: str = "HTTP"  # HTTP | HTTPS | TCP
    port: int | None = None  # None: the traffic port
    path: str = "/"
    interval: int = 30
    timeout: int = 5
    healthy: int = 5
    unhealthy: int = 2
    matcher: str = "200"


@dataclass(frozen=True, slots=True)
class Target:
    id: str
    port: int
    address: str
    draining: bool = False

    @property
    def key(self) -> str:
        """The target's key in `elbv2/target-health`: "<Id>:<Port>"."""
        return f"{self.id}:{self.port}"

    @property
    def server(self) -> str:
        """Its HAProxy server; the name is also the Host header of its health checks."""
        return f"{self.address}:{self.port}"

    @property
    def backup(self) -> str:
        """Its unchecked `backup` twin, used only when no target is up (fail-open)."""
        return f"fail-open:{self.address}:{self.port}"


@dataclass(frozen=True, slots=True)
class TargetGroup:
    arn: str
    name: str
    account: str
    region: str
    protocol: str = "HTTP"
    port: int = 80
    health: HealthCheck = field(default_factory=HealthCheck)
    algorithm: str = "round_robin"
    slow_start: int = 0
    stickiness: int | None = None  # lb_cookie duration in seconds when enabled
    proxy_protocol: bool = False
    targets: tuple[Target, ...] = ()

    @property
    def backend(self) -> str:
        return f"tg.{self.name}.{digest(self.arn)}"

    @property
    def mode(self) -> str:
        return "http" if self.protocol in HTTP_PROTOCOLS else "tcp"

    @property
    def cookie(self) -> str:
        """The value of the `AWSALBTG` cookie that keeps a client on this group."""
        return digest(self.arn, 32)


@dataclass(frozen=True, slots=True)
class Listener:
    arn: str
    port: int
    protocol: str
    rules: tuple[Rule, ...]  # by ascending priority; the default rule last
    certificate: str | None = None  # HTTPS/TLS: the ACM certificate ARN it serves
    ssl_policy: str = ""

    @property
    def tls(self) -> bool:
        return self.protocol in TLS_PROTOCOLS

    @property
    def frontend(self) -> str:
        return f"listener.{self.port}.{digest(self.arn)}"

    @property
    def mode(self) -> str:
        return "http" if self.protocol in HTTP_PROTOCOLS else "tcp"


@dataclass(frozen=True, slots=True)
class LoadBalancer:
    arn: str
    name: str
    type: str  # application | network
    dns_name: str
    address: str
    account: str
    region: str
    attributes: Mapping[str, str]
    listeners: tuple[Listener, ...]

    def attribute(self, name: str, default: str) -> str:
        return str(self.attributes.get(name, default))

    @property
    def idle_timeout(self) -> int:
        default = "60" if self.type == "application" else "350"
        return _int(self.attribute("idle_timeout.timeout_seconds", default), int(default))


@dataclass(frozen=True, slots=True)
class Model:
    load_balancers: tuple[LoadBalancer, ...] = ()
    target_groups: Mapping[str, TargetGroup] = field(default_factory=dict)

    def idle_timeout(self, group_arn: str) -> int:
        """The longest idle timeout among the load balancers forwarding to the group."""
        timeouts = [
            lb.idle_timeout
            for lb in self.load_balancers
            for listener in lb.listeners
            for rule in listener.rules
            if group_arn in rule.action.target_groups()
        ]
        return max(timeouts, default=60)


@dataclass(frozen=True, slots=True)
class Documents:
    """The ELBv2 documents of every account and region: (account, region, body) per kind."""

    load_balancers: list[tuple[str, str, Doc]] = field(default_factory=list)
    listeners: list[Doc] = field(default_factory=list)
    rules: list[Doc] = field(default_factory=list)
    target_groups: list[tuple[str, str, Doc]] = field(default_factory=list)
    targets: list[Doc] = field(default_factory=list)


def _health_check(doc: Doc) -> HealthCheck:
    tcp = doc.get("Protocol") not in HTTP_PROTOCOLS
    protocol = str(doc.get("HealthCheckProtocol") or ("TCP" if tcp else "HTTP"))
    port = doc.get("HealthCheckPort") or "traffic-port"
    matcher = (doc.get("Matcher") or {}).get("HttpCode") or ("200-399" if tcp else "200")
    return HealthCheck(
        enabled=doc.get("HealthCheckEnabled", True) is not False,
        protocol=protocol,
        port=None if port == "traffic-port" else _int(port, 0) or None,
        path=str(doc.get("HealthCheckPath") or "/"),
        interval=_int(doc.get("HealthCheckIntervalSeconds"), 30),
        timeout=_int(doc.get("HealthCheckTimeoutSeconds"), 10 if tcp else 5),
        healthy=_int(doc.get("HealthyThresholdCount"), 5),
        unhealthy=_int(doc.get("UnhealthyThresholdCount"), 2),
        matcher=str(matcher),
    )


def _targets(doc: Doc | None, default_port: int) -> tuple[Target, ...]:
    if doc is None:
        return ()
    found: dict[str, Target] = {}
    for entry in doc.get("Targets") or []:
        port = _int(entry.get("Port"), default_port)
        address = str(entry.get("Address") or entry.get("Id") or "")
        if not address or address.startswith("i-"):
            continue  # an instance whose address is unknown cannot be reached
        target = Target(str(entry["Id"]), port, address, draining="DeregisteredAt" in entry)
        previous = found.get(target.server)
        if previous is None or (previous.draining and not target.draining):
            found[target.server] = target  # one server per address: the registered one wins
    return tuple(sorted(found.values(), key=lambda t: (t.address, t.port)))


def _target_group(account: str, region: str, doc: Doc, targets: Doc | None) -> TargetGroup:
    attributes: Mapping[str, str] = (doc.get("dockyard") or {}).get("Attributes") or {}
    port = _int(doc.get("Port"), 80)
    sticky = str(attributes.get("stickiness.enabled", "false")) == "true"
    sticky_type = str(attributes.get("stickiness.type", "lb_cookie"))
    return TargetGroup(
        arn=str(doc["TargetGroupArn"]),
        name=str(doc.get("TargetGroupName") or "tg"),
        account=account,
        region=region,
        protocol=str(doc.get("Protocol") or "HTTP"),
        port=port,
        health=_health_check(doc),
        algorithm=str(attributes.get("load_balancing.algorithm.type", "round_robin")),
        slow_start=_int(attributes.get("slow_start.duration_seconds"), 0),
        stickiness=(
            _int(attributes.get("stickiness.lb_cookie.duration_seconds"), 86400)
            if sticky and sticky_type == "lb_cookie"
            else None
        ),
        proxy_protocol=str(attributes.get("proxy_protocol_v2.enabled", "false")) == "true",
        targets=_targets(targets, port),
    )


def _listener(doc: Doc, rules: Iterable[Doc]) -> Listener:
    parsed = [parse_rule(r) for r in rules]
    if not any(r.priority is None for r in parsed):  # the default rule lives on the listener too
        parsed.append(parse_rule({"Priority": "default", "Actions": doc.get("DefaultActions") or []}))
    ordered = sorted(parsed, key=lambda r: (r.priority is None, r.priority or 0))
    certificates = doc.get("Certificates") or []
    return Listener(
        arn=str(doc["ListenerArn"]),
        port=_int(doc.get("Port"), 80),
        protocol=str(doc.get("Protocol") or "HTTP"),
        rules=tuple(ordered),
        certificate=str(certificates[0]["CertificateArn"]) if certificates else None,
        ssl_policy=str(doc.get("SslPolicy") or ""),
    )


def build_model(docs: Documents) -> Model:
    targets_by_group = {str(d.get("TargetGroupArn")): d for d in docs.targets}
    groups = {
        str(doc["TargetGroupArn"]): _target_group(
            account, region, doc, targets_by_group.get(str(doc["TargetGroupArn"]))
        )
        for account, region, doc in docs.target_groups
    }
    rules_by_listener: dict[str, list[Doc]] = {}
    for rule in docs.rules:
        owner = (rule.get("dockyard") or {}).get("ListenerArn") or _listener_of(str(rule.get("RuleArn", "")))
        rules_by_listener.setdefault(str(owner), []).append(rule)
    listeners_by_lb: dict[str, list[Listener]] = {}
    for doc in docs.listeners:
        listener = _listener(doc, rules_by_listener.get(str(doc["ListenerArn"]), []))
        listeners_by_lb.setdefault(str(doc.get("LoadBalancerArn")), []).append(listener)
    balancers = []
    for account, region, doc in docs.load_balancers:
        internal = doc.get("dockyard") or {}
        state = (doc.get("State") or {}).get("Code", "active")
        if state == "failed" or not internal.get("Address"):
            continue
        arn = str(doc["LoadBalancerArn"])
        balancers.append(
            LoadBalancer(
                arn=arn,
                name=str(doc.get("LoadBalancerName") or "lb"),
                type=str(doc.get("Type") or "application"),
                dns_name=str(doc.get("DNSName") or ""),
                address=str(internal["Address"]),
                account=account,
                region=region,
                attributes=dict(internal.get("Attributes") or {}),
                listeners=tuple(sorted(listeners_by_lb.get(arn, []), key=lambda li: li.port)),
            )
        )
    balancers.sort(key=lambda lb: (lb.address, lb.arn))
    return Model(load_balancers=tuple(balancers), target_groups=groups)


def _listener_of(rule_arn: str) -> str:
    """`...:listener-rule/app/n/lb/l/r` -> `...:listener/app/n/lb/l`."""
    head, _, _ = rule_arn.rpartition("/")
    return head.replace(":listener-rule/", ":listener/", 1)
