"""Listeners: CreateListener, DescribeListeners, ModifyListener, DeleteListener.

A listener comes with its default rule (a rule document with Priority "default" and
IsDefault true, mirroring DefaultActions), written in the same commit together with the port
claim and the target groups' LoadBalancerArns. Application load balancers listen with HTTP,
network load balancers with TCP; HTTPS (and TLS) listeners carry an ACM certificate and an
SSL policy (`tls.tls_settings`), which the listener document keeps as `Certificates` and
`SslPolicy`.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.elbv2.actions import check_actions
from dockyard.services.elbv2.api import api
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.errors import (
    DuplicateListener,
    TooManyListeners,
    UnsupportedProtocol,
    ValidationError,
)
from dockyard.services.elbv2.paging import page
from dockyard.services.elbv2.references import reference_writes
from dockyard.services.elbv2.resources import (
    LISTENER,
    LISTENER_PORT,
    RULE,
    RULE_PRIORITY,
    TAGS,
    Document,
    check_arn,
    get_listener,
    get_load_balancer,
    key,
    listener_arn,
    new_id,
    retrying,
    rule_arn,
)
from dockyard.services.elbv2.tags import check_new_tags, tag_writes
from dockyard.services.elbv2.tls import tls_settings
from dockyard.store import Delete, Put, Versioned, Write

__all__ = ["create_listener", "describe_listeners", "modify_listener", "delete_listener", "rule_labels"]

MAX_LISTENERS = 50
_PROTOCOLS = {"application": ("HTTP", "HTTPS"), "network": ("TCP", "TLS", "UDP", "TCP_UDP")}


def rule_labels(doc: Document) -> dict[str, str]:
    return {"listener": doc["dockyard"]["ListenerArn"], "lb": doc["dockyard"]["LoadBalancerArn"]}


def _check_protocol(lb: Document, protocol: str | None, request: dict[str, Any]) -> None:
    """AWS's checks of a listener's protocol and TLS options (certificates: `tls_settings`)."""
    valid = _PROTOCOLS[lb["Type"]]
    if protocol not in valid:
        raise ValidationError(f"Listener protocol '{protocol}' must be one of '{', '.join(valid)}'")
    if protocol in ("UDP", "TCP_UDP"):
        raise UnsupportedProtocol(f"Protocol '{protocol}' is not supported by Dockyard's load balancers")
    if request.get("AlpnPolicy"):
        raise ValidationError("An ALPN policy can only be specified for TLS listeners")
    mutual = request.get("MutualAuthentication")
    if mutual and protocol == "HTTPS":
        if mutual.get("Mode", "off") != "off":
            raise UnsupportedProtocol("Mutual authentication is not supported by Dockyard's load balancers")
    elif mutual:
        raise ValidationError("Mutual authentication can only be specified for HTTPS listeners")


def _default_rule(arn: str, listener: str, lb_arn: str, actions: list[Document]) -> Document:
    return {
        "RuleArn": arn,
        "Priority": "default",
        "Conditions": [],
        "Actions": actions,
        "IsDefault": True,
        "dockyard": {"ListenerArn": listener, "LoadBalancerArn": lb_arn},
    }


@api.operation("CreateListener")
async def create_listener(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    lb_arn = request["LoadBalancerArn"]
    tags = check_new_tags(request.get("Tags") or [])

    async def attempt() -> dict[str, Any]:
        lb = await get_load_balancer(elb, ctx, lb_arn)
        if request.get("Port") is None:
            raise ValidationError("A listener port must be specified")
        protocol = request.get("Protocol")
        if protocol is None:
            raise ValidationError("A listener protocol must be specified")
        _check_protocol(lb.value, protocol, request)
        tls = await tls_settings(elb, ctx, protocol, request, None)
        actions = await check_actions(
            elb, ctx, request["DefaultActions"], lb=lb.value, listener_protocol=protocol
        )
        port = int(request["Port"])
        port_key = key(ctx, LISTENER_PORT, f"{lb_arn}#{port}")
        claim = await elb.store.get(port_key)
        if claim is not None:
            existing = await elb.store.get(key(ctx, LISTENER, claim.value["ListenerArn"]))
            if (
                existing is not None
                and existing.value["Protocol"] == protocol
                and existing.value["DefaultActions"] == actions
                and existing.value.get("Certificates") == tls.get("Certificates")
            ):
                return {"Listeners": [existing.value]}
            raise DuplicateListener(
                f"A listener already exists on this port for this load balancer '{lb_arn}'"
            )
        listeners = await elb.store.find_revisions(
            LISTENER, "lb", lb_arn, account_id=ctx.account_id, region=ctx.region
        )
        if len(listeners) >= MAX_LISTENERS:
            raise TooManyListeners(
                f"The maximum number of listeners per load balancer '{MAX_LISTENERS}' has been reached"
            )
        arn = listener_arn(lb_arn, new_id(elb))
        doc: Document = {
            "ListenerArn": arn,
            "LoadBalancerArn": lb_arn,
            "Port": port,
            "Protocol": protocol,
            **tls,
            "DefaultActions": actions,
        }
        default = _default_rule(rule_arn(arn, new_id(elb)), arn, lb_arn, actions)
        writes: list[Write] = [
            # Rewritten with compare-and-swap so a concurrent DeleteLoadBalancer cannot miss it.
            Put(lb.key, lb.value, expected_revision=lb.revision),
            Put(key(ctx, LISTENER, arn), doc, expected_revision=0, labels={"lb": lb_arn}),
            Put(port_key, {"ListenerArn": arn}, expected_revision=0),
            Put(
                key(ctx, RULE, default["RuleArn"]), default, expected_revision=0, labels=rule_labels(default)
            ),
            *await reference_writes(elb, ctx, {default["RuleArn"]: default}),
            *tag_writes(ctx, arn, tags),
        ]
        await elb.store.commit(writes)
        return {"Listeners": [doc]}

    return await retrying(attempt)


@api.operation("DescribeListeners")
async def describe_listeners(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    lb_arn, arns = request.get("LoadBalancerArn"), request.get("ListenerArns") or []
    if lb_arn and arns:
        raise ValidationError("Listener ARNs and a load balancer ARN cannot be specified at the same time")
    if lb_arn:
        await get_load_balancer(elb, ctx, lb_arn)
        docs = [
            d.value
            for d in await elb.store.find(
                LISTENER, "lb", lb_arn, account_id=ctx.account_id, region=ctx.region
            )
        ]
    elif arns:
        docs = [(await get_listener(elb, ctx, arn)).value for arn in dict.fromkeys(arns)]
    else:
        raise ValidationError("You must specify either listener ARNs or a load balancer ARN")
    docs.sort(key=lambda d: (d["Port"], d["ListenerArn"]))
    items, marker = page(docs, request, key=lambda d: [d["Port"], d["ListenerArn"]])
    return {"Listeners": items, **marker}


@api.operation("ModifyListener")
async def modify_listener(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    arn = request["ListenerArn"]

    async def attempt() -> dict[str, Any]:
        found = await get_listener(elb, ctx, arn)
        doc = copy.deepcopy(found.value)
        lb_arn = doc["LoadBalancerArn"]
        lb = await get_load_balancer(elb, ctx, lb_arn)
        protocol = request.get("Protocol") or doc["Protocol"]
        _check_protocol(lb.value, protocol, request)
        tls = await tls_settings(elb, ctx, protocol, request, doc)
        doc.pop("Certificates", None)
        doc.pop("SslPolicy", None)
        doc.update(tls)
        given = request.get("DefaultActions")
        if given is not None or protocol != doc["Protocol"]:
            actions = given if given is not None else doc["DefaultActions"]
            doc["DefaultActions"] = await check_actions(
                elb, ctx, actions, lb=lb.value, listener_protocol=protocol
            )
        doc["Protocol"] = protocol
        writes: list[Write] = []
        port = int(request.get("Port") or doc["Port"])
        if port != doc["Port"]:
            new_claim = key(ctx, LISTENER_PORT, f"{lb_arn}#{port}")
            if await elb.store.get(new_claim) is not None:
                raise DuplicateListener(
                    f"A listener already exists on this port for this load balancer '{lb_arn}'"
                )
            writes += [
                Delete(key(ctx, LISTENER_PORT, f"{lb_arn}#{doc['Port']}")),
                Put(new_claim, {"ListenerArn": arn}, expected_revision=0),
            ]
            doc["Port"] = port
        if doc == found.value:
            return {"Listeners": [doc]}
        writes.append(Put(found.key, doc, expected_revision=found.revision, labels={"lb": lb_arn}))
        defaults = [r for r in await _rules(elb, ctx, arn) if r.value["IsDefault"]]
        for default in defaults:
            rule = {**default.value, "Actions": doc["DefaultActions"]}
            writes.append(
                Put(default.key, rule, expected_revision=default.revision, labels=rule_labels(rule))
            )
            writes += await reference_writes(elb, ctx, {default.key.name: rule}, before=[default.value])
        await elb.store.commit(writes)
        return {"Listeners": [doc]}

    return await retrying(attempt)


async def _rules(elb: Elbv2, ctx: RequestContext, listener: str) -> list[Versioned]:
    return await elb.store.find(RULE, "listener", listener, account_id=ctx.account_id, region=ctx.region)


@api.operation("DeleteListener")
async def delete_listener(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    arn = request["ListenerArn"]
    check_arn(arn, "listener")

    async def attempt() -> dict[str, Any]:
        found = await get_listener(elb, ctx, arn)
        rules = await _rules(elb, ctx, arn)
        writes: list[Write] = [
            Delete(found.key, expected_revision=found.revision),
            Delete(key(ctx, LISTENER_PORT, f"{found.value['LoadBalancerArn']}#{found.value['Port']}")),
        ]
        for rule in rules:
            writes.append(Delete(rule.key, expected_revision=rule.revision))
            if not rule.value["IsDefault"]:
                writes.append(Delete(key(ctx, RULE_PRIORITY, f"{arn}#{rule.value['Priority']}")))
        for owned in [arn, *(r.key.name for r in rules)]:
            tags = await elb.store.get(key(ctx, TAGS, owned))
            if tags is not None:
                writes.append(Delete(tags.key, expected_revision=tags.revision))
        writes += await reference_writes(
            elb, ctx, {r.key.name: None for r in rules}, before=[r.value for r in rules]
        )
        await elb.store.commit(writes)
        return {}

    return await retrying(attempt)
