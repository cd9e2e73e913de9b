"""Who an agent is on this host: its instance id, its loopback address and its registration.

EC2 agents publish bridge-mode ports on their own loopback address (127.0.0.N), so several
instances on one machine can each publish port 80. An address is held with a lock file for the
agent's lifetime, so two agents never pick the same one; a restarted agent keeps its address.
"""

from __future__ import annotations

import fcntl
import json
import secrets
from pathlib import Path
from typing import IO, Any

from dockyard import __version__
from dockyard.core.instance_types import InstanceType

__all__ = [
    "DEFAULT_AMI",
    "RESERVED_PORTS",
    "AddressLock",
    "agent_version_info",
    "identity_document",
    "new_instance_id",
    "registration_attributes",
]

RESERVED_PORTS = ("22", "2375", "2376", "51678", "51679")
DEFAULT_AMI = "ami-0dockyard00000000"  # the image id of an agent started by hand
LOCK_DIR = Path("/run/dockyard/addresses")


def new_instance_id() -> str:
    return "i-" + secrets.token_hex(9)[:17]


class AddressLock:
    """Hold 127.0.0.N for this agent (N from 2 to 254)."""

    def __init__(self, lock_dir: Path = LOCK_DIR) -> None:
        self._dir = lock_dir
        self._handle: IO[str] | None = None
        self.address: str | None = None

    def try_acquire(self, address: str) -> bool:
        """Hold exactly `address` if no other agent does."""
        self._dir.mkdir(parents=True, exist_ok=True)
        handle = open(self._dir / f"{address}.lock", "a+")  # noqa: SIM115 - held for the agent's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.release()
        self._handle = handle
        self.address = address
        return True

    def acquire(self, preferred: str | None = None) -> str:
        self._dir.mkdir(parents=True, exist_ok=True)
        candidates = [preferred] if preferred else []
        candidates += [f"127.0.0.{n}" for n in range(2, 255)]
        for address in candidates:
            if address is None:
                continue
            handle = open(self._dir / f"{address}.lock", "a+")  # noqa: SIM115 - held for the agent's life
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                if address == preferred and preferred and not preferred.startswith("127.0.0."):
                    break
                continue
            self._handle = handle
            self.address = address
            return address
        raise RuntimeError("no free 127.0.0.N address for this agent")

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def identity_document(
    *,
    instance_id: str,
    instance_type: InstanceType,
    zone: str,
    region: str,
    address: str,
    account_id: str,
    ami_id: str = DEFAULT_AMI,
) -> str:
    """An EC2 instance identity document, as the ECS agent sends it when registering."""
    return json.dumps(
        {
            "accountId": account_id,
            "architecture": instance_type.architecture,
            "availabilityZone": zone,
            "imageId": ami_id,
            "instanceId": instance_id,
            "instanceType": instance_type.name,
            "pendingTime": None,
            "privateIp": address,
            "region": region,
            "version": "2017-09-30",
        }
    )


def registration_attributes(
    *,
    instance_type: InstanceType | None,
    zone: str | None,
    external: bool,
    log_drivers: tuple[str, ...],
    custom: dict[str, str],
    vpc_id: str | None = None,
    subnet_id: str | None = None,
    ami_id: str = DEFAULT_AMI,
) -> list[dict[str, Any]]:
    """The built-in attributes (reference §5.4), the agent's capabilities, then custom ones."""
    attributes: list[dict[str, Any]] = []

    def add(name: str, value: str | None = None) -> None:
        attributes.append({"name": name, "value": value} if value is not None else {"name": name})

    arch = instance_type.architecture if instance_type else "x86_64"
    add("ecs.os-type", "linux")
    add("ecs.os-family", "LINUX")
    add("ecs.cpu-architecture", arch)
    if instance_type is not None and not external:
        add("ecs.instance-type", instance_type.name)
        add("ecs.ami-id", ami_id)
    if zone is not None and not external:
        add("ecs.availability-zone", zone)
    if vpc_id and not external:
        add("ecs.vpc-id", vpc_id)
    if subnet_id and not external:
        add("ecs.subnet-id", subnet_id)
    if external:
        add("ecs.capability.external")
    for version in (
        "1.17",
        "1.18",
        "1.19",
        "1.20",
        "1.21",
        "1.22",
        "1.23",
        "1.24",
        "1.25",
        "1.26",
        "1.27",
        "1.28",
        "1.29",
        "1.30",
        "1.31",
        "1.32",
        "1.33",
        "1.34",
        "1.35",
        "1.36",
        "1.37",
        "1.38",
        "1.39",
        "1.40",
        "1.41",
    ):
        add(f"com.amazonaws.ecs.capability.docker-remote-api.{version}")
    for driver in log_drivers:
        add(f"com.amazonaws.ecs.capability.logging-driver.{driver}")
    for capability in (
        "privileged-container",
        "task-iam-role",
        "task-iam-role-network-host",
        "private-registry-authentication.secretsmanager",
    ):
        add(f"com.amazonaws.ecs.capability.{capability}")
    for capability in (
        "task-eni",
        "container-health-check",
        "container-ordering",
        "task-cpu-mem-limit",
        "full-sync",
        "env-files.s3",
        "secrets.ssm.environment-variables",
        "secrets.asm.environment-variables",
        "execution-role-ecr-pull",
        "execution-role-awslogs",
    ):
        add(f"ecs.capability.{capability}")
    for name, value in custom.items():
        add(name, value or None)
    return attributes


def agent_version_info(docker_version: str) -> dict[str, str]:
    return {
        "agentVersion": f"dockyard-{__version__}",
        "agentHash": "dockyard",
        "dockerVersion": docker_version,
    }
