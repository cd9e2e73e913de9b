"""DescribeTargetHealth: the registered targets merged with what the data plane observed.

Only the data plane writes `elbv2/target-health` (`{"Targets": {"<Id>:<Port>": {State, Reason?,
Description?}}}`); this operation decides what a user sees, first rule that applies:

| target                                   | State    | Reason                           |
|------------------------------------------|----------|----------------------------------|
| not registered (named in the request)    | unused   | Target.NotRegistered             |
| deregistered, delay not over             | draining | Target.DeregistrationInProgress  |
| group used by no listener or rule        | unused   | Target.NotInUse                  |
| instance not running (EC2 says)          | unused   | Target.InvalidState              |
| the data plane reported on it            | as reported                                 |
| otherwise (just registered)              | initial  | Elb.RegistrationInProgress       |
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.elbv2.api import api
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.network import instances
from dockyard.services.elbv2.resources import TARGET_HEALTH, Document, get_target_group, key
from dockyard.services.elbv2.targets import targets_document

__all__ = ["describe_target_health", "health_of"]

_NOT_REGISTERED = {
    "State": "unused",
    "Reason": "Target.NotRegistered",
    "Description": "Target is not registered to the target group",
}
_DRAINING = {
    "State": "draining",
    "Reason": "Target.DeregistrationInProgress",
    "Description": "Target deregistration is in progress",
}
_NOT_IN_USE = {
    "State": "unused",
    "Reason": "Target.NotInUse",
    "Description": "Target group is not configured to receive traffic from the load balancer",
}
_INITIAL = {
    "State": "initial",
    "Reason": "Elb.RegistrationInProgress",
    "Description": "Target registration is in progress",
}


def health_of(
    entry: Document | None, *, in_use: bool, instance_state: str | None, observed: Document | None
) -> dict[str, str]:
    """The `TargetHealth` of one target (pure; the table above)."""
    if entry is None:
        return dict(_NOT_REGISTERED)
    if "DeregisteredAt" in entry:
        return dict(_DRAINING)
    if not in_use:
        return dict(_NOT_IN_USE)
    if instance_state is not None and instance_state != "running":
        return {
            "State": "unused",
            "Reason": "Target.InvalidState",
            "Description": f"Target is in the {instance_state} state",
        }
    if observed:
        return {k: str(observed[k]) for k in ("State", "Reason", "Description") if observed.get(k)}
    return dict(_INITIAL)


def _selected(
    request: dict[str, Any], registered: list[Document], port: int
) -> list[tuple[Document, Document | None]]:
    """(the target as shown, its registration or None) for each target the request asks about."""
    wanted = request.get("Targets")
    if not wanted:
        return [(_shown(e), e) for e in registered]
    out: list[tuple[Document, Document | None]] = []
    for target in wanted:
        matches = [e for e in registered if e["Id"] == target["Id"]]
        if target.get("Port") is not None:
            matches = [e for e in matches if e["Port"] == target["Port"]]
        if matches:
            out += [(_shown(e), e) for e in matches]
        else:
            shown = {"Id": target["Id"], "Port": int(target.get("Port") or port)}
            if target.get("AvailabilityZone"):
                shown["AvailabilityZone"] = target["AvailabilityZone"]
            out.append((shown, None))
    return out


def _shown(entry: Document) -> Document:
    shown = {"Id": entry["Id"], "Port": entry["Port"]}
    if not entry["Id"].startswith("i-") and entry.get("AvailabilityZone"):
        shown["AvailabilityZone"] = entry["AvailabilityZone"]
    return shown


@api.operation("DescribeTargetHealth")
async def describe_target_health(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    group = await get_target_group(elb, ctx, request["TargetGroupArn"])
    registered = (await targets_document(elb, group)).value["Targets"]
    selected = _selected(request, registered, group.value["Port"])
    observed_doc = await elb.store.get(key(ctx, TARGET_HEALTH, group.key.name))
    observed = (observed_doc.value.get("Targets") or {}) if observed_doc else {}
    in_use = bool(group.value.get("LoadBalancerArns"))
    states: dict[str, str] = {}
    if group.value["TargetType"] == "instance" and in_use:
        ids = [e["Id"] for _, e in selected if e is not None and "DeregisteredAt" not in e]
        found = await instances(elb, ctx, ids)
        states = {i: found[i]["State"]["Name"] if i in found else "terminated" for i in ids}
    check_port = group.value.get("HealthCheckPort", "traffic-port")
    descriptions = []
    for shown, entry in selected:
        health = health_of(
            entry,
            in_use=in_use,
            instance_state=states.get(shown["Id"]),
            observed=observed.get(f"{shown['Id']}:{shown['Port']}"),
        )
        descriptions.append(
            {
                "Target": shown,
                "HealthCheckPort": str(shown["Port"]) if check_port == "traffic-port" else str(check_port),
                "TargetHealth": health,
            }
        )
    return {"TargetHealthDescriptions": descriptions}
