"""The instance launcher: EC2 instances as local virtual hosts, each one an agent.

The EC2 API records what an instance should be (`dockyard.desired`, with the transitional state);
the launcher makes its agent follow, level-triggered, and writes the settled state:

```
store change (ec2:instance) / agent exit / resync --> queue --> reconcile(instance):
  desired running     no live agent -> adopt the one an earlier server left (pid), else start one
                      (a real `dockyard agent` process, or a simulated one in this loop);
                      pending -> running.  A crashed agent restarts with backoff; one that exited
                      because its container instance was deregistered is left stopped (ecs-init).
  desired stopped     agent stopped, then its containers (simulated: its tasks reported STOPPED);
                      stopping -> stopped
  desired terminated  agent stopped; its container instance deregistered with force through the
                      ECS API (ECS then records its tasks STOPPED); containers and cgroup removed;
                      shutting-down -> terminated, its private address released
  no document         agent stopped (the store was reset)
```
Stopping the server stops every agent (their containers keep running); starting it again
restarts them with the same identity (data directory `<data dir>/instances/<id>`), so they take
their containers back. The agent's cluster and settings come from the instance's user data
(`ECS_CLUSTER=...` lines, as in /etc/ecs/ecs.config).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from dockyard.agent.client import ControlPlane
from dockyard.agent.simulate import SimulatedConfig, SimulatedInstance, shared_session
from dockyard.agent.storage import unmount_all
from dockyard.aws.local_client import LocalClient
from dockyard.controllers.workqueue import WorkQueue
from dockyard.core.clock import Clock
from dockyard.core.errors import AwsError
from dockyard.core.instance_types import instance_type
from dockyard.server.instance_agents import (
    DEREGISTERED_EXIT,
    AdoptedAgent,
    AgentHandle,
    LocalHost,
    ProcessAgent,
    SimulatedAgent,
)
from dockyard.services.ec2.instance_documents import set_state
from dockyard.services.ec2.resources import INSTANCE, address_key
from dockyard.services.ec2.user_data import ecs_config, instance_attributes
from dockyard.store import Change, Conflict, Delete, Key, Put, Store, Write

__all__ = ["InstanceLauncher"]

log = logging.getLogger(__name__)

_RESYNC = 15.0
_STABLE_RUN = 60.0  # an agent that ran this long resets its crash backoff


class InstanceLauncher:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        endpoint: str,
        data_dir: Path | None,
        ecs: LocalClient,
        workers: int = 8,
    ) -> None:
        self._store = store
        self._clock = clock
        self._endpoint = endpoint
        self._given_dir = data_dir
        self._dir = data_dir
        self._ecs = ecs
        self._queue = WorkQueue(clock, max_delay=60.0)
        self._workers = workers
        self._handles: dict[str, AgentHandle] = {}
        self._started_at: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._retired: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._host = LocalHost()
        self._session: aiohttp.ClientSession | None = None
        self._controls: dict[str, ControlPlane] = {}

    # -- lifespan -----------------------------------------------------------------------------------

    async def start(self) -> None:
        self._unsubscribe = self._store.subscribe(self._on_changes)
        self._tasks = [
            asyncio.create_task(self._work(), name=f"instance-launcher-{n}") for n in range(self._workers)
        ]
        self._tasks.append(asyncio.create_task(self._resync(), name="instance-launcher-resync"))

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        handles = list(self._handles.values())
        self._handles.clear()
        await asyncio.gather(*(h.stop() for h in handles), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        await self._host.close()
        if self._given_dir is None and self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _on_changes(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if change.key.kind == INSTANCE:
                self._queue.add(change.key)

    async def _resync(self) -> None:
        while True:
            for doc in await self._store.list(INSTANCE):
                self._queue.add(doc.key)
            await self._clock.sleep(_RESYNC)

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            try:
                after = await self._reconcile(key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "instance %s: %s; retrying", key.name, exc, exc_info=log.isEnabledFor(logging.DEBUG)
                )
                self._queue.done(key, error=exc)
            else:
                self._queue.done(key, requeue_after=after)

    # -- one instance -------------------------------------------------------------------------------

    async def _reconcile(self, key: Key) -> float | None:
        found = await self._store.get(key)
        handle = self._handles.get(key.name)
        if found is None:
            if handle is not None:
                del self._handles[key.name]
                await handle.stop()
            return None
        doc = found.value
        desired = doc["dockyard"]["desired"]
        current = doc["State"]["Name"]
        if desired == "running" and current in ("pending", "running"):
            return await self._keep_running(key, doc, handle)
        if desired == "stopped" and current == "stopping":
            handle = handle or self._orphan(key.name, doc)
            if handle is not None:
                self._handles.pop(key.name, None)
                await handle.power_off()
            if not doc["dockyard"].get("simulated"):
                await self._host.stop_containers(key.name)
            await self._settle(key, "stopped")
        if desired == "terminated" and current == "shutting-down":
            handle = handle or self._orphan(key.name, doc)
            if handle is not None:
                self._handles.pop(key.name, None)
                await handle.stop()
            await self._deregister(key, doc)
            if not doc["dockyard"].get("simulated"):
                await self._host.remove_containers(key.name)
                unmount_all(self._instance_dir(key.name))
                shutil.rmtree(self._instance_dir(key.name), ignore_errors=True)
            await self._settle(key, "terminated", release=True)
        return None

    def _orphan(self, instance_id: str, doc: dict[str, Any]) -> AgentHandle | None:
        """The agent an earlier server left running for this instance, if any."""
        pid = AdoptedAgent.find(doc["dockyard"].get("agent", {}).get("pid"), instance_id)
        return AdoptedAgent(pid, on_exit=lambda: None) if pid is not None else None

    async def _keep_running(self, key: Key, doc: dict[str, Any], handle: AgentHandle | None) -> float | None:
        instance_id = key.name
        if handle is None or not handle.alive:
            if handle is not None and handle.exit_code == DEREGISTERED_EXIT:
                if instance_id not in self._retired:
                    self._retired.add(instance_id)
                    log.info("%s: its agent stopped: its container instance was deregistered", instance_id)
            else:
                if handle is not None:
                    ran = self._clock.monotonic() - self._started_at.get(instance_id, 0.0)
                    failures = 0 if ran > _STABLE_RUN else self._failures.get(instance_id, 0) + 1
                    self._failures[instance_id] = failures
                    delay = min(2.0**failures, 60.0) - ran
                    if failures and delay > 0:
                        del self._handles[instance_id]
                        return delay
                    log.warning("%s: its agent exited (%s); starting it again", instance_id, handle.exit_code)
                self._handles[instance_id] = await self._launch(key, doc)
                self._started_at[instance_id] = self._clock.monotonic()
                handle = self._handles[instance_id]
        await self._settle(key, "running", handle=handle)
        return None

    async def _settle(
        self, key: Key, name: str, *, handle: AgentHandle | None = None, release: bool = False
    ) -> None:
        """Write the settled state (and what the launcher knows of the agent) with compare-and-swap."""
        for _ in range(8):
            found = await self._store.get(key)
            if found is None:
                return
            doc = copy.deepcopy(found.value)
            expected = {"running": "pending", "stopped": "stopping", "terminated": "shutting-down"}[name]
            if doc["State"]["Name"] == expected:
                set_state(doc, name, self._clock.now())
            agent = doc["dockyard"].setdefault("agent", {})
            if handle is not None:
                agent["pid"] = handle.pid
                if isinstance(handle, SimulatedAgent) and handle.instance.container_instance_arn:
                    agent["containerInstanceArn"] = handle.instance.container_instance_arn
            if doc == found.value:
                return
            writes: list[Write] = [Put(key, doc, expected_revision=found.revision)]
            if release and doc["dockyard"].get("address"):
                writes.append(Delete(address_key(doc["dockyard"]["address"])))
            try:
                await self._store.commit(writes)
                return
            except Conflict:
                continue

    def _instance_dir(self, instance_id: str) -> Path:
        if self._dir is None:  # a server without a data directory (tests): a temporary one
            self._dir = Path(tempfile.mkdtemp(prefix="dockyard-instances-"))
        return self._dir / "instances" / instance_id

    async def _launch(self, key: Key, doc: dict[str, Any]) -> AgentHandle:
        instance_id = key.name
        internal = doc["dockyard"]
        config = ecs_config(internal.get("userData", ""))
        cluster = config.get("ECS_CLUSTER") or "default"
        zone = doc["Placement"]["AvailabilityZone"]

        def wake() -> None:
            self._queue.add(key)

        if internal.get("simulated"):
            kind = instance_type(doc["InstanceType"])
            assert kind is not None
            simulated = SimulatedInstance(
                SimulatedConfig(
                    endpoint=self._endpoint,
                    instance_type=kind,
                    instance_id=instance_id,
                    address=internal["address"],
                    region=key.region,
                    cluster=cluster,
                    zone=zone,
                    ami_id=doc["ImageId"],
                    vpc_id=doc.get("VpcId"),
                    subnet_id=doc.get("SubnetId"),
                    attributes=instance_attributes(config),
                    account_id=key.account_id,
                    container_instance_arn=internal.get("agent", {}).get("containerInstanceArn"),
                ),
                self._control(key.region),
                on_registered=lambda _: wake(),
            )
            return SimulatedAgent(simulated, on_exit=wake)
        pid = AdoptedAgent.find(internal.get("agent", {}).get("pid"), instance_id)
        if pid is not None:
            log.info("%s: taking over its running agent (pid %d)", instance_id, pid)
            return AdoptedAgent(pid, on_exit=wake)
        directory = self._instance_dir(instance_id)
        args = [
            "--endpoint", self._endpoint,
            "--region", key.region,
            "--cluster", cluster,
            "--instance-type", doc["InstanceType"],
            "--availability-zone", zone,
            "--address", internal["address"],
            "--instance-id", instance_id,
            "--ami-id", doc["ImageId"],
            "--vpc-id", doc.get("VpcId", ""),
            "--subnet-id", doc.get("SubnetId", ""),
            "--data-dir", str(directory),
        ]  # fmt: skip
        for name, value in instance_attributes(config).items():
            args += ["--attribute", f"{name}={value}"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.update({k: v for k, v in config.items() if k not in ("ECS_CLUSTER", "ECS_INSTANCE_ATTRIBUTES")})
        process = ProcessAgent(args, env=env, log_path=directory / "agent.log", on_exit=wake)
        await process.start()
        log.info("%s: started its agent (pid %s) for cluster %s", instance_id, process.pid, cluster)
        return process

    def _control(self, region: str) -> ControlPlane:
        if self._session is None:
            self._session = shared_session()
        if region not in self._controls:
            self._controls[region] = ControlPlane(self._endpoint, region, session=self._session)
        return self._controls[region]

    async def _deregister(self, key: Key, doc: dict[str, Any]) -> None:
        """Deregister the instance's container instance with force (EC2 termination does on ECS)."""
        internal = doc["dockyard"]
        cluster = ecs_config(internal.get("userData", "")).get("ECS_CLUSTER") or "default"
        known: list[tuple[str, str]] = []
        arn = internal.get("agent", {}).get("containerInstanceArn")
        if arn:
            known.append((cluster, arn))
        if not internal.get("simulated"):  # a real agent's state file names its container instance
            with contextlib.suppress(OSError, ValueError):
                state = json.loads((self._instance_dir(key.name) / "state.json").read_text())
                if state.get("container_instance_arn"):
                    known.append((state.get("cluster") or cluster, state["container_instance_arn"]))
        if not known:
            try:
                listed = await self._ecs.call(
                    "ListContainerInstances",
                    {"cluster": cluster, "filter": f"ec2InstanceId == {key.name}"},
                    account_id=key.account_id,
                    region=key.region,
                )
            except AwsError:
                listed = {}
            known += [(cluster, a) for a in listed.get("containerInstanceArns", [])]
        for cluster_name, instance_arn in dict.fromkeys(known):
            try:
                await self._ecs.call(
                    "DeregisterContainerInstance",
                    {"cluster": cluster_name, "containerInstance": instance_arn, "force": True},
                    account_id=key.account_id,
                    region=key.region,
                )
                log.info("%s: deregistered %s", key.name, instance_arn)
            except AwsError as exc:
                log.info("%s: %s was not deregistered: %s", key.name, instance_arn, exc.message)
