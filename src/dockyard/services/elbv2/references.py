"""Which load balancers use which target groups: each group's `LoadBalancerArns`, kept current.

A target group is used by a load balancer when a rule of one of its listeners (the default rule
included) forwards to it. Whenever rules change, the handler passes the rules it is about to write
or delete to `reference_writes`, which returns the target-group writes to commit with them:

    rules now (store) + the change -> for each affected group: LoadBalancerArns -> Put (CAS)

Every group a changed rule forwards to is rewritten with compare-and-swap even when its list is
unchanged, so a concurrent DeleteTargetGroup (which deletes with compare-and-swap too) and the
rule change cannot both succeed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.errors import TargetGroupNotFound
from dockyard.services.elbv2.resources import RULE, TARGET_GROUP, Document, key
from dockyard.store import Put, Write

__all__ = ["forwarded_groups", "rule_groups", "reference_writes", "users_of"]


def forwarded_groups(actions: Iterable[Mapping[str, Any]]) -> list[str]:
    """The target groups `actions` forward to, in order, without repeats."""
    found: list[str] = []
    for action in actions:
        if action.get("Type") != "forward":
            continue
        if action.get("TargetGroupArn"):
            found.append(str(action["TargetGroupArn"]))
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
            found.append(str(group["TargetGroupArn"]))
    return list(dict.fromkeys(found))


def rule_groups(rule: Mapping[str, Any]) -> list[str]:
    return forwarded_groups(rule.get("Actions") or [])


async def users_of(
    elb: Elbv2, ctx: RequestContext, changes: Mapping[str, Document | None]
) -> dict[str, set[str]]:
    """Target group ARN -> ARNs of the load balancers whose rules forward to it, after `changes`
    (rule ARN -> its new document, or None when it is deleted)."""
    rules = {
        doc.key.name: doc.value
        for doc in await elb.store.list(RULE, account_id=ctx.account_id, region=ctx.region)
    }
    for arn, doc in changes.items():
        if doc is None:
            rules.pop(arn, None)
        else:
            rules[arn] = doc
    users: dict[str, set[str]] = {}
    for doc in rules.values():
        for group in rule_groups(doc):
            users.setdefault(group, set()).add(doc["dockyard"]["LoadBalancerArn"])
    return users


async def reference_writes(
    elb: Elbv2,
    ctx: RequestContext,
    changes: Mapping[str, Document | None],
    *,
    before: Iterable[Mapping[str, Any]] = (),
) -> list[Write]:
    """Target-group writes that go with writing `changes` (rule ARN -> document or None);
    `before` are the changed rules' current documents (their groups may lose a user)."""
    users = await users_of(elb, ctx, changes)
    referenced = {g for doc in changes.values() if doc is not None for g in rule_groups(doc)}
    affected = referenced | {g for doc in before for g in rule_groups(doc)}
    writes: list[Write] = []
    for group in sorted(affected):
        found = await elb.store.get(key(ctx, TARGET_GROUP, group))
        if found is None:
            if group in referenced:
                raise TargetGroupNotFound(f"Target group '{group}' not found")
            continue
        lbs = sorted(users.get(group, set()))
        if group not in referenced and found.value.get("LoadBalancerArns") == lbs:
            continue
        doc = copy.deepcopy(found.value)
        doc["LoadBalancerArns"] = lbs
        writes.append(Put(found.key, doc, expected_revision=found.revision))
    return writes
