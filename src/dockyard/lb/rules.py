"""Listener rules as the data plane sees them: conditions and the one terminal action.

Parsed (purely) from botocore's `Rule` / `Action` shapes:

| ELBv2                                             | here                                   |
|---------------------------------------------------|----------------------------------------|
| `Conditions[]` (`Field` + `Values` or `*Config`)  | `Condition` (all must match; any value)|
| `forward` (`TargetGroupArn` or `ForwardConfig`)   | `Forward` (weights, group stickiness)  |
| `redirect` (`RedirectConfig`)                     | `Redirect` (placeholders kept)         |
| `fixed-response` (`FixedResponseConfig`)          | `FixedResponse`                        |

`authenticate-*` actions only exist on HTTPS listeners, which the data plane does not serve; a rule
without a terminal action forwards nowhere (503).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Condition", "Forward", "Redirect", "FixedResponse", "Action", "Rule", "parse_rule"]

Doc = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Condition:
    field: str  # path-pattern | host-header | http-header | query-string | http-request-method | source-ip
    values: tuple[str, ...] = ()
    header: str | None = None  # http-header: the header's name
    pairs: tuple[tuple[str | None, str], ...] = ()  # query-string: (key or None for any key, value)
    regex: bool = False  # RegexValues: the values are regular expressions


@dataclass(frozen=True, slots=True)
class Forward:
    groups: tuple[tuple[str, int], ...]  # (target group ARN, weight)
    stickiness: int | None = None  # TargetGroupStickinessConfig duration when enabled

    def target_groups(self) -> tuple[str, ...]:
        return tuple(arn for arn, _ in self.groups)


@dataclass(frozen=True, slots=True)
class Redirect:
    protocol: str = "#{protocol}"
    port: str = "#{port}"
    host: str = "#{host}"
    path: str = "/#{path}"
    query: str = "#{query}"
    status: int = 301

    def target_groups(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class FixedResponse:
    status: int
    content_type: str = "text/plain"
    body: str = ""

    def target_groups(self) -> tuple[str, ...]:
        return ()


Action = Forward | Redirect | FixedResponse


@dataclass(frozen=True, slots=True)
class Rule:
    priority: int | None  # None: the default rule
    conditions: tuple[Condition, ...]
    action: Action
    arn: str = ""


def _strings(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values or ())


def _condition(doc: Doc) -> Condition:
    name = str(doc.get("Field", ""))
    config_key = {
        "path-pattern": "PathPatternConfig",
        "host-header": "HostHeaderConfig",
        "http-header": "HttpHeaderConfig",
        "query-string": "QueryStringConfig",
        "http-request-method": "HttpRequestMethodConfig",
        "source-ip": "SourceIpConfig",
    }.get(name, "")
    config: Doc = doc.get(config_key) or {}
    if name == "query-string":
        pairs = tuple(
            (str(p["Key"]) if p.get("Key") is not None else None, str(p.get("Value", "")))
            for p in config.get("Values") or []
        )
        return Condition(name, pairs=pairs)
    regex_values = config.get("RegexValues") or doc.get("RegexValues")
    values = _strings(regex_values) if regex_values else _strings(config.get("Values") or doc.get("Values"))
    header = str(config["HttpHeaderName"]) if name == "http-header" and config.get("HttpHeaderName") else None
    return Condition(name, values=values, header=header, regex=bool(regex_values))


def _weight(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1


def _forward(doc: Doc) -> Forward:
    config: Doc = doc.get("ForwardConfig") or {}
    groups = tuple(
        (str(g["TargetGroupArn"]), _weight(g.get("Weight", 1))) for g in config.get("TargetGroups") or []
    )
    if not groups and doc.get("TargetGroupArn"):
        groups = ((str(doc["TargetGroupArn"]), 1),)
    sticky: Doc = config.get("TargetGroupStickinessConfig") or {}
    duration = int(sticky.get("DurationSeconds") or 3600) if sticky.get("Enabled") else None
    return Forward(groups, duration if len(groups) > 1 else None)


def _redirect(doc: Doc) -> Redirect:
    config: Doc = doc.get("RedirectConfig") or {}
    default = Redirect()
    return Redirect(
        protocol=str(config.get("Protocol", default.protocol)),
        port=str(config.get("Port", default.port)),
        host=str(config.get("Host", default.host)),
        path=str(config.get("Path", default.path)),
        query=str(config.get("Query", default.query)),
        status=302 if config.get("StatusCode") == "HTTP_302" else 301,
    )


def _fixed(doc: Doc) -> FixedResponse:
    config: Doc = doc.get("FixedResponseConfig") or {}
    try:
        status = int(config.get("StatusCode", 503))
    except (TypeError, ValueError):
        status = 503
    return FixedResponse(
        status=status,
        content_type=str(config.get("ContentType") or "text/plain"),
        body=str(config.get("MessageBody") or ""),
    )


def _action(actions: list[Doc]) -> Action:
    ordered = sorted(enumerate(actions), key=lambda pair: (int(pair[1].get("Order") or 0), pair[0]))
    for _, doc in reversed(ordered):
        kind = doc.get("Type")
        if kind == "forward":
            return _forward(doc)
        if kind == "redirect":
            return _redirect(doc)
        if kind == "fixed-response":
            return _fixed(doc)
    return Forward(())


def parse_rule(doc: Doc) -> Rule:
    priority = doc.get("Priority", "default")
    default = doc.get("IsDefault") is True or priority in ("default", None)
    return Rule(
        priority=None if default else int(priority),
        conditions=() if default else tuple(_condition(c) for c in doc.get("Conditions") or []),
        action=_action(list(doc.get("Actions") or [])),
        arn=str(doc.get("RuleArn", "")),
    )
