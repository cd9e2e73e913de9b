"""The agent process: register, long-poll for work, run each task with a `TaskRunner`.

```
start: state file -> address lock -> resource envelope -> images and VPC network -> register
loop:  poll(node, revision) -> for each work item: new runner or runner.update(item)
       tasks this node no longer lists: finished ones wait for cleanup, others are stopped
events: container health_status events -> the owning runner
```
One implementation serves every launch type: an EC2 instance (`--instance-type`), an EXTERNAL
instance (`--external`) and the Fargate pool of `dockyard up` (`--fargate-pool`). An instance
launched by `RunInstances` gets its EC2 identity from the server (`--instance-id`, `--ami-id`,
`--vpc-id`, `--subnet-id`); `--simulate` runs simulated instances instead (`agent/simulate.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import resource
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp

from dockyard.agent.client import ControlPlane, EcsError
from dockyard.agent.envelope import Envelope
from dockyard.agent.identity import (
    DEFAULT_AMI,
    RESERVED_PORTS,
    AddressLock,
    agent_version_info,
    identity_document,
    new_instance_id,
    registration_attributes,
)
from dockyard.agent.metadata_host import MetadataHost
from dockyard.agent.plan import HostContext
from dockyard.agent.ports import HostPortAllocator
from dockyard.agent.reporter import Reporter
from dockyard.agent.runner import RunnerConfig, TaskRunner
from dockyard.agent.runtime.docker import DockerRuntime
from dockyard.agent.state import AgentState, TaskRecord
from dockyard.agent.telemetry import Telemetry
from dockyard.agent.work_list import WorkList
from dockyard.core.clock import SystemClock
from dockyard.core.instance_types import InstanceType, instance_type

__all__ = ["Agent", "AgentConfig", "DEFAULT_AMI", "InstanceDeregistered", "log"]

log = logging.getLogger(__name__)

FARGATE_NODE = "fargate"
VPC_NETWORK = "dockyard-vpc"
VPC_SUBNET = "172.31.0.0/16"
VPC_GATEWAY = "172.31.0.1"
POLL_WAIT = 20.0


def parse_duration(value: str | None, default: float) -> float:
    """`3h`, `10m`, `30s`, `500ms` or plain seconds (the ECS agent's duration settings)."""
    if not value:
        return default
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", value)
    if match is None:
        return default
    number = float(match.group(1))
    return number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]


@dataclass
class AgentConfig:
    endpoint: str
    region: str = "us-east-1"
    cluster: str = "default"
    instance_type: str = "t3.medium"
    availability_zone: str | None = None
    address: str | None = None
    external: bool = False
    fargate_pool: bool = False
    instance_id: str | None = None  # the EC2 instance id (else one of its own, kept in its state)
    ami_id: str = DEFAULT_AMI
    vpc_id: str | None = None
    subnet_id: str | None = None
    data_dir: Path = Path("/var/lib/dockyard/agent")
    attributes: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # put on every container the agent creates
    pull_behavior: str = field(default_factory=lambda: os.environ.get("ECS_IMAGE_PULL_BEHAVIOR", "default"))
    cleanup_wait: float = field(
        default_factory=lambda: parse_duration(
            os.environ.get("ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION"), 3 * 3600.0
        )
    )
    stop_timeout: float = field(
        default_factory=lambda: max(parse_duration(os.environ.get("ECS_CONTAINER_STOP_TIMEOUT"), 30.0), 1.0)
    )
    reserved_memory: int = field(default_factory=lambda: int(os.environ.get("ECS_RESERVED_MEMORY", "0")))
    # How often container statistics are sampled and sent (ECS's metrics); 0 turns it off.
    telemetry_interval: float = field(
        default_factory=lambda: parse_duration(os.environ.get("DOCKYARD_TELEMETRY_INTERVAL"), 20.0)
    )


class InstanceDeregistered(Exception):
    """The control plane deregistered this container instance: the agent stops, as ECS's does."""


class Agent:
    def __init__(
        self, config: AgentConfig, *, runtime: DockerRuntime | None = None, lock: AddressLock | None = None
    ) -> None:
        self.config = config
        self.runtime = runtime or DockerRuntime.from_env()
        self.clock = SystemClock()
        self.control = ControlPlane(config.endpoint, config.region)
        self.state = AgentState.load(config.data_dir / "state.json")
        self.reporter = Reporter(self._send_reports)
        self.runners: dict[str, TaskRunner] = {}
        self._runner_tasks: dict[str, asyncio.Task[None]] = {}
        self._lock = lock or AddressLock()
        self._poll_endpoint = ""
        self.node = FARGATE_NODE
        self.ready = asyncio.Event()
        self._type: InstanceType | None = None
        self._metadata: MetadataHost | None = None
        self._envelope: Envelope | None = None

    # -- setup ------------------------------------------------------------------------------------

    async def _send_reports(self, reports: list[dict[str, Any]]) -> None:
        await self.control.report(self._poll_endpoint, reports)

    async def _setup(self) -> RunnerConfig:
        from dockyard.images import ensure_image

        config = self.config
        pause_image = await ensure_image(self.runtime, "busybox")
        await self.runtime.ensure_network(
            VPC_NETWORK, subnet=VPC_SUBNET, gateway=VPC_GATEWAY, labels={"dockyard.network": "vpc"}
        )
        self._metadata = MetadataHost(self)
        preferred = self.state.metadata_port or (80 if config.fargate_pool else 0)
        metadata_endpoint = await self._metadata.start(preferred_port=preferred)
        self.state.metadata_port = self._metadata.port
        agent_label = {**config.labels, "dockyard.agent": "fargate-pool" if config.fargate_pool else ""}
        if config.fargate_pool:
            host = HostContext(
                launch_type="FARGATE",
                region=config.region,
                data_dir=str(config.data_dir),
                metadata_endpoint=metadata_endpoint,
                stop_timeout=int(config.stop_timeout),
                max_nofile=resource.getrlimit(resource.RLIMIT_NOFILE)[1],
            )
            ports = None
            self._poll_endpoint = (await self.control.ecs("DiscoverPollEndpoint", {}))["endpoint"]
        else:
            self._type = instance_type(config.instance_type)
            if self._type is None:
                raise SystemExit(f"dockyard agent: unknown instance type {config.instance_type!r}")
            address = self._lock.address or self._lock.acquire(config.address or self.state.host_address)
            self.state.host_address = address
            self.state.ec2_instance_id = config.instance_id or self.state.ec2_instance_id or new_instance_id()
            envelope = Envelope(
                self.state.ec2_instance_id,
                cpu_units=self._type.cpu_units,
                memory_mib=self._type.registered_memory_mib,
            )
            cgroup_parent = envelope.cgroup_parent if envelope.apply() else None
            self._envelope = envelope
            await self._register_until_done()
            assert self.state.container_instance_arn is not None
            self.node = self.state.container_instance_arn
            agent_label["dockyard.agent"] = self.state.ec2_instance_id
            host = HostContext(
                launch_type="EXTERNAL" if config.external else "EC2",
                region=config.region,
                data_dir=str(config.data_dir),
                cluster=config.cluster,
                host_address=address,
                cgroup_parent=cgroup_parent,
                container_instance_arn=self.node,
                metadata_endpoint=metadata_endpoint,
                stop_timeout=int(config.stop_timeout),
            )
            ports = HostPortAllocator(address)
            for record in self.state.tasks.values():  # re-attached runners mark whole port blocks again
                for key, port in record.host_ports.items():
                    ports.mark_used([port], protocol=key.rsplit("/", 1)[-1])
        self.state.save()
        return RunnerConfig(
            host=host,
            runtime=self.runtime,
            reporter=self.reporter,
            clock=self.clock,
            save_state=self.state.save,
            pause_image=pause_image,
            ports=ports,
            pull_behavior=config.pull_behavior,
            cleanup_wait=config.cleanup_wait,
            agent_label=agent_label,
            vpc_network=VPC_NETWORK,
            aws=self.control,
        )

    async def _register(self) -> None:
        config = self.config
        assert self._type is not None and self.state.host_address is not None
        zone = config.availability_zone or f"{config.region}a"
        version = await self.runtime.version()
        request: dict[str, Any] = {
            "cluster": config.cluster,
            "totalResources": [
                {"name": "CPU", "type": "INTEGER", "integerValue": self._type.cpu_units},
                {
                    "name": "MEMORY",
                    "type": "INTEGER",
                    "integerValue": self._type.registered_memory_mib - config.reserved_memory,
                },
                {"name": "PORTS", "type": "STRINGSET", "stringSetValue": list(RESERVED_PORTS)},
                {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
            ],
            "versionInfo": agent_version_info(str(version.get("Version", ""))),
            "attributes": registration_attributes(
                instance_type=self._type,
                zone=zone,
                external=config.external,
                log_drivers=("json-file", "none", "awslogs"),  # awslogs: shipped by the agent (task_logs)
                custom=config.attributes,
                vpc_id=config.vpc_id,
                subnet_id=config.subnet_id,
                ami_id=config.ami_id,
            ),
        }
        if not config.external:
            assert self.state.ec2_instance_id is not None
            request["instanceIdentityDocument"] = identity_document(
                instance_id=self.state.ec2_instance_id,
                instance_type=self._type,
                zone=zone,
                region=config.region,
                address=self.state.host_address,
                account_id="123456789012",
                ami_id=config.ami_id,
            )
            request["instanceIdentityDocumentSignature"] = ""
        if self.state.container_instance_arn and self.state.cluster == config.cluster:
            request["containerInstanceArn"] = self.state.container_instance_arn
        try:
            response = await self.control.ecs("RegisterContainerInstance", request)
        except EcsError as exc:
            if exc.code != "ClusterNotFoundException" or config.cluster != "default":
                raise
            await self.control.ecs("CreateCluster", {"clusterName": "default"})
            response = await self.control.ecs("RegisterContainerInstance", request)
        self.state.container_instance_arn = response["containerInstance"]["containerInstanceArn"]
        self.state.cluster = config.cluster
        self.state.save()  # at once: an agent stopped now comes back as this container instance
        discovered = await self.control.ecs(
            "DiscoverPollEndpoint",
            {"cluster": config.cluster, "containerInstance": self.state.container_instance_arn},
        )
        self._poll_endpoint = discovered["endpoint"]
        log.info(
            "registered %s (%s, %s) with cluster %s; bridge ports are published on %s",
            self.state.container_instance_arn,
            self.state.ec2_instance_id,
            self._type.name,
            config.cluster,
            self.state.host_address,
        )

    async def _register_until_done(self) -> None:
        """Register, waiting (with a log line) while the cluster does not exist or the server is away."""
        delay = 1.0
        while True:
            try:
                await self._register()
                return
            except EcsError as exc:
                if exc.status >= 500 or exc.code in ("ClusterNotFoundException", "ThrottlingException"):
                    log.error(
                        "cannot register with cluster %s: %s; retrying in %.0fs",
                        self.config.cluster,
                        exc.message or exc.code,
                        delay,
                    )
                else:
                    raise
            except aiohttp.ClientError as exc:
                log.error(
                    "cannot reach the control plane at %s (%s); retrying in %.0fs",
                    self.config.endpoint,
                    exc,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    # -- the loop ---------------------------------------------------------------------------------

    async def run(self) -> None:
        runner_config = await self._setup()
        self.reporter.start()
        events = asyncio.create_task(self._events())
        telemetry = Telemetry(
            self.runtime,
            lambda: list(self.runners.values()),
            lambda payload: self.control.telemetry(self._poll_endpoint, payload),
            node=lambda: self.node,
            interval=self.config.telemetry_interval,
        )
        sampling = asyncio.create_task(telemetry.run()) if self.config.telemetry_interval > 0 else None
        revision = 0
        backoff = 0.5
        work = WorkList()
        try:
            while True:
                try:
                    response = await self.control.poll(
                        self._poll_endpoint, self.node, revision=revision, wait=POLL_WAIT
                    )
                except asyncio.CancelledError:
                    raise
                except EcsError as exc:
                    if exc.status == 410 and not self.config.fargate_pool:
                        raise InstanceDeregistered(self.state.container_instance_arn or "") from exc
                    if exc.status == 404 and not self.config.fargate_pool:
                        log.warning("the control plane does not know this instance; registering again")
                        self.state.container_instance_arn = None
                        await self._register_until_done()
                        self.node = self.state.container_instance_arn or self.node
                        continue
                    log.warning("poll failed: %s", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                except Exception as exc:
                    log.warning("poll failed: %s", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                backoff = 0.5
                merged = work.apply(response)
                if merged is None:  # a task we hold no item for: ask for the whole list
                    revision = 0
                    continue
                revision = int(response["revision"])
                self._reconcile(*merged, runner_config)
                self.ready.set()
        finally:
            log.info("agent stopping; its running tasks keep running")
            events.cancel()
            if sampling is not None:
                sampling.cancel()
                await asyncio.gather(sampling, return_exceptions=True)
            for task in self._runner_tasks.values():
                task.cancel()
            await asyncio.gather(*self._runner_tasks.values(), events, return_exceptions=True)
            await self.reporter.stop()
            if self._metadata is not None:
                await self._metadata.stop()
            await self._release_envelope()
            await self.control.close()
            await self.runtime.close()
            self._lock.release()

    async def _release_envelope(self) -> None:
        """Remove the instance's cgroup parent when none of its containers is left."""
        if self._envelope is None or self.state.ec2_instance_id is None:
            return
        with contextlib.suppress(Exception):
            if not await self.runtime.list(labels={"dockyard.agent": self.state.ec2_instance_id}):
                self._envelope.remove()

    def _reconcile(
        self, listed: dict[str, dict[str, Any]], changed: set[str], runner_config: RunnerConfig
    ) -> None:
        for arn, item in listed.items():
            runner = self.runners.get(arn)
            if runner is not None:
                if arn in changed:
                    runner.update(item)
                continue
            record = self.state.tasks.get(arn)
            if record is None:
                record = TaskRecord(task_arn=arn, endpoint_id=arn.rsplit("/", 1)[-1])
                self.state.tasks[arn] = record
            record.item = item
            self._start_runner(TaskRunner(item, record, self._config_for(item, runner_config)))
        for arn, record in list(self.state.tasks.items()):
            if arn in listed:
                continue
            runner = self.runners.get(arn)
            if runner is None and record.item:
                # Known from before a restart but not listed any more.
                runner = TaskRunner(record.item, record, self._config_for(record.item, runner_config))
                self._start_runner(runner)
            if runner is not None and record.stopped_at is None and runner.status.last_status != "STOPPED":
                runner.forget()
        self.state.save()

    def _config_for(self, item: dict[str, Any], base: RunnerConfig) -> RunnerConfig:
        if not self.config.fargate_pool or item.get("region") in (None, base.host.region):
            return base
        return replace(base, host=replace(base.host, region=item["region"]))

    def _start_runner(self, runner: TaskRunner) -> None:
        arn = runner.task_arn
        self.runners[arn] = runner

        async def run() -> None:
            try:
                await runner.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("task runner for %s failed", arn)
            else:
                self.state.tasks.pop(arn, None)
                self.state.save()
            finally:
                if self.runners.get(arn) is runner:
                    del self.runners[arn]

        self._runner_tasks[arn] = asyncio.create_task(run(), name=f"task {arn}")

    async def _events(self) -> None:
        label = {
            "dockyard.agent": "fargate-pool"
            if self.config.fargate_pool
            else (self.state.ec2_instance_id or "")
        }
        while True:
            try:
                async for event in self.runtime.events(labels=label):
                    if not event.action.startswith("health_status"):
                        continue
                    runner = self.runners.get(event.labels.get("com.amazonaws.ecs.task-arn", ""))
                    if runner is not None:
                        health = event.action.split(":", 1)[1].strip() if ":" in event.action else None
                        runner.on_health(event.container_id, health)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("event stream ended (%s); reconnecting", exc)
            await asyncio.sleep(1.0)

    # -- metadata ---------------------------------------------------------------------------------

    def runner_for_endpoint(self, endpoint_id: str) -> TaskRunner | None:
        for runner in self.runners.values():
            if endpoint_id.startswith(runner.record.endpoint_id):
                return runner
        return None
