"""Rendering the HAProxy configuration from ELBv2 documents: table-driven, and `haproxy -c` on each."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dockyard.lb.acl import condition_acl, quote, wildcard_regex
from dockyard.lb.config import Paths, Selection, render, server_arguments
from dockyard.lb.model import Documents, Target, build_model
from dockyard.lb.rules import Condition

POOL = " pool-max-conn -1 pool-purge-delay 5s"  # every server keeps idle connections
A, R = "123456789012", "us-east-1"
P = f"arn:aws:elasticloadbalancing:{R}:{A}"
LB = f"{P}:loadbalancer/app/web/00000000000000aa"
NLB = f"{P}:loadbalancer/net/tcp/00000000000000bb"
LISTENER = f"{P}:listener/app/web/00000000000000aa/0000000000000001"
TG1 = f"{P}:targetgroup/api/0000000000000011"
TG2 = f"{P}:targetgroup/web/0000000000000022"
TG3 = f"{P}:targetgroup/tcp/0000000000000033"


def lb(arn: str = LB, kind: str = "application", **attributes: str) -> tuple[str, str, dict[str, Any]]:
    return (
        A,
        R,
        {
            "LoadBalancerArn": arn,
            "LoadBalancerName": arn.split("/")[-2],
            "Type": kind,
            "DNSName": f"{arn.split('/')[-2]}-1.{R}.elb.localhost",
            "State": {"Code": "active"},
            "dockyard": {
                "Address": "127.0.200.1" if kind == "application" else "127.0.200.2",
                "Attributes": attributes,
            },
        },
    )


def tg(
    arn: str, protocol: str = "HTTP", attributes: dict[str, str] | None = None, **fields: Any
) -> tuple[str, str, dict[str, Any]]:
    return (
        A,
        R,
        {
            "TargetGroupArn": arn,
            "TargetGroupName": arn.split("/")[-2],
            "Protocol": protocol,
            "Port": 80,
            "dockyard": {"Attributes": attributes or {}},
            **fields,
        },
    )


def listener(
    default: list[dict[str, Any]], *, arn: str = LISTENER, lb_arn: str = LB, protocol: str = "HTTP"
) -> dict[str, Any]:
    return {
        "ListenerArn": arn,
        "LoadBalancerArn": lb_arn,
        "Port": 8080,
        "Protocol": protocol,
        "DefaultActions": default,
    }


def rule(priority: int, conditions: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "RuleArn": f"{LISTENER.replace(':listener/', ':listener-rule/')}/{priority:016x}",
        "Priority": str(priority),
        "Conditions": conditions,
        "Actions": actions,
        "IsDefault": False,
        "dockyard": {"ListenerArn": LISTENER},
    }


def fwd(arn: str) -> list[dict[str, Any]]:
    return [{"Type": "forward", "TargetGroupArn": arn}]


def targets(arn: str, *entries: tuple[str, int, bool]) -> dict[str, Any]:
    return {
        "TargetGroupArn": arn,
        "Targets": [
            {"Id": ip, "Port": port, "Address": ip, **({"DeregisteredAt": 1.0} if draining else {})}
            for ip, port, draining in entries
        ],
    }


def docs(**parts: Any) -> Documents:
    return Documents(
        load_balancers=parts.get("lbs", [lb()]),
        listeners=parts.get("listeners", [listener(fwd(TG1))]),
        rules=parts.get("rules", []),
        target_groups=parts.get("tgs", [tg(TG1), tg(TG2)]),
        targets=parts.get("targets", []),
    )


PATHS = Paths(Path("/tmp/dockyard-lb-unit"), Path("/tmp/dockyard-lb-unit"))

CASES: list[tuple[str, Documents, list[str], list[str]]] = [
    (
        "default forward: a frontend on the LB's address, default_backend, ALB headers",
        docs(),
        [
            "    bind 127.0.200.1:8080",
            "    default_backend tg.api.",
            '    http-request set-header X-Forwarded-For "%[req.fhdr(X-Forwarded-For)], %[src]" if { req.fhdr(X-Forwarded-For) -m found }',  # noqa: E501
            "    http-request set-header X-Forwarded-Proto http",
            "    http-request set-header X-Forwarded-Port 8080",
            "    timeout client 60s",
            "    option allbackups",
            "    balance roundrobin",
            '    http-check send meth GET uri "/" ver HTTP/1.1 hdr Host %[srv_name] hdr User-Agent ELB-HealthChecker/2.0',  # noqa: E501
            "    http-check expect status 200",
            "    timeout check 5s",
            "    stats socket /tmp/dockyard-lb-unit/admin.sock mode 600 level admin expose-fd listeners",
            "    retries 0",
        ],
        ["backend tg.web.", "set-var(txn.rule)"],  # an unused group gets no backend; no rules to match
    ),
    (
        "health check settings map to inter/rise/fall, expect status ranges, the check port",
        docs(
            tgs=[
                tg(
                    TG1,
                    HealthCheckPath="/healthz",
                    HealthCheckIntervalSeconds=10,
                    HealthCheckTimeoutSeconds=4,
                    HealthyThresholdCount=3,
                    UnhealthyThresholdCount=4,
                    HealthCheckPort="9000",
                    Matcher={"HttpCode": "200-299,302"},
                )
            ],
            targets=[targets(TG1, ("10.0.0.5", 8080, False))],
        ),
        [
            "    http-check expect status 200-299,302",
            "    timeout check 4s",
            '    http-check send meth GET uri "/healthz" ver HTTP/1.1 hdr Host %[srv_name] hdr User-Agent ELB-HealthChecker/2.0',  # noqa: E501
        ],
        [],
    ),
    (
        "algorithms, slow start and idle timeout",
        docs(
            lbs=[lb(**{"idle_timeout.timeout_seconds": "120"})],
            tgs=[
                tg(
                    TG1,
                    attributes={
                        "load_balancing.algorithm.type": "least_outstanding_requests",
                        "slow_start.duration_seconds": "30",
                    },
                )
            ],
        ),
        [
            "    balance leastconn",
            "    timeout client 120s",
            "    timeout server 120s",
            "    timeout http-keep-alive 120s",
        ],
        [],
    ),
    (
        "lb_cookie stickiness: AWSALB and AWSALBCORS from a stick table",
        docs(
            tgs=[
                tg(
                    TG1,
                    attributes={"stickiness.enabled": "true", "stickiness.lb_cookie.duration_seconds": "600"},
                )
            ]
        ),
        [
            "    stick-table type string len 36 size 1m expire 600s",
            "    stick match var(txn.awsalb)",
            '    http-response add-header Set-Cookie "AWSALB=%[var(txn.awsalb)]; Expires=%[date(600),http_date]; Path=/"',  # noqa: E501
        ],
        [],
    ),
    (
        "rules in priority order, first match wins; the default rule last",
        docs(
            rules=[
                rule(
                    20,
                    [{"Field": "host-header", "HostHeaderConfig": {"Values": ["*.Example.com"]}}],
                    fwd(TG2),
                ),
                rule(
                    10,
                    [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*", "/v?/x.y"]}}],
                    fwd(TG2),
                ),
            ]
        ),
        [
            '    http-request set-var(txn.rule) int(10) if !{ var(txn.rule) -m found } { path -m reg "^/api/.*\\$" "^/v./x\\\\.y\\$" }',  # noqa: E501
            '    http-request set-var(txn.rule) int(20) if !{ var(txn.rule) -m found } { req.hdr(host),field(1,:),lower -m reg "^.*\\\\.example\\\\.com\\$" }',  # noqa: E501
            "    use_backend tg.web.",
            "    default_backend tg.api.",
        ],
        [],
    ),
    (
        "weighted forward with group stickiness (AWSALBTG)",
        docs(
            rules=[
                rule(
                    5,
                    [{"Field": "path-pattern", "Values": ["/split"]}],
                    [
                        {
                            "Type": "forward",
                            "ForwardConfig": {
                                "TargetGroups": [
                                    {"TargetGroupArn": TG1, "Weight": 30},
                                    {"TargetGroupArn": TG2, "Weight": 70},
                                ],
                                "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 900},
                            },
                        }
                    ],
                )
            ]
        ),
        [
            "    http-request set-var(txn.weight) rand(100) if { var(txn.rule) -m int 5 }",
            "{ var(txn.weight) -m int lt 30 }",
            "{ req.cook(AWSALBTG) -m str ",
            "Expires=%[date(900),http_date]; Path=/",
        ],
        [],
    ),
    (
        "fixed-response, redirect, a forward to a group that does not exist (503)",
        docs(
            rules=[
                rule(
                    1,
                    [{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST"]}}],
                    [
                        {
                            "Type": "fixed-response",
                            "FixedResponseConfig": {
                                "StatusCode": "404",
                                "ContentType": "text/html",
                                "MessageBody": "<b>no</b>",
                            },
                        }
                    ],
                ),
                rule(
                    2,
                    [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}],
                    [
                        {
                            "Type": "redirect",
                            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
                        }
                    ],
                ),
                rule(
                    3,
                    [{"Field": "path-pattern", "Values": ["/gone"]}],
                    fwd(f"{P}:targetgroup/gone/0000000000000099"),
                ),
                rule(
                    4,
                    [{"Field": "path-pattern", "Values": ["/empty"]}],
                    [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "204"}}],
                ),
            ]
        ),
        [
            '    http-request return status 404 content-type "text/html" file "/tmp/dockyard-lb-unit/bodies/',
            '    http-request redirect location "https://%[req.hdr(host),field(1,:)]:443/%[path,regsub(^/,)]?%[query]" code 301 if { var(txn.rule) -m int 2 } { query -m len gt 0 }',  # noqa: E501
            "    http-after-response set-header Server awselb/2.0 if { var(txn.rule) -m int 2 }",
            '    http-request return status 503 content-type text/html file "/tmp/dockyard-lb-unit/errors/503.html" hdr Server awselb/2.0 if { var(txn.rule) -m int 3 }',  # noqa: E501
            "    http-request return status 204 hdr Server awselb/2.0 if { var(txn.rule) -m int 4 }",
            '{ src "10.0.0.0/8" }',
            '{ method -m str "POST" }',
        ],
        [],
    ),
    (
        "xff modes: remove, and the client port",
        docs(lbs=[lb(**{"routing.http.xff_header_processing.mode": "remove"})]),
        ["    http-request del-header X-Forwarded-For"],
        ["set-header X-Forwarded-For"],
    ),
    (
        "xff client port",
        docs(lbs=[lb(**{"routing.http.xff_client_port.enabled": "true"})]),
        [
            '    http-request set-header X-Forwarded-For "%[src]:%[src_port]" unless { req.fhdr(X-Forwarded-For) -m found }'  # noqa: E501
        ],
        [],
    ),
    (
        "NLB: TCP frontend and backend, TCP checks",
        docs(
            lbs=[lb(NLB, "network")],
            listeners=[
                listener(
                    fwd(TG3),
                    arn=f"{P}:listener/net/tcp/00000000000000bb/0000000000000002",
                    lb_arn=NLB,
                    protocol="TCP",
                )
            ],
            tgs=[tg(TG3, "TCP", attributes={"proxy_protocol_v2.enabled": "true"})],
            targets=[targets(TG3, ("10.0.0.9", 5432, False))],
        ),
        ["    mode tcp", "    bind 127.0.200.2:8080", "    timeout client 350s"],
        ["option httpchk", "X-Forwarded-For"],
    ),
    (
        "HTTPS listeners are not served (no certificates here)",
        docs(listeners=[listener(fwd(TG1), protocol="HTTPS")]),
        [],
        ["frontend listener."],
    ),
]


@pytest.mark.parametrize("name,documents,present,absent", CASES, ids=[c[0] for c in CASES])
def test_rendering(name: str, documents: Documents, present: list[str], absent: list[str]) -> None:
    text = render(build_model(documents), PATHS, Selection(servers={})).text
    lines = text.splitlines()
    for wanted in present:
        assert any(wanted in line for line in lines), f"{name}: missing {wanted!r}"
    for unwanted in absent:
        assert not any(unwanted in line for line in lines), f"{name}: unexpected {unwanted!r}"


def test_servers_are_written_only_when_selected_and_do_not_change_the_structure() -> None:
    documents = docs(targets=[targets(TG1, ("10.0.0.5", 8080, False), ("10.0.0.6", 8080, True))])
    model = build_model(documents)
    backend = model.target_groups[TG1].backend
    bare = render(model, PATHS)
    full = render(
        model, PATHS, Selection(servers={backend: frozenset({"10.0.0.5:8080", "fail-open:10.0.0.5:8080"})})
    )
    assert bare.structure == full.structure
    assert (
        f"    server 10.0.0.5:8080 10.0.0.5:8080 check inter 30s rise 5 fall 2 weight 100{POOL}" in full.text
    )
    assert f"    server fail-open:10.0.0.5:8080 10.0.0.5:8080 backup weight 100{POOL}" in full.text
    assert "10.0.0.6" not in full.text
    held = render(
        model,
        PATHS,
        Selection(
            servers={backend: frozenset({"10.0.0.5:8080"})}, held=frozenset({f"{backend}/10.0.0.5:8080"})
        ),
    )
    assert (
        f"    server 10.0.0.5:8080 10.0.0.5:8080 check inter 30s rise 5 fall 2 weight 100{POOL} disabled"
        in held.text
    )
    assert held.structure == bare.structure
    assert "server 10.0.0.5" not in bare.text
    slow = docs(
        tgs=[tg(TG1, attributes={"slow_start.duration_seconds": "30", "proxy_protocol_v2.enabled": "true"})]
    )
    group = build_model(slow).target_groups[TG1]
    target = Target("10.0.0.7", 80, "10.0.0.7")
    assert server_arguments(group, target, backup=False).endswith(
        f"weight 100{POOL} slowstart 30s send-proxy-v2"
    )
    assert (
        server_arguments(group, target, backup=True) == f"10.0.0.7:80 backup weight 100{POOL} send-proxy-v2"
    )
    changed = docs(tgs=[tg(TG1, HealthCheckPath="/other")])
    assert render(build_model(changed), PATHS).structure != bare.structure


def test_localhost_relay_routes_by_host_header_with_proxy_protocol() -> None:
    rendered = render(build_model(docs()), PATHS, Selection(relays=frozenset({8080})))
    text = rendered.text
    assert "    bind 127.0.0.1:8080" in text
    assert 'lower -m str "web-1.us-east-1.elb.localhost" }' in text
    assert " accept-proxy mode 600" in text and " send-proxy-v2" in text
    assert rendered.binds == {"127.0.200.1:8080", "127.0.0.1:8080"}


@pytest.mark.parametrize(
    "condition,acl",
    [
        (Condition("path-pattern", ("/img/*",)), '{ path -m reg "^/img/.*\\$" }'),
        (Condition("path-pattern", ("/exact",)), '{ path -m str "/exact" }'),
        (
            Condition("host-header", ("API.example.com",)),
            '{ req.hdr(host),field(1,:),lower -m str "api.example.com" }',
        ),
        (
            Condition("http-header", ("*Mobile*",), header="User-Agent"),
            '{ req.fhdr(User-Agent) -i -m reg "^.*Mobile.*\\$" }',
        ),
        (Condition("query-string", pairs=((None, "on"),)), '{ query -i -m reg "(^|&)([^&=]*=)?on(&|\\$)" }'),
        (
            Condition("query-string", pairs=(("a\\*", "b?"),)),
            '{ query -i -m reg "(^|&)(a\\\\*=)b[^&](&|\\$)" }',
        ),
        (Condition("http-request-method", ("GET", "HEAD")), '{ method -m str "GET" "HEAD" }'),
        (Condition("path-pattern", ()), None),
    ],
)
def test_condition_acls(condition: Condition, acl: str | None) -> None:
    assert condition_acl(condition) == acl


def test_quoting_and_wildcards() -> None:
    assert quote('a"b\\c$d') == '"a\\"b\\\\c\\$d"'
    assert wildcard_regex("/a.b/*?") == "^/a\\.b/.*.$"


@pytest.fixture(scope="module")
def haproxy() -> str:
    binary = shutil.which("haproxy")
    if binary is None:
        pytest.skip("needs HAProxy")
    return binary


@pytest.mark.parametrize("name,documents", [(c[0], c[1]) for c in CASES], ids=[c[0] for c in CASES])
def test_haproxy_accepts_every_rendered_configuration(
    haproxy: str, tmp_path: Path, name: str, documents: Documents
) -> None:
    paths = Paths(tmp_path, tmp_path)
    model = build_model(documents)
    servers = {
        g.backend: frozenset(n for t in g.targets for n in (t.server, t.backup))
        for g in model.target_groups.values()
    }
    rendered = render(model, paths, Selection(relays=frozenset({8080}), servers=servers))
    for path, content in rendered.files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    (tmp_path / "server-state").write_text("")
    paths.config.write_text(rendered.text)
    checked = subprocess.run([haproxy, "-c", "-f", str(paths.config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
