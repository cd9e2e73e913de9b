"""`dockyard agent`: an agent from the command line (an EC2/EXTERNAL instance, the Fargate pool,
or a fleet of simulated instances), with its address kept across restarts."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from dockyard.agent.identity import AddressLock, new_instance_id
from dockyard.agent.main import DEFAULT_AMI, Agent, AgentConfig, InstanceDeregistered, log
from dockyard.core.instance_types import instance_type

__all__ = ["agent_from_args"]


def _pairs(items: list[str]) -> dict[str, str]:
    """`["a=1", "b"]` -> `{"a": "1", "b": ""}`"""
    return {name: value for name, _, value in (item.partition("=") for item in items)}


async def agent_from_args(args: argparse.Namespace) -> int:
    attributes = _pairs(args.attribute)
    labels = _pairs(args.label)
    if args.simulate:
        return await _simulate(args, attributes)
    lock = AddressLock()
    address, data_dir = args.address, args.data_dir
    if data_dir is None:
        from dockyard.server.settings import default_data_dir

        agents = default_data_dir() / "agents"
        if args.fargate_pool:
            data_dir = agents / "fargate"
        else:
            address = address or _reuse_address(agents, args.cluster, lock)
            data_dir = agents / f"{args.cluster}-{address}"
    config = AgentConfig(
        endpoint=args.endpoint,
        region=args.region,
        cluster=args.cluster,
        instance_type=args.instance_type,
        availability_zone=args.availability_zone,
        address=address,
        external=args.external,
        fargate_pool=args.fargate_pool,
        data_dir=data_dir,
        attributes=attributes,
        labels=labels,
        instance_id=args.instance_id,
        ami_id=args.ami_id or DEFAULT_AMI,
        vpc_id=args.vpc_id,
        subnet_id=args.subnet_id,
    )
    agent = Agent(config, lock=lock)
    try:
        await agent.run()
    except asyncio.CancelledError:
        pass
    except InstanceDeregistered as exc:
        log.error(
            "container instance %s was deregistered; the agent stops (its containers are left running)", exc
        )
        return 5
    return 0


async def _simulate(args: argparse.Namespace, attributes: dict[str, str]) -> int:
    """`--simulate [--count N]`: N simulated instances in this process (no Docker needed)."""
    from dockyard.agent.simulate import SimulatedConfig
    from dockyard.agent.simulated_fleet import run_fleet

    kind = instance_type(args.instance_type)
    if kind is None:
        raise SystemExit(f"dockyard agent: unknown instance type {args.instance_type!r}")
    if args.count < 1:
        raise SystemExit("dockyard agent: --count must be at least 1")
    template = SimulatedConfig(
        endpoint=args.endpoint,
        region=args.region,
        cluster=args.cluster,
        instance_type=kind,
        zone=args.availability_zone,
        instance_id=args.instance_id or new_instance_id(),
        address=args.address or "127.2.0.1",
        ami_id=args.ami_id or DEFAULT_AMI,
        vpc_id=args.vpc_id,
        subnet_id=args.subnet_id,
        attributes=attributes,
    )
    state_file = args.data_dir / "simulated.json" if args.data_dir is not None else None
    return await run_fleet(template, count=args.count, state_file=state_file)


def _reuse_address(agents: Path, cluster: str, lock: AddressLock) -> str:
    """The address of an earlier agent of this cluster whose lock is free (a restart), else a new one."""
    for previous in sorted(agents.glob(f"{cluster}-127.0.0.*")):
        address = previous.name.rsplit("-", 1)[-1]
        if lock.try_acquire(address):
            return address
    return lock.acquire()
