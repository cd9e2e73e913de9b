"""RunInstances: resolve what to launch (request over launch template), check it, record the instances.

```
request --(LaunchTemplate? merge its LaunchTemplateData under the request's own values)--> spec
spec --checks: image, type, counts, user data, subnet/zone, security groups, tags--> ok
ok --lease one private address per instance (127.0.0.N, host-wide, compare-and-swap)--> commit:
     instances (pending), address leases, tags, client token   (all or nothing)
```
The instances start as `pending`; the server's instance launcher starts their agents. An
instance is *simulated* when it (or its launch template) carries the tag `dockyard:simulated=true`
or the server simulates every instance: its agent runs inside the server and its private address
comes from 127.1.0.0/16 instead of a real loopback address for publishing ports.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.instance_types import InstanceType, instance_type
from dockyard.core.vpc import Subnet, default_subnets, derived_id
from dockyard.services.ec2.api import api
from dockyard.services.ec2.deps import Ec2
from dockyard.services.ec2.errors import (
    InsufficientInstanceCapacity,
    InvalidAMIIDMalformed,
    InvalidIPAddressInUse,
    InvalidParameterCombination,
    InvalidParameterValue,
    InvalidSubnetIDNotFound,
    InvalidUserDataMalformed,
    MissingParameter,
    malformed_id,
)
from dockyard.services.ec2.instance_documents import (
    SIMULATED_TAG,
    hardware,
    network_interface,
    placement,
    private_dns,
    render_instance,
    set_state,
)
from dockyard.services.ec2.launch_templates import resolve
from dockyard.services.ec2.resources import (
    ADDRESS,
    CLIENT_TOKEN,
    INSTANCE,
    address_key,
    check_dry_run,
    key,
    new_id,
)
from dockyard.services.ec2.security_groups import resolve_groups
from dockyard.services.ec2.tags import Tag, merge, spec_tags, tags_of, tags_put
from dockyard.store import Conflict, Put

__all__ = ["LaunchSpec", "run_instances", "launch_spec"]

DEFAULT_INSTANCE_TYPE = "m1.small"  # EC2's default when a request names none
MAX_USER_DATA = 16384
_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    image_id: str
    instance_type: InstanceType
    subnet: Subnet | None
    zone: str | None
    groups: list[dict[str, str]]
    user_data: str
    tags: list[Tag]
    key_name: str | None
    iam_profile: dict[str, str] | None
    template: dict[str, str] | None
    simulated: bool
    private_ip: str | None
    disable_api_termination: bool
    disable_api_stop: bool
    monitoring: bool
    metadata_options: dict[str, Any]


def _given(value: Any) -> bool:
    return value not in (None, "", [], {})


def _iam_profile(ctx: RequestContext, spec: dict[str, Any] | None) -> dict[str, str] | None:
    if not spec:
        return None
    arn = spec.get("Arn") or f"arn:aws:iam::{ctx.account_id}:instance-profile/{spec.get('Name', '')}"
    return {"Arn": arn, "Id": "AIPA" + derived_id(arn).upper()}


def _user_data(value: str | None) -> str:
    if not value:
        return ""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidUserDataMalformed("Invalid BASE64 encoding of user data.") from None
    if len(raw) > MAX_USER_DATA:
        raise InvalidParameterValue(f"User data is limited to {MAX_USER_DATA} bytes")
    return value


async def launch_spec(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> LaunchSpec:
    data: dict[str, Any] = {}
    template: dict[str, str] | None = None
    template_tags: list[Tag] = []
    if request.get("LaunchTemplate"):
        version = await resolve(ec2, ctx, request["LaunchTemplate"])
        data = version["LaunchTemplateData"]
        template = {
            "LaunchTemplateId": version["LaunchTemplateId"],
            "LaunchTemplateName": version["LaunchTemplateName"],
            "Version": str(version["VersionNumber"]),
        }
        template_tags = await tags_of(ec2, ctx, version["LaunchTemplateId"])

    def pick(name: str) -> Any:
        return request[name] if _given(request.get(name)) else data.get(name)

    interfaces = pick("NetworkInterfaces") or [{}]
    interface = interfaces[0] if interfaces else {}
    image_id = pick("ImageId")
    if not image_id:
        raise MissingParameter("The request must contain the parameter ImageId")
    if not str(image_id).startswith("ami-"):
        raise malformed_id(InvalidAMIIDMalformed, image_id, "ami")
    type_name = pick("InstanceType") or DEFAULT_INSTANCE_TYPE
    itype = instance_type(type_name)
    if itype is None:
        raise InvalidParameterValue(f"Invalid value '{type_name}' for InstanceType.")
    subnet_id = request.get("SubnetId") or interface.get("SubnetId")
    zone = (pick("Placement") or {}).get("AvailabilityZone")
    known = {s.subnet_id: s for s in default_subnets(ctx.account_id, ctx.region)}
    subnet = None
    if subnet_id:
        subnet = known.get(subnet_id)
        if subnet is None:
            raise InvalidSubnetIDNotFound(f"The subnet ID '{subnet_id}' does not exist")
        if zone and zone != subnet.availability_zone:
            raise InvalidParameterValue(
                f"Value ({zone}) for parameter availabilityZone is invalid. Subnet '{subnet_id}' is in "
                f"the availability zone {subnet.availability_zone}"
            )
    elif zone and zone not in {s.availability_zone for s in known.values()}:
        raise InvalidParameterValue(f"Invalid availability zone: [{zone}]")
    group_ids = (
        request.get("SecurityGroupIds") or interface.get("Groups") or data.get("SecurityGroupIds") or []
    )
    group_names = pick("SecurityGroups") or []
    groups = await resolve_groups(ec2, ctx, ids=list(group_ids), names=list(group_names))
    if not groups:
        groups = await resolve_groups(ec2, ctx, ids=[], names=["default"])
    tags = merge(
        spec_tags(ctx, data.get("TagSpecifications", []), "instance"),
        spec_tags(ctx, request.get("TagSpecifications", []), "instance"),
    )
    simulated = ec2.settings.simulate_instances or any(
        t["Key"] == SIMULATED_TAG and t["Value"].lower() == "true" for t in [*tags, *template_tags]
    )
    if template is not None:
        tags = merge(
            tags,
            [
                {"Key": "aws:ec2launchtemplate:id", "Value": template["LaunchTemplateId"]},
                {"Key": "aws:ec2launchtemplate:version", "Value": template["Version"]},
            ],
        )
    return LaunchSpec(
        image_id=str(image_id),
        instance_type=itype,
        subnet=subnet,
        zone=zone,
        groups=groups,
        user_data=_user_data(pick("UserData")),
        tags=tags,
        key_name=pick("KeyName"),
        iam_profile=_iam_profile(ctx, pick("IamInstanceProfile")),
        template=template,
        simulated=simulated,
        private_ip=request.get("PrivateIpAddress") or interface.get("PrivateIpAddress"),
        disable_api_termination=bool(pick("DisableApiTermination")),
        disable_api_stop=bool(pick("DisableApiStop")),
        monitoring=bool((pick("Monitoring") or {}).get("Enabled")),
        metadata_options=dict(pick("MetadataOptions") or {}),
    )


async def _free_addresses(ec2: Ec2, spec: LaunchSpec, count: int) -> list[str]:
    """Up to `count` private addresses no instance holds (and, for real agents, no process holds)."""
    leased = {doc.key.name for doc in await ec2.store.list(ADDRESS, account_id="", region="")}
    if spec.private_ip:
        if spec.private_ip in leased or not ec2.settings.address_probe(spec.private_ip):
            raise InvalidIPAddressInUse(f"Address {spec.private_ip} is in use.")
        return [spec.private_ip]
    found: list[str] = []
    if spec.simulated:
        for n in range(1, 65535):
            address = f"127.1.{n // 256}.{n % 256}"
            if n % 256 not in (0, 255) and address not in leased:
                found.append(address)
                if len(found) == count:
                    break
        return found
    for n in range(254, 1, -1):  # from the top: agents started by hand take the low ones
        address = f"127.0.0.{n}"
        if address not in leased and ec2.settings.address_probe(address):
            found.append(address)
            if len(found) == count:
                break
    return found


async def _zone_counts(ec2: Ec2, ctx: RequestContext) -> dict[str, int]:
    counts = {s.availability_zone: 0 for s in default_subnets(ctx.account_id, ctx.region)}
    for doc in await ec2.store.list(INSTANCE, account_id=ctx.account_id, region=ctx.region):
        if doc.value["State"]["Name"] not in ("shutting-down", "terminated"):
            zone = doc.value.get("Placement", {}).get("AvailabilityZone")
            if zone in counts:
                counts[zone] += 1
    return counts


def _instance(
    ec2: Ec2,
    ctx: RequestContext,
    spec: LaunchSpec,
    *,
    subnet: Subnet,
    address: str,
    index: int,
    extra: dict[str, Any],
) -> dict[str, Any]:
    now = ec2.clock.now()
    instance_id = new_id(ec2, "i")
    dns = private_dns(address, ctx.region)
    doc: dict[str, Any] = {
        "InstanceId": instance_id,
        "ImageId": spec.image_id,
        "PrivateDnsName": dns,
        "PublicDnsName": "",
        "AmiLaunchIndex": index,
        "ProductCodes": [],
        "LaunchTime": now,
        "Placement": placement(subnet.availability_zone),
        "Monitoring": {"State": "enabled" if spec.monitoring else "disabled"},
        "SubnetId": subnet.subnet_id,
        "VpcId": subnet.vpc_id,
        "PrivateIpAddress": address,
        "BlockDeviceMappings": [],
        "EbsOptimized": False,
        "Hypervisor": "xen",
        "NetworkInterfaces": [
            network_interface(
                instance_id=instance_id,
                account_id=ctx.account_id,
                address=address,
                dns=dns,
                subnet_id=subnet.subnet_id,
                vpc_id=subnet.vpc_id,
                groups=spec.groups,
                now=now,
            )
        ],
        "RootDeviceName": "/dev/xvda",
        "RootDeviceType": "ebs",
        "SecurityGroups": spec.groups,
        "SourceDestCheck": True,
        "VirtualizationType": "hvm",
        "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
        "HibernationOptions": {"Configured": False},
        "MetadataOptions": {
            "State": "applied",
            "HttpTokens": spec.metadata_options.get("HttpTokens", "optional"),
            "HttpPutResponseHopLimit": spec.metadata_options.get("HttpPutResponseHopLimit", 1),
            "HttpEndpoint": spec.metadata_options.get("HttpEndpoint", "enabled"),
            "HttpProtocolIpv6": "disabled",
            "InstanceMetadataTags": spec.metadata_options.get("InstanceMetadataTags", "disabled"),
        },
        "EnclaveOptions": {"Enabled": False},
        "PlatformDetails": "Linux/UNIX",
        "UsageOperation": "RunInstances",
        "UsageOperationUpdateTime": now,
        "PrivateDnsNameOptions": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": False,
        },
        "MaintenanceOptions": {"AutoRecovery": "default"},
        **hardware(spec.instance_type),
        **extra,
        "dockyard": {
            "desired": "running",
            "simulated": spec.simulated,
            "address": address,
            "userData": spec.user_data,
            "disableApiTermination": spec.disable_api_termination,
            "disableApiStop": spec.disable_api_stop,
            "launchTemplate": spec.template,
        },
    }
    if spec.key_name:
        doc["KeyName"] = spec.key_name
    if spec.iam_profile:
        doc["IamInstanceProfile"] = spec.iam_profile
    set_state(doc, "pending", now)
    return doc


@api.operation("RunInstances")
async def run_instances(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    low, high = request["MinCount"], request["MaxCount"]
    if low < 1:
        raise InvalidParameterValue(f"Invalid value '{low}' for minCount. Must be greater than 0.")
    if high < low:
        raise InvalidParameterValue(
            f"Invalid value '{high}' for maxCount. Must be greater than or equal to minCount."
        )
    spec = await launch_spec(ec2, ctx, request)
    if spec.private_ip and high > 1:
        raise InvalidParameterCombination(
            "Cannot specify a private IP address when launching more than one instance."
        )
    token = request.get("ClientToken")
    if token:
        previous = await ec2.store.get(key(ctx, CLIENT_TOKEN, token))
        if previous is not None:
            return await _reservation(
                ec2, ctx, previous.value["ReservationId"], previous.value["InstanceIds"]
            )
    check_dry_run(request)
    for _ in range(_ATTEMPTS):
        addresses = await _free_addresses(ec2, spec, high)
        if len(addresses) < low:
            zone = spec.subnet.availability_zone if spec.subnet else spec.zone or f"{ctx.region}a"
            raise InsufficientInstanceCapacity(
                f"We currently do not have sufficient {spec.instance_type.name} capacity in the Availability "
                f"Zone you requested ({zone}). Our system will be working on provisioning additional "
                "capacity."
            )
        counts = await _zone_counts(ec2, ctx)
        subnets = default_subnets(ctx.account_id, ctx.region)
        reservation_id = new_id(ec2, "r")
        extra = {"ClientToken": token} if token else {}
        docs = []
        for index, address in enumerate(addresses):
            subnet = spec.subnet
            if subnet is None:
                candidates = [s for s in subnets if spec.zone in (None, s.availability_zone)]
                subnet = min(candidates, key=lambda s: counts[s.availability_zone])
                counts[subnet.availability_zone] += 1
            doc = _instance(ec2, ctx, spec, subnet=subnet, address=address, index=index, extra=extra)
            doc["dockyard"].update({"reservationId": reservation_id, "ownerId": ctx.account_id})
            docs.append(doc)
        writes: list[Put] = []
        for doc in docs:
            instance_id = doc["InstanceId"]
            writes.append(Put(key(ctx, INSTANCE, instance_id), doc, expected_revision=0))
            writes.append(
                Put(address_key(doc["dockyard"]["address"]), {"instanceId": instance_id}, expected_revision=0)
            )
            if spec.tags:
                writes.append(tags_put(ctx, instance_id, "instance", spec.tags))
        if token:
            ids = [d["InstanceId"] for d in docs]
            writes.append(
                Put(
                    key(ctx, CLIENT_TOKEN, token),
                    {"ReservationId": reservation_id, "InstanceIds": ids},
                    expected_revision=0,
                )
            )
        try:
            await ec2.store.commit(writes)
        except Conflict:
            continue
        return {
            "ReservationId": reservation_id,
            "OwnerId": ctx.account_id,
            "Groups": [],
            "Instances": [render_instance(d, spec.tags) for d in docs],
        }
    raise InsufficientInstanceCapacity("Insufficient capacity.")


async def _reservation(ec2: Ec2, ctx: RequestContext, reservation_id: str, ids: list[str]) -> dict[str, Any]:
    instances = []
    for instance_id in ids:
        found = await ec2.store.get(key(ctx, INSTANCE, instance_id))
        if found is not None:
            instances.append(render_instance(found.value, await tags_of(ec2, ctx, instance_id)))
    return {"ReservationId": reservation_id, "OwnerId": ctx.account_id, "Groups": [], "Instances": instances}
