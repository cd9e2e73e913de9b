"""Store kinds, ARNs and lookups shared by the ELBv2 handlers: the store contract with the data plane.

Every document is keyed `Key(account, region, kind, name)`; bodies are botocore's output shapes
(PascalCase) plus an internal `dockyard` member that never reaches a client.

| kind                        | name                     | document                                        |
|-----------------------------|--------------------------|-------------------------------------------------|
| elbv2/load-balancer         | load balancer ARN        | LoadBalancer + dockyard {Address, Attributes}   |
| elbv2/listener              | listener ARN             | Listener; label lb = load balancer ARN          |
| elbv2/rule                  | rule ARN                 | Rule (Priority a string, "default" for the      |
|                             |                          | default rule) + dockyard {ListenerArn,          |
|                             |                          | LoadBalancerArn}; labels listener, lb           |
| elbv2/target-group          | target group ARN         | TargetGroup (LoadBalancerArns kept current) +   |
|                             |                          | dockyard {Attributes}                           |
| elbv2/targets               | target group ARN         | {TargetGroupArn, Targets: [{Id, Port,           |
|                             |                          | AvailabilityZone, Address, RegisteredAt,        |
|                             |                          | DeregisteredAt?}]}                              |
| elbv2/target-health         | target group ARN         | written only by the data plane: {Targets:       |
|                             |                          | {"<Id>:<Port>": {State, Reason?, Description?}}}|
| elbv2/tags                  | resource ARN             | {ResourceArn, Tags: [{Key, Value}]}             |
| elbv2/load-balancer-name    | name                     | {LoadBalancerArn}: names are unique             |
| elbv2/target-group-name     | name                     | {TargetGroupArn}: names are unique              |
| elbv2/listener-port         | "<lb ARN>#<port>"        | {ListenerArn}: one listener per port            |
| elbv2/rule-priority         | "<listener ARN>#<prio>"  | {RuleArn}: one rule per priority                |
| elbv2/address (host-wide)   | 127.0.2xx.N              | {LoadBalancerArn}: the address it listens on    |

Every change that touches several documents is one commit, compare-and-swap on each; a handler
that loses a race re-reads and re-validates (`retrying`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import parse_arn
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.errors import (
    ListenerNotFound,
    LoadBalancerNotFound,
    RuleNotFound,
    TargetGroupNotFound,
    ValidationError,
)
from dockyard.store import Conflict, Key, Versioned

__all__ = [
    "LOAD_BALANCER",
    "LISTENER",
    "RULE",
    "TARGET_GROUP",
    "TARGETS",
    "TARGET_HEALTH",
    "TAGS",
    "LOAD_BALANCER_NAME",
    "TARGET_GROUP_NAME",
    "LISTENER_PORT",
    "RULE_PRIORITY",
    "ADDRESS",
    "Document",
    "key",
    "address_key",
    "new_id",
    "arn_kind",
    "check_arn",
    "load_balancer_arn",
    "target_group_arn",
    "listener_arn",
    "rule_arn",
    "get_load_balancer",
    "get_listener",
    "get_rule",
    "get_target_group",
    "retrying",
]

LOAD_BALANCER = "elbv2/load-balancer"
LISTENER = "elbv2/listener"
RULE = "elbv2/rule"
TARGET_GROUP = "elbv2/target-group"
TARGETS = "elbv2/targets"
TARGET_HEALTH = "elbv2/target-health"
TAGS = "elbv2/tags"
LOAD_BALANCER_NAME = "elbv2/load-balancer-name"
TARGET_GROUP_NAME = "elbv2/target-group-name"
LISTENER_PORT = "elbv2/listener-port"
RULE_PRIORITY = "elbv2/rule-priority"
ADDRESS = "elbv2/address"

Document = dict[str, Any]
T = TypeVar("T")

_ATTEMPTS = 8
_SHORT = {"application": "app", "network": "net"}
# The resource part of each kind of ARN (after `arn:aws:elasticloadbalancing:R:A:`).
_PATTERNS = {
    "load balancer": re.compile(r"^loadbalancer/(app|net)/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$"),
    "target group": re.compile(r"^targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$"),
    "listener": re.compile(r"^listener/(app|net)/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}/[0-9a-f]{16}$"),
    "listener rule": re.compile(
        r"^listener-rule/(app|net)/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}/[0-9a-f]{16}/[0-9a-f]{16}$"
    ),
}
_KINDS = {
    "load balancer": LOAD_BALANCER,
    "target group": TARGET_GROUP,
    "listener": LISTENER,
    "listener rule": RULE,
}


def key(ctx: RequestContext | Key, kind: str, name: str) -> Key:
    """The key of `kind`/`name` in the account and region of `ctx` (a request or another key)."""
    if isinstance(ctx, Key):
        return Key(ctx.account_id, ctx.region, kind, name)
    return Key(ctx.account_id, ctx.region, kind, name)


def address_key(address: str) -> Key:
    """Loopback addresses are host-wide: one lease per address across accounts and regions."""
    return Key("", "", ADDRESS, address)


def new_id(elb: Elbv2) -> str:
    """The 16 hex digits that end every ELBv2 ARN."""
    return elb.ids.hex32()[:16]


def arn_kind(value: str) -> str | None:
    """ "load balancer", "target group", "listener" or "listener rule" for a well-formed ARN."""
    parsed = parse_arn(value)
    if parsed is None or parsed.service != "elasticloadbalancing":
        return None
    for kind, pattern in _PATTERNS.items():
        if pattern.match(parsed.resource):
            return kind
    return None


def check_arn(value: str, kind: str) -> None:
    """ValidationError unless `value` is a well-formed ARN of `kind` ("load balancer", ...)."""
    if arn_kind(value) != kind:
        raise ValidationError(f"'{value}' is not a valid {kind} ARN")


def _prefix(ctx: RequestContext) -> str:
    return f"arn:aws:elasticloadbalancing:{ctx.region}:{ctx.account_id}:"


def load_balancer_arn(ctx: RequestContext, lb_type: str, name: str, lb_id: str) -> str:
    return f"{_prefix(ctx)}loadbalancer/{_SHORT[lb_type]}/{name}/{lb_id}"


def target_group_arn(ctx: RequestContext, name: str, tg_id: str) -> str:
    return f"{_prefix(ctx)}targetgroup/{name}/{tg_id}"


def listener_arn(lb_arn: str, listener_id: str) -> str:
    """`...:listener/app/<lb name>/<lb id>/<id>` from the load balancer's ARN."""
    return lb_arn.replace(":loadbalancer/", ":listener/", 1) + "/" + listener_id


def rule_arn(listener: str, rule_id: str) -> str:
    """`...:listener-rule/app/<lb name>/<lb id>/<listener id>/<id>` from the listener's ARN."""
    return listener.replace(":listener/", ":listener-rule/", 1) + "/" + rule_id


async def _get(elb: Elbv2, ctx: RequestContext, kind: str, arn: str) -> Versioned | None:
    check_arn(arn, next(k for k, v in _KINDS.items() if v == kind))
    return await elb.store.get(key(ctx, kind, arn))


async def get_load_balancer(elb: Elbv2, ctx: RequestContext, arn: str) -> Versioned:
    found = await _get(elb, ctx, LOAD_BALANCER, arn)
    if found is None:
        raise LoadBalancerNotFound("One or more load balancers not found")
    return found


async def get_target_group(elb: Elbv2, ctx: RequestContext, arn: str) -> Versioned:
    found = await _get(elb, ctx, TARGET_GROUP, arn)
    if found is None:
        raise TargetGroupNotFound("One or more target groups not found")
    return found


async def get_listener(elb: Elbv2, ctx: RequestContext, arn: str) -> Versioned:
    found = await _get(elb, ctx, LISTENER, arn)
    if found is None:
        raise ListenerNotFound("One or more listeners not found")
    return found


async def get_rule(elb: Elbv2, ctx: RequestContext, arn: str) -> Versioned:
    found = await _get(elb, ctx, RULE, arn)
    if found is None:
        raise RuleNotFound("One or more rules not found")
    return found


async def retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run `attempt` (read, validate, commit) again while its commit loses a race."""
    for _ in range(_ATTEMPTS - 1):
        try:
            return await attempt()
        except Conflict:
            continue
    return await attempt()
