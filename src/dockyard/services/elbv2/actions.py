"""Listener and rule actions: their checks, and the form AWS stores and returns them in.

Dockyard's load balancers serve the three terminal actions (`forward`, `redirect`,
`fixed-response`); a rule has exactly one. The authentication actions need an HTTPS listener,
which Dockyard cannot make without a certificate service, so they are refused the way AWS
refuses them on an HTTP listener. What each action becomes:

    forward        {Type, TargetGroupArn (one group), ForwardConfig{TargetGroups[{Arn, Weight=1}],
                    TargetGroupStickinessConfig{Enabled=false[, DurationSeconds]}}}
    redirect       {Type, RedirectConfig{Protocol=#{protocol}, Port=#{port}, Host=#{host},
                    Path=/#{path}, Query=#{query}, StatusCode}}
    fixed-response {Type, FixedResponseConfig{StatusCode[, ContentType][, MessageBody]}}
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.errors import (
    IncompatibleProtocols,
    InvalidLoadBalancerAction,
    TargetGroupAssociationLimit,
    ValidationError,
)
from dockyard.services.elbv2.health_checks import is_application_protocol
from dockyard.services.elbv2.resources import Document, check_arn, get_target_group

__all__ = ["check_actions", "CONTENT_TYPES"]

CONTENT_TYPES = ("text/plain", "text/css", "text/html", "application/javascript", "application/json")
_CONFIGS = {
    "forward": "ForwardConfig",
    "redirect": "RedirectConfig",
    "fixed-response": "FixedResponseConfig",
    "authenticate-oidc": "AuthenticateOidcConfig",
    "authenticate-cognito": "AuthenticateCognitoConfig",
    "jwt-validation": "JwtValidationConfig",
}
_MAX_GROUPS = {"application": 5, "network": 1}


async def check_actions(
    elb: Elbv2, ctx: RequestContext, actions: list[dict[str, Any]], *, lb: Document, listener_protocol: str
) -> list[Document]:
    """`actions` checked for a listener of `lb` speaking `listener_protocol`, as AWS stores them."""
    if not actions:
        raise ValidationError("At least one action must be specified")
    orders = [a.get("Order") for a in actions]
    if any(o is not None for o in orders):
        if any(o is None for o in orders):
            raise ValidationError("Either all actions or none of them must specify an order")
        repeated = next((o for o in orders if orders.count(o) > 1), None)
        if repeated is not None:
            raise ValidationError(f"The action order '{repeated}' is specified more than once")
    out = []
    for action in sorted(actions, key=lambda a: a.get("Order") or 0):
        kind = action["Type"]
        if kind not in ("forward", "redirect", "fixed-response"):
            raise InvalidLoadBalancerAction(f"The action type '{kind}' is supported only on HTTPS listeners")
        if lb["Type"] == "network" and kind != "forward":
            raise InvalidLoadBalancerAction(
                f"The action type '{kind}' is not supported by Network Load Balancers"
            )
        for other_kind, member in _CONFIGS.items():
            if other_kind != kind and action.get(member) is not None:
                raise ValidationError(f"A '{member}' cannot be specified for an action of type '{kind}'")
        if kind != "forward" and action.get("TargetGroupArn"):
            raise ValidationError(f"A target group ARN cannot be specified for an action of type '{kind}'")
        if kind == "forward":
            checked = await _forward(elb, ctx, action, lb=lb, listener_protocol=listener_protocol)
        elif kind == "redirect":
            checked = _redirect(action, listener_protocol)
        else:
            checked = _fixed_response(action)
        if action.get("Order") is not None:
            checked["Order"] = action["Order"]
        out.append(checked)
    if len(out) > 1:
        raise InvalidLoadBalancerAction(
            "A rule can have only one of the following actions: 'forward', 'redirect', 'fixed-response'"
        )
    return out


async def _forward(
    elb: Elbv2, ctx: RequestContext, action: dict[str, Any], *, lb: Document, listener_protocol: str
) -> Document:
    arn = action.get("TargetGroupArn")
    config = action.get("ForwardConfig") or {}
    tuples = list(config.get("TargetGroups") or [])
    if arn and tuples and (len(tuples) != 1 or tuples[0].get("TargetGroupArn") != arn):
        raise ValidationError(
            "You cannot specify a target group ARN and a forward config with different target groups"
        )
    if not tuples:
        if not arn:
            raise ValidationError("A target group ARN must be specified for an action of type 'forward'")
        tuples = [{"TargetGroupArn": arn}]
    limit = _MAX_GROUPS[lb["Type"]]
    if len(tuples) > limit:
        raise ValidationError(f"A forward action can have at most '{limit}' target groups")
    groups = []
    seen: set[str] = set()
    for item in tuples:
        group = item.get("TargetGroupArn")
        if not group:
            raise ValidationError(
                "A target group ARN must be specified for each target group of a forward config"
            )
        if group in seen:
            raise ValidationError(f"Target group '{group}' is specified more than once in the forward config")
        seen.add(group)
        weight = 1 if item.get("Weight") is None else int(item["Weight"])
        if not 0 <= weight <= 999:
            raise ValidationError(f"Target group weight '{weight}' must be between '0-999' inclusive")
        await _check_group(elb, ctx, group, lb=lb, listener_protocol=listener_protocol)
        groups.append({"TargetGroupArn": group, "Weight": weight})
    stickiness = dict(config.get("TargetGroupStickinessConfig") or {})
    sticky: Document = {"Enabled": bool(stickiness.get("Enabled"))}
    if sticky["Enabled"]:
        duration = stickiness.get("DurationSeconds")
        if duration is None or not 1 <= int(duration) <= 604800:
            raise ValidationError(
                "Target group stickiness duration must be between '1-604800' seconds inclusive when enabled"
            )
        sticky["DurationSeconds"] = int(duration)
    out: Document = {"Type": "forward"}
    if len(groups) == 1:
        out["TargetGroupArn"] = groups[0]["TargetGroupArn"]
    out["ForwardConfig"] = {"TargetGroups": groups, "TargetGroupStickinessConfig": sticky}
    return out


async def _check_group(
    elb: Elbv2, ctx: RequestContext, arn: str, *, lb: Document, listener_protocol: str
) -> None:
    check_arn(arn, "target group")
    group = (await get_target_group(elb, ctx, arn)).value
    application_listener = is_application_protocol(listener_protocol)
    if application_listener != is_application_protocol(group["Protocol"]):
        raise IncompatibleProtocols(
            f"Listener protocol '{listener_protocol}' is not compatible with the protocol "
            f"'{group['Protocol']}' of target group '{arn}'"
        )
    others = [other for other in group.get("LoadBalancerArns") or [] if other != lb["LoadBalancerArn"]]
    if others:
        raise TargetGroupAssociationLimit(
            f"The following target groups cannot be associated with more than one load balancer: {arn}"
        )


def _redirect(action: dict[str, Any], listener_protocol: str) -> Document:
    config = action.get("RedirectConfig")
    if config is None:
        raise ValidationError("A 'RedirectConfig' must be specified for an action of type 'redirect'")
    out = {
        "Protocol": config.get("Protocol") or "#{protocol}",
        "Port": config.get("Port") or "#{port}",
        "Host": config.get("Host") or "#{host}",
        "Path": config.get("Path") or "/#{path}",
        "Query": "#{query}" if config.get("Query") is None else config["Query"],
        "StatusCode": config["StatusCode"],
    }
    port = out["Port"]
    if port != "#{port}" and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ValidationError(
            f"The redirect port '{port}' must be '#{{port}}' or between '1-65535' inclusive"
        )
    if not out["Path"].startswith("/"):
        raise ValidationError(f"The redirect path '{out['Path']}' must begin with a '/'")
    if out["Query"].startswith("?"):
        raise ValidationError(f"The redirect query '{out['Query']}' must not begin with a '?'")
    unchanged = (
        out["Protocol"] in ("#{protocol}", listener_protocol)
        and out["Port"] == "#{port}"
        and out["Host"] == "#{host}"
        and out["Path"] == "/#{path}"
    )
    if unchanged:
        raise InvalidLoadBalancerAction(
            "The redirect must change at least one of the following components: protocol, port, host or path"
        )
    if listener_protocol == "HTTPS" and out["Protocol"] == "HTTP":
        raise InvalidLoadBalancerAction("Redirects from HTTPS to HTTP are not allowed")
    return {"Type": "redirect", "RedirectConfig": out}


def _fixed_response(action: dict[str, Any]) -> Document:
    config = action.get("FixedResponseConfig")
    if config is None:
        raise ValidationError(
            "A 'FixedResponseConfig' must be specified for an action of type 'fixed-response'"
        )
    out: Document = {"StatusCode": config["StatusCode"]}
    content_type = config.get("ContentType")
    if content_type:
        if content_type not in CONTENT_TYPES:
            raise InvalidLoadBalancerAction(
                "The ContentType must be one of:'text/html', 'application/json', 'application/javascript', "
                "'text/css', 'text/plain'"
            )
        out["ContentType"] = content_type
    if config.get("MessageBody") is not None:
        out["MessageBody"] = config["MessageBody"]
    return {"Type": "fixed-response", "FixedResponseConfig": out}
