"""Instance documents: how an instance is stored, how its state moves, how it is shown and filtered.

```
RunInstances -> pending --(launcher: agent started)--> running
StopInstances:  running -> stopping --(launcher: agent and containers stopped)--> stopped
StartInstances: stopped -> pending --(launcher)--> running
TerminateInstances: * -> shutting-down --(launcher: agent stopped, container instance
                    deregistered, containers removed)--> terminated --(an hour later)--> gone
```
The API writes the transitional states and `dockyard.desired` (running | stopped | terminated);
the server's instance launcher (`dockyard.server.instance_launcher`) makes the instance's agent
follow and writes the settled states. Every write is compare-and-swap on the document.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from dockyard.core.instance_types import InstanceType
from dockyard.core.vpc import derived_id, zone_id
from dockyard.services.ec2.filters import tag_fields

__all__ = [
    "STATE_CODES",
    "SIMULATED_TAG",
    "state",
    "set_state",
    "user_reason",
    "private_dns",
    "network_interface",
    "hardware",
    "placement",
    "render_instance",
    "instance_fields",
    "INSTANCE_FILTERS",
    "state_change",
]

STATE_CODES = {
    "pending": 0,
    "running": 16,
    "shutting-down": 32,
    "terminated": 48,
    "stopping": 64,
    "stopped": 80,
}
# An instance carrying this tag (or launched from a launch template carrying it) runs a simulated
# agent: it registers and accepts tasks like a real one without running containers.
SIMULATED_TAG = "dockyard:simulated"


def state(name: str) -> dict[str, Any]:
    return {"Code": STATE_CODES[name], "Name": name}


def user_reason(now: float) -> str:
    """`User initiated (2026-01-02 03:04:05 GMT)`"""
    stamp = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"User initiated ({stamp} GMT)"


def set_state(doc: dict[str, Any], name: str, now: float, *, user: bool = False) -> None:
    """Move `doc` to state `name`, with EC2's reason fields for it."""
    doc["State"] = state(name)
    doc.setdefault("dockyard", {})["stateChangedAt"] = now
    if name == "pending":
        doc["StateReason"] = {"Code": "pending", "Message": "pending"}
        doc["StateTransitionReason"] = ""
    elif name == "running":
        doc.pop("StateReason", None)
        doc["StateTransitionReason"] = ""
    elif user and name in ("stopping", "shutting-down"):
        doc["StateReason"] = {
            "Code": "Client.UserInitiatedShutdown",
            "Message": "Client.UserInitiatedShutdown: User initiated shutdown",
        }
        doc["StateTransitionReason"] = user_reason(now)
    if name == "terminated":
        doc["dockyard"]["terminatedAt"] = now
        doc.pop("NetworkInterfaces", None)
        doc["PrivateDnsName"] = ""
        doc.pop("PrivateIpAddress", None)


def private_dns(address: str, region: str) -> str:
    octets = "-".join(address.split("."))
    return f"ip-{octets}.ec2.internal" if region == "us-east-1" else f"ip-{octets}.{region}.compute.internal"


def network_interface(
    *,
    instance_id: str,
    account_id: str,
    address: str,
    dns: str,
    subnet_id: str,
    vpc_id: str,
    groups: list[dict[str, str]],
    now: float,
) -> dict[str, Any]:
    mac = "0a:" + ":".join(derived_id(instance_id, "mac", n=10)[i : i + 2] for i in range(0, 10, 2))
    return {
        "NetworkInterfaceId": "eni-" + derived_id(instance_id, "eni"),
        "Attachment": {
            "AttachmentId": "eni-attach-" + derived_id(instance_id, "eni-attach"),
            "AttachTime": now,
            "DeleteOnTermination": True,
            "DeviceIndex": 0,
            "Status": "attached",
            "NetworkCardIndex": 0,
        },
        "Description": "",
        "Groups": groups,
        "Ipv6Addresses": [],
        "MacAddress": mac,
        "OwnerId": account_id,
        "PrivateDnsName": dns,
        "PrivateIpAddress": address,
        "PrivateIpAddresses": [{"Primary": True, "PrivateDnsName": dns, "PrivateIpAddress": address}],
        "SourceDestCheck": True,
        "Status": "in-use",
        "SubnetId": subnet_id,
        "VpcId": vpc_id,
        "InterfaceType": "interface",
    }


def hardware(instance_type: InstanceType) -> dict[str, Any]:
    """The members that follow from the instance type."""
    arm = instance_type.architecture == "arm64"
    threads = 1 if (arm or instance_type.vcpus == 1 or instance_type.name.startswith(("t2.", "m1."))) else 2
    return {
        "InstanceType": instance_type.name,
        "Architecture": instance_type.architecture,
        "CpuOptions": {"CoreCount": instance_type.vcpus // threads, "ThreadsPerCore": threads},
        "EnaSupport": not instance_type.name.startswith(("t2.", "m1.")),
        "CurrentInstanceBootMode": "uefi" if arm else "legacy-bios",
        "BootMode": "uefi" if arm else "legacy-bios",
    }


def placement(zone: str) -> dict[str, Any]:
    return {
        "AvailabilityZone": zone,
        "AvailabilityZoneId": zone_id(zone),
        "GroupName": "",
        "Tenancy": "default",
    }


def render_instance(doc: dict[str, Any], tags: list[dict[str, str]] | None) -> dict[str, Any]:
    view = {k: v for k, v in doc.items() if k != "dockyard"}
    if tags:
        view["Tags"] = tags
    return view


def state_change(instance_id: str, previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    return {"InstanceId": instance_id, "CurrentState": dict(current), "PreviousState": dict(previous)}


def _strings(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, float):
        return [datetime.datetime.fromtimestamp(value, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")]
    return [str(value)]


def _paths(doc: dict[str, Any], path: str) -> list[str]:
    values: list[Any] = [doc]
    for part in path.split("."):
        nxt: list[Any] = []
        for value in values:
            if isinstance(value, list):
                nxt += [v.get(part) for v in value if isinstance(v, dict)]
            elif isinstance(value, dict):
                nxt.append(value.get(part))
        values = [v for v in nxt if v is not None]
        values = [x for v in values for x in (v if isinstance(v, list) else [v])]
    return [s for v in values for s in _strings(v)]


INSTANCE_FILTERS = {
    "instance-id": "InstanceId",
    "instance-state-name": "State.Name",
    "instance-state-code": "State.Code",
    "instance-type": "InstanceType",
    "image-id": "ImageId",
    "availability-zone": "Placement.AvailabilityZone",
    "placement-availability-zone-id": "Placement.AvailabilityZoneId",
    "vpc-id": "VpcId",
    "subnet-id": "SubnetId",
    "private-ip-address": "PrivateIpAddress",
    "private-dns-name": "PrivateDnsName",
    "key-name": "KeyName",
    "architecture": "Architecture",
    "launch-time": "LaunchTime",
    "client-token": "ClientToken",
    "ami-launch-index": "AmiLaunchIndex",
    "iam-instance-profile.arn": "IamInstanceProfile.Arn",
    "instance.group-id": "SecurityGroups.GroupId",
    "instance.group-name": "SecurityGroups.GroupName",
    "network-interface.subnet-id": "NetworkInterfaces.SubnetId",
    "network-interface.network-interface-id": "NetworkInterfaces.NetworkInterfaceId",
    "platform-details": "PlatformDetails",
    "root-device-type": "RootDeviceType",
    "state-reason-code": "StateReason.Code",
    "tenancy": "Placement.Tenancy",
}


def instance_fields(doc: dict[str, Any], tags: Iterable[dict[str, str]]) -> Any:
    tags = list(tags)
    internal = doc.get("dockyard", {})

    def values(name: str) -> list[str]:
        tagged = tag_fields(name, tags)
        if tagged is not None:
            return tagged
        if name == "reservation-id":
            return [str(internal.get("reservationId", ""))]
        if name == "owner-id":
            return [str(internal.get("ownerId", ""))]
        return _paths(doc, INSTANCE_FILTERS[name])

    return values
