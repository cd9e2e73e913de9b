"""Helpers for end-to-end tests with EC2 instances (real agents): their state, and the
containers they leave when a test stops half-way."""

from __future__ import annotations

from collections.abc import Iterable

from dockyard.testing.platform import Platform
from dockyard.testing.platform import remove_containers as remove_labelled
from tests.waiting import until

__all__ = ["instance_state", "remove_containers", "wait_terminated"]


def instance_state(platform: Platform, instance_id: str) -> str:
    described = platform.aws("ec2", "describe-instances", "--instance-ids", instance_id)
    return str(described["Reservations"][0]["Instances"][0]["State"]["Name"])


def wait_terminated(platform: Platform, ids: Iterable[str], *, timeout: float = 60.0) -> None:
    ids = list(ids)
    until(
        lambda: all(instance_state(platform, i) == "terminated" for i in ids),
        timeout=timeout,
        what="the instances to terminate",
    )


def remove_containers(ids: Iterable[str]) -> None:
    """Remove any container the agents of these instances left running."""
    for instance_id in ids:
        remove_labelled(f"dockyard.agent={instance_id}")
