"""EC2 instance types a Dockyard instance can be: vCPUs and memory, as AWS lists them.

An agent started with `--instance-type` registers this envelope with its cluster (CPU units =
vCPUs x 1024; memory = what the ECS agent would see on such a host: the nominal size less what the
kernel keeps, about 4 %) and enforces it with a cgroup parent.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InstanceType", "INSTANCE_TYPES", "instance_type"]


@dataclass(frozen=True, slots=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int  # nominal
    architecture: str = "x86_64"

    @property
    def cpu_units(self) -> int:
        return self.vcpus * 1024

    @property
    def registered_memory_mib(self) -> int:
        return int(self.memory_mib * 0.96)


_TABLE = [
    ("m1.small", 1, 1740),  # EC2's default type when RunInstances names none
    ("t2.nano", 1, 512),
    ("t2.micro", 1, 1024),
    ("t2.small", 1, 2048),
    ("t2.medium", 2, 4096),
    ("t2.large", 2, 8192),
    ("t2.xlarge", 4, 16384),
    ("t3.nano", 2, 512),
    ("t3.micro", 2, 1024),
    ("t3.small", 2, 2048),
    ("t3.medium", 2, 4096),
    ("t3.large", 2, 8192),
    ("t3.xlarge", 4, 16384),
    ("t3.2xlarge", 8, 32768),
    ("m5.large", 2, 8192),
    ("m5.xlarge", 4, 16384),
    ("m5.2xlarge", 8, 32768),
    ("m5.4xlarge", 16, 65536),
    ("c5.large", 2, 4096),
    ("c5.xlarge", 4, 8192),
    ("c5.2xlarge", 8, 16384),
    ("c5.4xlarge", 16, 32768),
    ("r5.large", 2, 16384),
    ("r5.xlarge", 4, 32768),
    ("m6i.large", 2, 8192),
    ("m6i.xlarge", 4, 16384),
    ("c6i.large", 2, 4096),
    ("c6i.xlarge", 4, 8192),
]
_ARM = [("t4g.micro", 2, 1024), ("t4g.small", 2, 2048), ("t4g.medium", 2, 4096), ("m6g.large", 2, 8192)]

INSTANCE_TYPES: dict[str, InstanceType] = {
    **{name: InstanceType(name, cpus, mem) for name, cpus, mem in _TABLE},
    **{name: InstanceType(name, cpus, mem, "arm64") for name, cpus, mem in _ARM},
}


def instance_type(name: str) -> InstanceType | None:
    return INSTANCE_TYPES.get(name)
