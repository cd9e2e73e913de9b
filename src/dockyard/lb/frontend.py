"""One listener as one HAProxy frontend: the headers ALB adds, then its rules in priority order.

```
http-request set-header X-Forwarded-For/-Proto/-Port, X-Amzn-Trace-Id
http-request set-var(txn.rule) int(P) if !{ var(txn.rule) -m found } <conditions>   # by priority
http-request set-var(txn.weight) rand(total) if { var(txn.rule) -m int P }        # weighted forward
http-request return ... / redirect ... if { var(txn.rule) -m int P }              # fixed, redirect
use_backend <group> if { var(txn.rule) -m int P } [cookie | weight range]           # forward
default_backend <group>                                                            # default rule
```
The first rule that matches picks the action (ALB's first match wins); the default rule takes
what nothing else matched. A forward to a group that does not exist, or with no weight, answers
503 like a group without targets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from dockyard.lb.acl import condition_acl, literal, quote
from dockyard.lb.model import Listener, LoadBalancer, TargetGroup
from dockyard.lb.rules import FixedResponse, Forward, Redirect, Rule

__all__ = ["http_frontend_rules", "tcp_frontend_rules", "TRACE_ID", "SERVER_HEADER"]

SERVER_HEADER = "hdr Server awselb/2.0"
# Root=1-<epoch seconds, 8 hex>-<24 random hex>: pieces of random UUIDs (no regex per request)
TRACE_ID = "Root=1-%[date,bytes(4,4),hex,lower]-%[uuid,bytes(0,8)]%[uuid,bytes(24,12)]%[uuid,bytes(24,4)]"
_HOST = "%[req.hdr(host),field(1,:)]"
_TRACED = "{ req.hdr(X-Amzn-Trace-Id) -m found }"
_UNDECIDED = "!{ var(txn.rule) -m found }"

BodyFile = Callable[[str], str]  # body text -> path of a file holding it


def _headers(lb: LoadBalancer, listener: Listener) -> list[str]:
    lines = []
    mode = lb.attribute("routing.http.xff_header_processing.mode", "append")
    client = (
        "%[src]:%[src_port]"
        if lb.attribute("routing.http.xff_client_port.enabled", "false") == "true"
        else "%[src]"
    )
    if mode == "append":
        found = "{ req.fhdr(X-Forwarded-For) -m found }"
        lines += [
            f'http-request set-header X-Forwarded-For "%[req.fhdr(X-Forwarded-For)], {client}" if {found}',
            f'http-request set-header X-Forwarded-For "{client}" unless {found}',
        ]
    elif mode == "remove":
        lines.append("http-request del-header X-Forwarded-For")
    lines += [
        f"http-request set-header X-Forwarded-Proto {listener.protocol.lower()}",
        f"http-request set-header X-Forwarded-Port {listener.port}",
        f'http-request set-header X-Amzn-Trace-Id "{TRACE_ID}" unless {_TRACED}',
    ]
    return lines


def _substitute(template: str, listener: Listener) -> str:
    """A redirect component as a log-format string, with ALB's placeholders filled from the request."""
    out = literal(template)
    return (
        out.replace("#{protocol}", listener.protocol.lower())
        .replace("#{host}", _HOST)
        .replace("#{port}", str(listener.port))
        .replace("#{path}", "%[path,regsub(^/,)]")
        .replace("#{query}", "%[query]")
    )


def _redirect(action: Redirect, listener: Listener, when: str) -> list[str]:
    protocol = action.protocol.lower() if action.protocol != "#{protocol}" else listener.protocol.lower()
    port = str(listener.port) if action.port == "#{port}" else action.port
    base = f"{literal(protocol)}://{_substitute(action.host, listener)}:{literal(port)}"
    location = base + _substitute(action.path, listener)
    code = action.status
    if action.query == "#{query}":
        return [
            f"http-request redirect location {quote(location + '?%[query]')} code {code} "
            f"if {when} {{ query -m len gt 0 }}",
            f"http-request redirect location {quote(location)} code {code} if {when}",
        ]
    if action.query:
        location += "?" + _substitute(action.query, listener)
    return [f"http-request redirect location {quote(location)} code {code} if {when}"]


def _fixed(action: FixedResponse, when: str, body_file: BodyFile) -> str:
    payload = ""
    if action.body:
        payload = f" content-type {quote(action.content_type)} file {quote(body_file(action.body))}"
    return f"http-request return status {action.status}{payload} {SERVER_HEADER} if {when}"


def _unavailable(when: str, error_file: str) -> str:
    return (
        f"http-request return status 503 content-type text/html file {quote(error_file)} "
        f"{SERVER_HEADER} if {when}"
    )


def _groups(
    action: Forward, listener: Listener, groups: Mapping[str, TargetGroup]
) -> list[tuple[TargetGroup, int]]:
    return [
        (groups[arn], weight)
        for arn, weight in action.groups
        if weight > 0 and arn in groups and groups[arn].mode == listener.mode
    ]


class _Rules:
    def __init__(self, listener: Listener, groups: Mapping[str, TargetGroup], files: tuple[BodyFile, str]):
        self.listener = listener
        self.groups = groups
        self.body_file, self.error_503 = files
        self.select: list[str] = []  # which rule matched
        self.prepare: list[str] = []  # per-rule request variables
        self.respond: list[str] = []  # http-request return / redirect
        self.route: list[str] = []  # use_backend
        self.default: list[str] = []
        self.after: list[str] = []  # http-response / http-after-response

    def add(self, rule: Rule) -> None:
        index = 0 if rule.priority is None else rule.priority
        when = f"{{ var(txn.rule) -m int {index} }}"
        action = rule.action
        if rule.priority is not None:
            acls = [condition_acl(c) for c in rule.conditions]
            if any(a is None for a in acls):
                return  # a condition without values never matches
            matches = " ".join(a for a in acls if a is not None)
            self.select.append(
                f"http-request set-var(txn.rule) int({index}) if {_UNDECIDED} {matches}".rstrip()
            )
        elif not (isinstance(action, Forward) and len(_groups(action, self.listener, self.groups)) == 1):
            self.select.append(f"http-request set-var(txn.rule) int(0) if {_UNDECIDED}")
        if isinstance(action, FixedResponse):
            self.respond.append(_fixed(action, when, self.body_file))
        elif isinstance(action, Redirect):
            self.respond += _redirect(action, self.listener, when)
            self.after.append(f"http-after-response set-header Server awselb/2.0 if {when}")
        else:
            self._forward(rule, action, when)

    def _forward(self, rule: Rule, action: Forward, when: str) -> None:
        chosen = _groups(action, self.listener, self.groups)
        if not chosen:
            self.respond.append(_unavailable(when, self.error_503))
            return
        if len(chosen) == 1:
            backend = chosen[0][0].backend
            if rule.priority is None:
                self.default.append(f"default_backend {backend}")
            else:
                self.route.append(f"use_backend {backend} if {when}")
            return
        total = sum(weight for _, weight in chosen)
        self.prepare.append(f"http-request set-var(txn.weight) rand({total}) if {when}")
        if action.stickiness is not None:
            for group, _ in chosen:
                self.route.append(
                    f"use_backend {group.backend} if {when} {{ req.cook(AWSALBTG) -m str {group.cookie} }}"
                )
                expires = f"Expires=%[date({action.stickiness}),http_date]; Path=/"
                served = f"if {when} {{ be_name -m str {group.backend} }}"
                self.after += [
                    f'http-response add-header Set-Cookie "AWSALBTG={group.cookie}; {expires}" {served}',
                    f'http-response add-header Set-Cookie "AWSALBTGCORS={group.cookie}; {expires}; '
                    f'SameSite=None; Secure" {served}',
                ]
        upto = 0
        for group, weight in chosen[:-1]:
            upto += weight
            self.route.append(f"use_backend {group.backend} if {when} {{ var(txn.weight) -m int lt {upto} }}")
        self.route.append(f"use_backend {chosen[-1][0].backend} if {when}")

    def lines(self) -> list[str]:
        return [*self.select, *self.prepare, *self.respond, *self.route, *self.default, *self.after]


def http_frontend_rules(
    lb: LoadBalancer,
    listener: Listener,
    groups: Mapping[str, TargetGroup],
    *,
    body_file: BodyFile,
    error_503: str,
) -> list[str]:
    """The lines of an ALB listener's frontend after its `bind` lines."""
    rules = _Rules(listener, groups, (body_file, error_503))
    for rule in listener.rules:
        rules.add(rule)
    return [*_headers(lb, listener), *rules.lines()]


def tcp_frontend_rules(listener: Listener, groups: Mapping[str, TargetGroup]) -> list[str]:
    """An NLB listener forwards every connection to its (first) target group."""
    for rule in listener.rules:
        if rule.priority is None and isinstance(rule.action, Forward):
            chosen = _groups(rule.action, listener, groups)
            if chosen:
                return [f"default_backend {chosen[0][0].backend}"]
    return ["tcp-request connection reject"]
