"""DescribeInstanceTypes: the instance types of `dockyard.core.instance_types`, in AWS's shapes.

vCPUs, memory and architecture are the table's; the other facts (hypervisor, burstable, network
performance, boot modes) follow AWS's published values for the family closely enough for tools
that choose a type by them.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.instance_types import INSTANCE_TYPES, InstanceType
from dockyard.services.ec2.api import api
from dockyard.services.ec2.deps import Ec2
from dockyard.services.ec2.errors import InvalidInstanceType
from dockyard.services.ec2.filters import check_filters, matches, page
from dockyard.services.ec2.resources import check_dry_run

__all__ = ["instance_type_info", "describe_instance_types"]

_FREE_TIER = {"t2.micro", "t3.micro"}


def _family(name: str) -> str:
    return name.split(".", 1)[0]


def instance_type_info(t: InstanceType) -> dict[str, Any]:
    family = _family(t.name)
    xen = family in ("t2", "m1")
    arm = t.architecture == "arm64"
    burstable = family.startswith("t")
    threads = 1 if (xen or arm or t.vcpus == 1) else 2
    if family == "m1":
        network = "Low"
    elif family == "t2":
        network = "Low to Moderate"
    elif burstable:
        network = "Up to 5 Gigabit"
    else:
        network = "Up to 10 Gigabit"
    interfaces = 2 if t.vcpus <= 1 else 3 if t.vcpus == 2 else 4
    return {
        "InstanceType": t.name,
        "CurrentGeneration": family != "m1",
        "FreeTierEligible": t.name in _FREE_TIER,
        "SupportedUsageClasses": ["on-demand", "spot"],
        "SupportedRootDeviceTypes": ["ebs"],
        "SupportedVirtualizationTypes": ["hvm", "paravirtual"] if family == "m1" else ["hvm"],
        "BareMetal": False,
        "Hypervisor": "xen" if xen else "nitro",
        "ProcessorInfo": {"SupportedArchitectures": [t.architecture], "SustainedClockSpeedInGhz": 2.5},
        "VCpuInfo": {
            "DefaultVCpus": t.vcpus,
            "DefaultCores": t.vcpus // threads,
            "DefaultThreadsPerCore": threads,
        },
        "MemoryInfo": {"SizeInMiB": t.memory_mib},
        "InstanceStorageSupported": False,
        "EbsInfo": {
            "EbsOptimizedSupport": "unsupported" if xen else "default",
            "EncryptionSupport": "supported",
            "NvmeSupport": "unsupported" if xen else "required",
        },
        "NetworkInfo": {
            "NetworkPerformance": network,
            "MaximumNetworkInterfaces": interfaces,
            "Ipv4AddressesPerInterface": {2: 2, 3: 6, 4: 15}[interfaces],
            "Ipv6AddressesPerInterface": {2: 2, 3: 6, 4: 15}[interfaces],
            "Ipv6Supported": family != "m1",
            "EnaSupport": "unsupported" if xen else "required",
        },
        "PlacementGroupInfo": {
            "SupportedStrategies": ["partition", "spread"]
            if burstable
            else ["cluster", "partition", "spread"]
        },
        "HibernationSupported": not arm and family != "m1",
        "BurstablePerformanceSupported": burstable,
        "DedicatedHostsSupported": not burstable,
        "AutoRecoverySupported": True,
        "SupportedBootModes": ["uefi"] if arm else ["legacy-bios"] if xen else ["legacy-bios", "uefi"],
        "SupportedInRegion": True,
    }


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _fields(info: dict[str, Any]) -> Any:
    table: dict[str, list[str]] = {
        "instance-type": [info["InstanceType"]],
        "current-generation": [_bool(info["CurrentGeneration"])],
        "free-tier-eligible": [_bool(info["FreeTierEligible"])],
        "processor-info.supported-architecture": info["ProcessorInfo"]["SupportedArchitectures"],
        "vcpu-info.default-vcpus": [str(info["VCpuInfo"]["DefaultVCpus"])],
        "vcpu-info.default-cores": [str(info["VCpuInfo"]["DefaultCores"])],
        "memory-info.size-in-mib": [str(info["MemoryInfo"]["SizeInMiB"])],
        "burstable-performance-supported": [_bool(info["BurstablePerformanceSupported"])],
        "hypervisor": [info["Hypervisor"]],
        "bare-metal": [_bool(info["BareMetal"])],
        "supported-usage-class": info["SupportedUsageClasses"],
        "supported-virtualization-type": info["SupportedVirtualizationTypes"],
        "supported-root-device-type": info["SupportedRootDeviceTypes"],
        "network-info.ena-support": [info["NetworkInfo"]["EnaSupport"]],
    }
    return lambda name: table.get(name, [])


_FILTERS = (
    "instance-type",
    "current-generation",
    "free-tier-eligible",
    "processor-info.supported-architecture",
    "vcpu-info.default-vcpus",
    "vcpu-info.default-cores",
    "memory-info.size-in-mib",
    "burstable-performance-supported",
    "hypervisor",
    "bare-metal",
    "supported-usage-class",
    "supported-virtualization-type",
    "supported-root-device-type",
    "network-info.ena-support",
)


@api.operation("DescribeInstanceTypes")
async def describe_instance_types(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    filters = request.get("Filters", [])
    check_filters(filters, _FILTERS, tags=False)
    wanted = request.get("InstanceTypes", [])
    missing = [name for name in wanted if name not in INSTANCE_TYPES]
    if missing:
        raise InvalidInstanceType(
            f"The following supplied instance types do not exist: [{', '.join(missing)}]"
        )
    check_dry_run(request)
    infos = [
        instance_type_info(t) for name, t in sorted(INSTANCE_TYPES.items()) if (not wanted or name in wanted)
    ]
    selected = [i for i in infos if matches(filters, _fields(i))]
    items, token = page(selected, request, key=lambda i: i["InstanceType"], bounds=(5, 100))
    return {"InstanceTypes": items, **({"NextToken": token} if token else {})}
