"""Simulated container instances: agents that register and take tasks without running containers.

For driving the scheduler and controllers at scale (1,000 instances, 10,000 tasks on one
machine). A simulated instance speaks the same protocol as a real agent over HTTP:

```
RegisterContainerInstance (instance type envelope, IID, built-in attributes)
loop: poll(node) -> work items
      desired RUNNING, new  -> report PENDING, then RUNNING (containers RUNNING, static ports bound)
      desired STOPPED       -> report STOPPED (containers exit 143, as after SIGTERM)
      listed RUNNING, unknown (after a restart) -> taken as running
power_off(): every task it runs is reported STOPPED (the host stopped; used by StopInstances)
```
Many instances share one process, one event loop and one HTTP session: `dockyard agent
--simulate --count N` runs N of them (`simulated_fleet.py`); the server's instance launcher runs
one per simulated EC2 instance (tag `dockyard:simulated=true`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from dockyard import __version__
from dockyard.agent.client import ApiError, ControlPlane
from dockyard.agent.identity import (
    DEFAULT_AMI,
    RESERVED_PORTS,
    identity_document,
    registration_attributes,
)
from dockyard.agent.reporter import Reporter
from dockyard.agent.work_list import WorkList
from dockyard.core.instance_types import InstanceType

__all__ = ["SimulatedConfig", "SimulatedInstance", "shared_session"]

log = logging.getLogger(__name__)

POLL_WAIT = 20.0
EXIT_ON_SIGTERM = 143


@dataclass
class SimulatedConfig:
    endpoint: str
    instance_type: InstanceType
    instance_id: str
    address: str
    region: str = "us-east-1"
    cluster: str = "default"
    zone: str | None = None
    ami_id: str = DEFAULT_AMI
    vpc_id: str | None = None
    subnet_id: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    account_id: str = "123456789012"
    container_instance_arn: str | None = None  # set: re-register with this identity


def shared_session() -> aiohttp.ClientSession:
    """One HTTP session for many instances: no cap on connections (each instance long-polls)."""
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=None, connect=10),
    )


class SimulatedInstance:
    def __init__(
        self,
        config: SimulatedConfig,
        control: ControlPlane,
        *,
        on_registered: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.control = control
        self.registered = asyncio.Event()
        self.deregistered = False
        self._on_registered = on_registered
        self._poll_endpoint = ""
        self._status: dict[str, str] = {}  # task ARN -> the last status reported
        self._items: dict[str, dict[str, Any]] = {}
        self._starting: dict[str, asyncio.Task[None]] = {}
        self.reporter = Reporter(self._send)

    @property
    def container_instance_arn(self) -> str | None:
        return self.config.container_instance_arn

    @property
    def running_tasks(self) -> int:
        return sum(1 for status in self._status.values() if status == "RUNNING")

    async def _send(self, reports: list[dict[str, Any]]) -> None:
        await self.control.report(self._poll_endpoint, reports)

    # -- registration -------------------------------------------------------------------------------

    def _request(self) -> dict[str, Any]:
        c = self.config
        zone = c.zone or f"{c.region}a"
        request: dict[str, Any] = {
            "cluster": c.cluster,
            "totalResources": [
                {"name": "CPU", "type": "INTEGER", "integerValue": c.instance_type.cpu_units},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": c.instance_type.registered_memory_mib},
                {"name": "PORTS", "type": "STRINGSET", "stringSetValue": list(RESERVED_PORTS)},
                {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
            ],
            "versionInfo": {
                "agentVersion": f"dockyard-{__version__}",
                "agentHash": "simulated",
                "dockerVersion": "DockerVersion: simulated",
            },
            "attributes": registration_attributes(
                instance_type=c.instance_type,
                zone=zone,
                external=False,
                log_drivers=("json-file", "none"),
                custom=c.attributes,
                vpc_id=c.vpc_id,
                subnet_id=c.subnet_id,
                ami_id=c.ami_id,
            ),
            "instanceIdentityDocument": identity_document(
                instance_id=c.instance_id,
                instance_type=c.instance_type,
                zone=zone,
                region=c.region,
                address=c.address,
                account_id=c.account_id,
                ami_id=c.ami_id,
            ),
            "instanceIdentityDocumentSignature": "",
        }
        if c.container_instance_arn:
            request["containerInstanceArn"] = c.container_instance_arn
        return request

    async def _register_once(self) -> None:
        request = self._request()
        try:
            response = await self.control.ecs("RegisterContainerInstance", request)
        except ApiError as exc:
            if exc.code != "ClusterNotFoundException" or self.config.cluster != "default":
                raise
            await self.control.ecs("CreateCluster", {"clusterName": "default"})
            response = await self.control.ecs("RegisterContainerInstance", request)
        arn = response["containerInstance"]["containerInstanceArn"]
        self.config.container_instance_arn = arn
        discovered = await self.control.ecs(
            "DiscoverPollEndpoint", {"cluster": self.config.cluster, "containerInstance": arn}
        )
        self._poll_endpoint = discovered["endpoint"]
        if self._on_registered is not None:
            self._on_registered(arn)
        self.registered.set()

    async def register(self) -> None:
        """Register, retrying (with a log line) while the cluster is missing or the server away."""
        delay = 1.0
        while True:
            try:
                await self._register_once()
                return
            except ApiError as exc:
                if exc.status < 500 and exc.code not in ("ClusterNotFoundException", "ThrottlingException"):
                    raise
                log.warning(
                    "%s: cannot register (%s); retrying", self.config.instance_id, exc.message or exc.code
                )
            except (TimeoutError, aiohttp.ClientError) as exc:
                log.warning(
                    "%s: cannot reach %s (%s); retrying", self.config.instance_id, self.config.endpoint, exc
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    # -- the loop -----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Register, then take work until cancelled or deregistered."""
        self.reporter.start()
        try:
            if not self.registered.is_set():
                await self.register()
            revision = 0
            backoff = 0.5
            work = WorkList()
            while True:
                node = self.config.container_instance_arn or ""
                try:
                    response = await self.control.poll(
                        self._poll_endpoint, node, revision=revision, wait=POLL_WAIT
                    )
                except ApiError as exc:
                    if exc.status == 410:
                        log.info("%s: container instance %s was deregistered", self.config.instance_id, node)
                        self.deregistered = True
                        return
                    if exc.status == 404:
                        await asyncio.sleep(1.0)
                        self.config.container_instance_arn = None
                        await self.register()
                        revision = 0
                        work = WorkList()
                        continue
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                except (TimeoutError, aiohttp.ClientError):
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                backoff = 0.5
                merged = work.apply(response)
                if merged is None:  # a task we hold no item for: ask for the whole list
                    revision = 0
                    continue
                revision = int(response["revision"])
                self._reconcile(list(merged[0].values()))
        finally:
            for task in self._starting.values():
                task.cancel()
            await asyncio.gather(*self._starting.values(), return_exceptions=True)
            await self.reporter.stop()

    def _reconcile(self, items: list[dict[str, Any]]) -> None:
        listed = {item["taskArn"]: item for item in items}
        for arn, item in listed.items():
            self._items[arn] = item
            status = self._status.get(arn)
            if item.get("desiredStatus") == "STOPPED":
                if status != "STOPPED":
                    starting = self._starting.pop(arn, None)
                    if starting is not None:
                        starting.cancel()
                    self._status[arn] = "STOPPED"
                    ran = status == "RUNNING" or (status is None and item.get("lastStatus") == "RUNNING")
                    self.reporter.submit(
                        self._report(item, "STOPPED", exit_code=EXIT_ON_SIGTERM if ran else None)
                    )
            elif status is None:
                if item.get("lastStatus") == "RUNNING":  # ours from before a restart
                    self._status[arn] = "RUNNING"
                else:
                    self._status[arn] = "PENDING"
                    self._starting[arn] = asyncio.create_task(self._start(item))
        for arn in list(self._status):
            if arn not in listed:
                self._status.pop(arn, None)
                self._items.pop(arn, None)
                starting = self._starting.pop(arn, None)
                if starting is not None:
                    starting.cancel()

    async def _start(self, item: dict[str, Any]) -> None:
        arn = item["taskArn"]
        try:
            await self.reporter.submit(self._report(item, "PENDING"))
            if self._status.get(arn) == "PENDING":
                self._status[arn] = "RUNNING"
                self.reporter.submit(self._report(item, "RUNNING"))
        finally:
            self._starting.pop(arn, None)

    def _report(self, item: dict[str, Any], status: str, *, exit_code: int | None = None) -> dict[str, Any]:
        now = time.time()
        containers = []
        definitions = {
            c.get("name"): c for c in item.get("taskDefinition", {}).get("containerDefinitions", [])
        }
        for container in item.get("containers", []):
            report: dict[str, Any] = {"name": container["name"], "lastStatus": status}
            if status != "PENDING":
                report["runtimeId"] = "simulated-" + container["containerArn"].rsplit("/", 1)[-1]
            if status == "RUNNING":
                report["networkBindings"] = [
                    {
                        "bindIP": "0.0.0.0",
                        "containerPort": m["containerPort"],
                        "hostPort": m["hostPort"],
                        "protocol": m.get("protocol", "tcp"),
                    }
                    for m in definitions.get(container["name"], {}).get("portMappings", [])
                    if m.get("hostPort") and m.get("containerPort")
                ]
            if exit_code is not None:
                report["exitCode"] = exit_code
            containers.append(report)
        task: dict[str, Any] = {"taskArn": item["taskArn"], "lastStatus": status, "containers": containers}
        if status in ("PENDING", "RUNNING"):
            task["pullStartedAt"] = task["pullStoppedAt"] = now
        if status == "RUNNING":
            task["startedAt"] = now
        if status == "STOPPED":
            task["executionStoppedAt"] = now
        return task

    async def power_off(self, *, timeout: float = 10.0) -> None:
        """The host stops: every task it runs is reported STOPPED (waiting up to `timeout`)."""
        futures = []
        for arn, status in list(self._status.items()):
            if status == "STOPPED" or arn not in self._items:
                continue
            self._status[arn] = "STOPPED"
            exit_code = EXIT_ON_SIGTERM if status == "RUNNING" else None
            futures.append(
                self.reporter.submit(self._report(self._items[arn], "STOPPED", exit_code=exit_code))
            )
        if futures:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), timeout)
