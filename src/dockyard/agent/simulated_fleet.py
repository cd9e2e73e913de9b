"""`dockyard agent --simulate --count N`: N simulated instances in one process.

Each instance has its own instance id, address (127.2.x.y), registration, node and poll loop; they
share the event loop and one HTTP session. Registrations run 50 at a time. With a state file, the
instances' identities are kept, so a restarted process re-registers the same container instances
and takes their tasks (as running) back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

from dockyard.agent.client import ControlPlane
from dockyard.agent.identity import new_instance_id
from dockyard.agent.simulate import SimulatedConfig, SimulatedInstance, shared_session

__all__ = ["run_fleet"]

log = logging.getLogger(__name__)


def _load_identities(path: Path | None) -> list[dict[str, str]]:
    if path is None or not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def _save_identities(path: Path | None, fleet: list[SimulatedInstance]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    data = [
        {
            "instanceId": i.config.instance_id,
            "address": i.config.address,
            "cluster": i.config.cluster,
            "containerInstanceArn": i.config.container_instance_arn or "",
        }
        for i in fleet
    ]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


async def run_fleet(
    template: SimulatedConfig, *, count: int, state_file: Path | None = None, concurrency: int = 50
) -> int:
    """Run `count` simulated instances like `template` in this process until cancelled.

    Each gets its own instance id and address (127.2.x.y unless `template.address` is set for a
    single instance); with `state_file`, identities are kept so a restart re-registers the same
    container instances."""
    known = _load_identities(state_file)
    session = shared_session()
    control = ControlPlane(template.endpoint, template.region, session=session)
    fleet: list[SimulatedInstance] = []
    for index in range(count):
        previous = known[index] if index < len(known) else {}
        same_cluster = previous.get("cluster") == template.cluster
        config = SimulatedConfig(
            **{
                **template.__dict__,
                "instance_id": previous.get("instanceId")
                or (template.instance_id if count == 1 else new_instance_id()),
                "address": previous.get("address")
                or (template.address if count == 1 else f"127.2.{(index + 1) // 256}.{(index + 1) % 256}"),
                "container_instance_arn": (previous.get("containerInstanceArn") or None)
                if same_cluster
                else None,
                "attributes": dict(template.attributes),
            }
        )
        fleet.append(SimulatedInstance(config, control))
    started = time.monotonic()
    gate = asyncio.Semaphore(concurrency)

    async def one(instance: SimulatedInstance) -> None:
        async with gate:
            await instance.register()
        await instance.run()

    tasks = [asyncio.create_task(one(i), name=f"simulated {i.config.instance_id}") for i in fleet]

    async def announce() -> None:
        await asyncio.gather(*(i.registered.wait() for i in fleet))
        _save_identities(state_file, fleet)
        log.info(
            "%d simulated instances (%s) registered with cluster %s in %.1fs",
            count,
            template.instance_type.name,
            template.cluster,
            time.monotonic() - started,
        )

    announcer = asyncio.create_task(announce())
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        pass
    finally:
        announcer.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, announcer, return_exceptions=True)
        if any(i.registered.is_set() for i in fleet):
            _save_identities(state_file, fleet)
        await session.close()
    return 5 if fleet and all(i.deregistered for i in fleet) else 0
