"""Targets: RegisterTargets and DeregisterTargets, on the target group's targets document.

```
RegisterTargets   -> each target checked (instance: EC2 says it exists, runs, is in the VPC;
                     ip: in a subnet of the VPC, or a private range with AvailabilityZone=all)
                  -> targets document: {Id, Port, AvailabilityZone, Address, RegisteredAt}
DeregisterTargets -> DeregisteredAt = now (draining); the drain controller removes the target
                     once deregistration_delay.timeout_seconds have passed (at once when 0)
```
`Address` is what the data plane connects to: an instance's private address as EC2 reports it,
or the ip target itself.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.elbv2.api import api
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.errors import InvalidTarget, TargetGroupNotFound, TooManyTargets, ValidationError
from dockyard.services.elbv2.network import check_vpc, default_subnets, instances
from dockyard.services.elbv2.resources import TARGETS, Document, get_target_group, key, retrying
from dockyard.store import Put, Versioned

__all__ = ["register_targets", "deregister_targets", "MAX_TARGETS", "targets_document"]

MAX_TARGETS = 1000
_INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")
_PRIVATE = [
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
]


def _quoted(ids: list[str]) -> str:
    return ", ".join(f"'{i}'" for i in ids)


async def targets_document(elb: Elbv2, group: Versioned) -> Versioned:
    found = await elb.store.get(key(group.key, TARGETS, group.key.name))
    if found is None:
        raise TargetGroupNotFound("One or more target groups not found")
    return found


async def _instance_targets(
    elb: Elbv2, ctx: RequestContext, group: Document, wanted: list[dict[str, Any]]
) -> list[Document]:
    ids = [t["Id"] for t in wanted]
    malformed = [i for i in ids if not _INSTANCE_ID.match(i)]
    if malformed:
        raise InvalidTarget(f"The following targets are not valid instance IDs: {_quoted(malformed)}")
    found = await instances(elb, ctx, ids)
    missing = [i for i in dict.fromkeys(ids) if i not in found]
    if missing:
        raise InvalidTarget(f"The following targets are not valid instances: {_quoted(missing)}")
    stopped = [i for i in dict.fromkeys(ids) if found[i]["State"]["Name"] != "running"]
    if stopped:
        raise InvalidTarget(
            f"The following targets are not in a running state and cannot be registered: {_quoted(stopped)}"
        )
    elsewhere = [i for i in dict.fromkeys(ids) if found[i].get("VpcId") != group["VpcId"]]
    if elsewhere:
        raise InvalidTarget(
            f"The following targets are not in the target group VPC '{group['VpcId']}': {_quoted(elsewhere)}"
        )
    out = []
    for target in wanted:
        instance = found[target["Id"]]
        zone = instance["Placement"]["AvailabilityZone"]
        if target.get("AvailabilityZone") not in (None, zone):
            raise ValidationError(
                f"Target '{target['Id']}' is in Availability Zone '{zone}', "
                f"not '{target['AvailabilityZone']}'"
            )
        out.append(
            {
                "Id": target["Id"],
                "Port": target["Port"],
                "AvailabilityZone": zone,
                "Address": instance.get("PrivateIpAddress", ""),
            }
        )
    return out


async def _ip_targets(
    elb: Elbv2, ctx: RequestContext, group: Document, wanted: list[dict[str, Any]]
) -> list[Document]:
    vpc = ipaddress.IPv4Network((await check_vpc(elb, ctx, group["VpcId"]))["CidrBlock"])
    subnets = [
        (ipaddress.IPv4Network(s["CidrBlock"]), s["AvailabilityZone"])
        for s in await default_subnets(elb, ctx)
    ]
    out = []
    for target in wanted:
        ip_id, zone = target["Id"], target.get("AvailabilityZone")
        try:
            address = ipaddress.IPv4Address(ip_id)
        except ValueError:
            raise InvalidTarget(f"The IP address '{ip_id}' is not a valid IPv4 address") from None
        if address in vpc:
            subnet_zone = next((z for cidr, z in subnets if address in cidr), None)
            if subnet_zone is None:
                raise InvalidTarget(f"The IP address '{ip_id}' is not in a subnet of VPC '{group['VpcId']}'")
            if zone == "all":
                raise ValidationError(
                    "The Availability Zone 'all' can only be specified for targets outside the VPC: "
                    f"'{ip_id}'"
                )
            if zone not in (None, subnet_zone):
                raise ValidationError(
                    f"Target '{ip_id}' is in Availability Zone '{subnet_zone}', not '{zone}'"
                )
            zone = subnet_zone
        elif any(address in private for private in _PRIVATE):
            if zone != "all":
                raise InvalidTarget(
                    f"The following targets are not in the target group VPC '{group['VpcId']}': '{ip_id}'; "
                    "specify the Availability Zone 'all' for targets outside the VPC"
                )
        else:
            raise InvalidTarget(f"The IP address '{ip_id}' is not within a private address range")
        out.append({"Id": ip_id, "Port": target["Port"], "AvailabilityZone": zone, "Address": ip_id})
    return out


@api.operation("RegisterTargets")
async def register_targets(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    async def attempt() -> dict[str, Any]:
        group = await get_target_group(elb, ctx, request["TargetGroupArn"])
        wanted = [{**t, "Port": int(t.get("Port") or group.value["Port"])} for t in request["Targets"]]
        if not wanted:
            raise ValidationError("At least one target must be specified")
        if group.value["TargetType"] == "instance":
            checked = await _instance_targets(elb, ctx, group.value, wanted)
        else:
            checked = await _ip_targets(elb, ctx, group.value, wanted)
        found = await targets_document(elb, group)
        doc = copy.deepcopy(found.value)
        current = {(t["Id"], t["Port"]): t for t in doc["Targets"]}
        now = elb.clock.now()
        for target in checked:
            entry = current.get((target["Id"], target["Port"]))
            if entry is None:
                entry = {**target, "RegisteredAt": now}
                doc["Targets"].append(entry)
                current[(target["Id"], target["Port"])] = entry
            elif "DeregisteredAt" in entry:
                entry.pop("DeregisteredAt")
                entry.update({**target, "RegisteredAt": now})
        if len(doc["Targets"]) > MAX_TARGETS:
            raise TooManyTargets(f"You've reached the limit of '{MAX_TARGETS}' targets per target group")
        if doc != found.value:
            await elb.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        return {}

    return await retrying(attempt)


@api.operation("DeregisterTargets")
async def deregister_targets(elb: Elbv2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    async def attempt() -> dict[str, Any]:
        group = await get_target_group(elb, ctx, request["TargetGroupArn"])
        found = await targets_document(elb, group)
        delay = int(group.value["dockyard"]["Attributes"]["deregistration_delay.timeout_seconds"])
        doc = copy.deepcopy(found.value)
        now = elb.clock.now()
        leaving = {(t["Id"], int(t.get("Port") or group.value["Port"])) for t in request["Targets"]}
        kept = []
        for entry in doc["Targets"]:
            if (entry["Id"], entry["Port"]) in leaving:
                if delay == 0:
                    continue
                entry.setdefault("DeregisteredAt", now)
            kept.append(entry)
        doc["Targets"] = kept
        if doc != found.value:
            await elb.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        return {}

    return await retrying(attempt)
