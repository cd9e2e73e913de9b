"""The whole HAProxy configuration, rendered purely from the model.

```
global     master-worker; admin socket with `expose-fd listeners` (hitless reloads); server-state-file
defaults   ALB's timeouts (connect 10 s, idle 60 s), retries 0, ALB's error pages (Server: awselb/2.0)
frontend   one per served listener, bound on the load balancer's own address (frontend.py);
           HTTPS/TLS listeners bind with `ssl crt <their certificate bundle>` (certificates.py)
           and a minimum TLS version from their SSL policy
frontend   localhost.<port>: 127.0.0.1:<port>, by Host header to a listener (curl resolves
           *.localhost to 127.0.0.1 itself); relayed over a unix socket with the PROXY protocol
           so the listener still sees the client's address
backend    one per target group some listener uses: algorithm, health checks, stickiness,
           and two servers per target: a checked one and an unchecked `backup` twin. With
           `option allbackups`, when no checked server is up every twin serves (ALB's fail-open);
           a group without targets has no server and answers 503.
```
`Rendered.structure` digests everything except the target servers: when it is unchanged, target
churn goes through the runtime socket (runtime.py) and HAProxy is not reloaded. Servers added at
runtime are lost on a reload, so a (re)start renders every target: those HAProxy has keep their
state through the server-state file; new checked ones are written `disabled` and admitted at
runtime (down until a check passes), while their fail-open twins serve at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.lb.acl import quote
from dockyard.lb.frontend import SERVER_HEADER, http_frontend_rules, tcp_frontend_rules
from dockyard.lb.model import Listener, LoadBalancer, Model, Target, TargetGroup, digest
from dockyard.lb.pages import ERROR_PAGES

__all__ = ["Paths", "Selection", "Rendered", "render", "servable", "server_arguments", "STRUCTURE_PREFIX"]

STRUCTURE_PREFIX = "# structure "
_ALGORITHMS = {
    "round_robin": "roundrobin",
    "least_outstanding_requests": "leastconn",
    "weighted_random": "random",
}
_TLS = ("HTTPS", "TLS")


@dataclass(frozen=True, slots=True)
class Paths:
    """Where the data plane keeps its files (`directory`) and its unix sockets (`run`, kept short)."""

    directory: Path
    run: Path

    @property
    def config(self) -> Path:
        return self.directory / "haproxy.cfg"

    @property
    def state_file(self) -> Path:
        return self.directory / "server-state"

    @property
    def pidfile(self) -> Path:
        return self.directory / "haproxy.pid"

    @property
    def log(self) -> Path:
        return self.directory / "haproxy.log"

    @property
    def admin_socket(self) -> Path:
        return self.run / "admin.sock"

    @property
    def master_socket(self) -> Path:
        return self.run / "master.sock"

    def relay_socket(self, frontend: str) -> Path:
        return self.run / f"relay-{digest(frontend, 12)}.sock"

    def body_file(self, body: str) -> Path:
        return self.directory / "bodies" / f"{digest(body, 24)}.txt"

    def error_page(self, status: int) -> Path:
        return self.directory / "errors" / f"{status}.html"

    @property
    def certificates(self) -> Path:
        return self.directory / "certs"


@dataclass(frozen=True, slots=True)
class Selection:
    """What to render beyond the model: which listeners can bind, the localhost relays, servers."""

    listeners: frozenset[str] | None = None  # listener ARNs to serve; None: every servable one
    relays: frozenset[int] = frozenset()  # ports to bind on 127.0.0.1 for *.localhost names
    servers: Mapping[str, frozenset[str]] = field(default_factory=dict)  # backend -> server names
    held: frozenset[str] = frozenset()  # "backend/server" written `disabled` (MAINT until admitted)
    certificates: Mapping[str, Path] = field(default_factory=dict)  # TLS listener ARN -> PEM bundle


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    structure: str
    binds: frozenset[str]  # "address:port" of every TCP bind
    files: Mapping[Path, str]  # fixed-response bodies and error pages the config refers to
    backends: Mapping[str, TargetGroup]  # backend name -> its target group


_SERVABLE = (("application", "HTTP"), ("application", "HTTPS"), ("network", "TCP"), ("network", "TLS"))


def servable(lb: LoadBalancer, listener: Listener) -> bool:
    """HTTP(S) listeners of ALBs and TCP/TLS listeners of NLBs (no UDP here); TLS ones need a
    certificate to bind with."""
    return (lb.type, listener.protocol) in _SERVABLE and (
        not listener.tls or listener.certificate is not None
    )


def _min_tls(policy: str) -> str:
    """The lowest protocol version an SSL policy accepts (ELBSecurityPolicy-TLS13-1-2-2021-06: 1.2)."""
    for marker, version in (("-1-3-", "TLSv1.3"), ("-1-2-", "TLSv1.2"), ("-1-1-", "TLSv1.1")):
        if marker in policy.replace("TLS13", ""):
            return version
    return "TLSv1.0"


def _address(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def server_arguments(group: TargetGroup, target: Target, *, backup: bool) -> str:
    """Everything after `server <name>` for a target (the same in the file and in `add server`)."""
    words = [_address(target.address, target.port)]
    traffic_tls = group.protocol in _TLS
    if backup:
        words.append("backup")
    elif group.health.enabled:
        h = group.health
        words += ["check", "inter", f"{h.interval}s", "rise", str(h.healthy), "fall", str(h.unhealthy)]
        if h.port is not None:
            words += ["port", str(h.port)]
        if h.protocol == "HTTPS" and not traffic_tls:
            words += ["check-ssl", "verify", "none"]
        elif h.protocol != "HTTPS" and traffic_tls:
            words.append("no-check-ssl")
    # Keep idle connections to the target for reuse, as a server in the file does by default: one
    # added at runtime otherwise closes them at once (three times the CPU per request).
    words += ["weight", "100", "pool-max-conn", "-1", "pool-purge-delay", "5s"]
    if group.slow_start and not backup:
        words += ["slowstart", f"{group.slow_start}s"]
    if traffic_tls:
        words += ["ssl", "verify", "none"]
    if group.proxy_protocol:
        words.append("send-proxy-v2")
    return " ".join(words)


def _matcher(code: str) -> str:
    cleaned = code.replace(" ", "")
    if cleaned and all(ch.isdigit() or ch in ",-" for ch in cleaned):
        return cleaned
    return "200"


def _backend(group: TargetGroup, model: Model, servers: frozenset[str], held: frozenset[str]) -> list[str]:
    lines = [
        f"backend {group.backend}",
        f"    mode {group.mode}",
        f"    balance {_ALGORITHMS.get(group.algorithm, 'roundrobin')}",
        "    option allbackups",
        f"    timeout server {model.idle_timeout(group.arn)}s",
    ]
    health = group.health
    if health.enabled:
        lines.append(f"    timeout check {health.timeout}s")
        if health.protocol in ("HTTP", "HTTPS"):
            lines += [
                "    option httpchk",
                f"    http-check send meth GET uri {quote(health.path)} ver HTTP/1.1 hdr Host %[srv_name] "
                "hdr User-Agent ELB-HealthChecker/2.0",
                f"    http-check expect status {_matcher(health.matcher)}",
            ]
    if group.stickiness is not None and group.mode == "http":
        expires = f"Expires=%[date({group.stickiness}),http_date]; Path=/"
        lines += [
            f"    stick-table type string len 36 size 1m expire {group.stickiness}s",
            "    http-request set-var(txn.awsalb) req.cook(AWSALB) if { req.cook(AWSALB) -m len 36 }",
            "    http-request set-var(txn.awsalb) uuid unless { var(txn.awsalb) -m found }",
            "    stick match var(txn.awsalb)",
            "    stick store-request var(txn.awsalb)",
            f'    http-response add-header Set-Cookie "AWSALB=%[var(txn.awsalb)]; {expires}"',
            '    http-response add-header Set-Cookie "AWSALBCORS=%[var(txn.awsalb)]; '
            f'{expires}; SameSite=None; Secure"',
        ]
    for target in group.targets:
        for name, backup in ((target.server, False), (target.backup, True)):
            if name in servers:
                disabled = " disabled" if f"{group.backend}/{name}" in held else ""
                lines.append(f"    server {name} {server_arguments(group, target, backup=backup)}{disabled}")
    return lines


def _global(paths: Paths) -> list[str]:
    lines = [
        "global",
        "    master-worker",
        f"    stats socket {paths.admin_socket} mode 600 level admin expose-fd listeners",
        "    stats timeout 30s",
        f"    server-state-file {paths.state_file}",
        "    noreuseport",
        "    hard-stop-after 15m",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 10s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout http-request 60s",
        "    timeout http-keep-alive 60s",
        "    timeout queue 60s",
        "    retries 0",
        "    load-server-state-from-file global",
    ]
    for status in sorted(ERROR_PAGES):
        page = quote(str(paths.error_page(status)))
        lines.append(f"    http-error status {status} content-type text/html file {page} {SERVER_HEADER}")
    return lines


class _Renderer:
    def __init__(self, model: Model, paths: Paths, selection: Selection) -> None:
        self.model = model
        self.paths = paths
        self.selection = selection
        self.files: dict[Path, str] = {paths.error_page(s): page for s, page in ERROR_PAGES.items()}
        self.binds: set[str] = set()

    def body_file(self, body: str) -> str:
        path = self.paths.body_file(body)
        self.files[path] = body
        return str(path)

    def served(self) -> list[tuple[LoadBalancer, Listener]]:
        wanted = self.selection.listeners
        return [
            (lb, listener)
            for lb in self.model.load_balancers
            for listener in lb.listeners
            if servable(lb, listener)
            and (wanted is None or listener.arn in wanted)
            and (not listener.tls or listener.arn in self.selection.certificates)
        ]

    def frontend(self, lb: LoadBalancer, listener: Listener) -> list[str]:
        bind = _address(lb.address, listener.port)
        self.binds.add(bind)
        tls = ""
        if listener.tls:
            pem = quote(str(self.selection.certificates[listener.arn]))
            tls = f" ssl crt {pem} ssl-min-ver {_min_tls(listener.ssl_policy)}"
            if listener.mode == "http" and lb.attribute("routing.http2.enabled", "true") == "true":
                tls += " alpn h2,http/1.1"
        lines = [f"frontend {listener.frontend}", f"    mode {listener.mode}", f"    bind {bind}{tls}"]
        if listener.mode == "http" and not listener.tls and listener.port in self.selection.relays:
            relay = self.paths.relay_socket(listener.frontend)
            lines.append(f"    bind unix@{relay} accept-proxy mode 600")
        lines.append(f"    timeout client {lb.idle_timeout}s")
        groups = self.model.target_groups
        if listener.mode == "http":
            lines.append(f"    timeout http-keep-alive {lb.idle_timeout}s")
            body = http_frontend_rules(
                lb, listener, groups, body_file=self.body_file, error_503=str(self.paths.error_page(503))
            )
        else:
            body = tcp_frontend_rules(listener, groups)
        return lines + [f"    {line}" for line in body]

    def relays(self, served: list[tuple[LoadBalancer, Listener]]) -> list[str]:
        lines: list[str] = []
        for port in sorted(self.selection.relays):
            here = [
                (lb, li)
                for lb, li in served
                if li.port == port and li.mode == "http" and not li.tls and lb.dns_name
            ]
            if not here:
                continue
            self.binds.add(f"127.0.0.1:{port}")
            lines += ["", f"frontend localhost.{port}", "    mode http", f"    bind 127.0.0.1:{port}"]
            for lb, listener in here:
                host = f"{{ req.hdr(host),field(1,:),lower -m str {quote(lb.dns_name.lower())} }}"
                lines.append(f"    use_backend relay.{listener.frontend} if {host}")
            for lb, listener in here:
                relay = self.paths.relay_socket(listener.frontend)
                lines += [
                    "",
                    f"backend relay.{listener.frontend}",
                    "    mode http",
                    f"    timeout server {lb.idle_timeout}s",
                    f"    server {lb.name} unix@{relay} send-proxy-v2",
                ]
        return lines

    def render(self) -> list[str]:
        lines = _global(self.paths)
        served = self.served()
        used: dict[str, TargetGroup] = {}
        for lb, listener in served:
            lines += ["", *self.frontend(lb, listener)]
            for rule in listener.rules:
                for arn in rule.action.target_groups():
                    group = self.model.target_groups.get(arn)
                    if group is not None and group.mode == listener.mode:
                        used[group.backend] = group
        lines += self.relays(served)
        self.used = used
        for name in sorted(used):
            servers = self.selection.servers.get(name, frozenset())
            lines += ["", *_backend(used[name], self.model, servers, self.selection.held)]
        return lines


def render(model: Model, paths: Paths, selection: Selection | None = None) -> Rendered:
    """The configuration for `model`; `selection.servers` names the target servers to write."""
    selection = selection or Selection()
    renderer = _Renderer(model, paths, selection)
    lines = renderer.render()
    body = "\n".join(lines) + "\n"
    if selection.servers or selection.held:
        lines = _Renderer(
            model,
            paths,
            Selection(
                listeners=selection.listeners, relays=selection.relays, certificates=selection.certificates
            ),
        ).render()
    structure = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    header = (
        "# Dockyard's load balancers, rendered from the ELBv2 model: edits are overwritten.\n"
        f"{STRUCTURE_PREFIX}{structure}\n"
    )
    return Rendered(
        text=header + body,
        structure=structure,
        binds=frozenset(renderer.binds),
        files=renderer.files,
        backends=renderer.used,
    )
