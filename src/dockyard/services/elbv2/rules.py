"""Listener rules: CreateRule, DescribeRules, ModifyRule, DeleteRule, SetRulePriorities.

Priorities are unique per listener: each rule holds a claim document
(`elbv2/rule-priority`, "<listener ARN>#<priority>") written with compare-and-swap in the same
commit as the rule, so two rules never get one priority. Rules are evaluated in ascending
priority, the default rule last; only application load balancers have rules beyond the default.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.elbv2.actions import check_actions
from dockyard.services.elbv2.api import api
from dockyard.services.elbv2.conditions import check_conditions
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.errors import (
    OperationNotPermitted,
    PriorityInUse,
    TooManyRules,
    UnsupportedProtocol,
    ValidationError,
)
from dockyard.services.elbv2.listeners import rule_labels
from dockyard.services.elbv2.paging import page
from dockyard.services.elbv2.references import reference_writes
from dockyard.services.elbv2.resources import (
    RULE,
    RULE_PRIORITY,
    TAGS,
    Document,
    check_arn,
    get_listener,
    get_load_balancer,
    get_rule,
    key,
    new_id,
    retrying,
    rule_arn,
)
from dockyard.services.elbv2.tags import check_new_tags, tag_writes
from dockyard.store import Delete, Key, Put, Versioned, Write

__all__ = ["create_rule", "describe_rules", "modify_rule", "delete_rule", "set_rule_priorities", "rule_order"]

MAX_RULES = 100


def rule_order(doc: Document) -> tuple[int, str]:
    """Evaluation order: ascending priority, the default rule last."""
    priority = doc["Priority"]
    return (50001 if priority == "default" else int(priority), doc["RuleArn"])


def _claim(ctx: RequestContext, listener: str, priority: int | str) -> Key:
    return key(ctx, RULE_PRIORITY, f"{listener}#{priority}")


def _refuse_transforms(request: dict[str, Any]) -> None:
    if request.get("Transforms"):
        raise ValidationError("Rule transforms are not supported by Dockyard's load balancers")


@api.operation("CreateRule")
async def create_rule(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    _refuse_transforms(request)
    tags = check_new_tags(request.get("Tags") or [])
    conditions = check_conditions(request["Conditions"])
    priority = int(request["Priority"])

    async def attempt() -> dict[str, Any]:
        listener = await get_listener(elb, ctx, request["ListenerArn"])
        lb_arn = listener.value["LoadBalancerArn"]
        lb = await get_load_balancer(elb, ctx, lb_arn)
        protocol = listener.value["Protocol"]
        if lb.value["Type"] != "application":
            raise UnsupportedProtocol(f"Listeners with the '{protocol}' protocol do not support rules")
        actions = await check_actions(elb, ctx, request["Actions"], lb=lb.value, listener_protocol=protocol)
        claim = _claim(ctx, listener.key.name, priority)
        if await elb.store.get(claim) is not None:
            raise PriorityInUse(f"Priority '{priority}' is currently in use")
        existing = await elb.store.find(RULE, "lb", lb_arn, account_id=ctx.account_id, region=ctx.region)
        if sum(1 for r in existing if not r.value["IsDefault"]) >= MAX_RULES:
            raise TooManyRules(
                f"The maximum number of rules per load balancer '{MAX_RULES}' has been reached"
            )
        arn = rule_arn(listener.key.name, new_id(elb))
        doc: Document = {
            "RuleArn": arn,
            "Priority": str(priority),
            "Conditions": conditions,
            "Actions": actions,
            "IsDefault": False,
            "dockyard": {"ListenerArn": listener.key.name, "LoadBalancerArn": lb_arn},
        }
        writes: list[Write] = [
            # Rewritten with compare-and-swap so a concurrent DeleteListener cannot miss the rule.
            Put(listener.key, listener.value, expected_revision=listener.revision, labels={"lb": lb_arn}),
            Put(key(ctx, RULE, arn), doc, expected_revision=0, labels=rule_labels(doc)),
            Put(claim, {"RuleArn": arn}, expected_revision=0),
            *await reference_writes(elb, ctx, {arn: doc}),
            *tag_writes(ctx, arn, tags),
        ]
        await elb.store.commit(writes)
        return {"Rules": [doc]}

    return await retrying(attempt)


@api.operation("DescribeRules")
async def describe_rules(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    listener, arns = request.get("ListenerArn"), request.get("RuleArns") or []
    if listener and arns:
        raise ValidationError("Listener rule ARNs and a listener ARN cannot be specified at the same time")
    if listener:
        await get_listener(elb, ctx, listener)
        found = await elb.store.find(RULE, "listener", listener, account_id=ctx.account_id, region=ctx.region)
        docs = [d.value for d in found]
    elif arns:
        docs = [(await get_rule(elb, ctx, arn)).value for arn in dict.fromkeys(arns)]
    else:
        raise ValidationError("You must specify either listener rule ARNs or a listener ARN")
    docs.sort(key=rule_order)
    items, marker = page(docs, request, key=lambda d: list(rule_order(d)))
    return {"Rules": items, **marker}


@api.operation("ModifyRule")
async def modify_rule(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    _refuse_transforms(request)
    arn = request["RuleArn"]

    async def attempt() -> dict[str, Any]:
        found = await get_rule(elb, ctx, arn)
        doc = copy.deepcopy(found.value)
        listener = await get_listener(elb, ctx, doc["dockyard"]["ListenerArn"])
        lb = await get_load_balancer(elb, ctx, listener.value["LoadBalancerArn"])
        if request.get("Conditions") is not None:
            if doc["IsDefault"]:
                raise OperationNotPermitted(f"The conditions of default rule '{arn}' cannot be modified")
            doc["Conditions"] = check_conditions(request["Conditions"])
        if request.get("Actions") is not None:
            doc["Actions"] = await check_actions(
                elb, ctx, request["Actions"], lb=lb.value, listener_protocol=listener.value["Protocol"]
            )
        if doc == found.value:
            return {"Rules": [doc]}
        writes: list[Write] = [Put(found.key, doc, expected_revision=found.revision, labels=rule_labels(doc))]
        if doc["IsDefault"]:
            mirrored = {**listener.value, "DefaultActions": doc["Actions"]}
            writes.append(
                Put(listener.key, mirrored, expected_revision=listener.revision, labels={"lb": lb.key.name})
            )
        writes += await reference_writes(elb, ctx, {arn: doc}, before=[found.value])
        await elb.store.commit(writes)
        return {"Rules": [doc]}

    return await retrying(attempt)


@api.operation("DeleteRule")
async def delete_rule(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    arn = request["RuleArn"]
    check_arn(arn, "listener rule")

    async def attempt() -> dict[str, Any]:
        found = await get_rule(elb, ctx, arn)
        if found.value["IsDefault"]:
            raise OperationNotPermitted(f"Default rule '{arn}' cannot be deleted")
        writes: list[Write] = [
            Delete(found.key, expected_revision=found.revision),
            Delete(_claim(ctx, found.value["dockyard"]["ListenerArn"], found.value["Priority"])),
        ]
        tags = await elb.store.get(key(ctx, TAGS, arn))
        if tags is not None:
            writes.append(Delete(tags.key, expected_revision=tags.revision))
        writes += await reference_writes(elb, ctx, {arn: None}, before=[found.value])
        await elb.store.commit(writes)
        return {}

    return await retrying(attempt)


def _pairs(request: dict[str, Any]) -> list[tuple[str, int]]:
    pairs: list[tuple[str, int]] = []
    for pair in request["RulePriorities"]:
        if not pair.get("RuleArn"):
            raise ValidationError("A rule ARN must be specified for each rule priority")
        if pair.get("Priority") is None:
            raise ValidationError("A priority must be specified for each rule")
        pairs.append((str(pair["RuleArn"]), int(pair["Priority"])))
    arns = [arn for arn, _ in pairs]
    repeated = next((arn for arn in arns if arns.count(arn) > 1), None)
    if repeated is not None:
        raise ValidationError(f"Rule '{repeated}' was provided multiple times")
    return pairs


@api.operation("SetRulePriorities")
async def set_rule_priorities(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    pairs = _pairs(request)

    async def attempt() -> dict[str, Any]:
        rules: list[tuple[Versioned, int]] = []
        for arn, priority in pairs:
            found = await get_rule(elb, ctx, arn)
            if found.value["IsDefault"]:
                raise OperationNotPermitted(f"Default rule '{arn}' priority cannot be modified")
            rules.append((found, priority))
        wanted: dict[tuple[str, int], str] = {}
        for found, priority in rules:
            slot = (found.value["dockyard"]["ListenerArn"], priority)
            if slot in wanted:
                raise ValidationError(f"Priority '{priority}' was provided multiple times")
            wanted[slot] = found.key.name
        moving = {found.key.name for found, _ in rules}
        writes: list[Write] = []
        vacated = {(f.value["dockyard"]["ListenerArn"], int(f.value["Priority"])) for f, _ in rules} - set(
            wanted
        )
        for listener, priority in sorted(vacated):
            writes.append(Delete(_claim(ctx, listener, priority)))
        for (listener, priority), arn in sorted(wanted.items()):
            claim = await elb.store.get(_claim(ctx, listener, priority))
            if claim is not None and claim.value["RuleArn"] not in moving:
                raise PriorityInUse(f"Priority '{priority}' is currently in use")
            revision = claim.revision if claim is not None else 0
            writes.append(Put(_claim(ctx, listener, priority), {"RuleArn": arn}, expected_revision=revision))
        updated = []
        for found, priority in rules:
            doc = {**found.value, "Priority": str(priority)}
            writes.append(Put(found.key, doc, expected_revision=found.revision, labels=rule_labels(doc)))
            updated.append(doc)
        await elb.store.commit(writes)
        return {"Rules": updated}

    return await retrying(attempt)
