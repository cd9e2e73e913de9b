"""Wiring: build the store, the services and the controllers, and serve them on one port.

`Server` owns the lifespan: `start()` binds the socket, opens the store and starts the
controllers; `stop()` undoes it in reverse. `dockyard up`, the test fixtures and the benchmarks
all run the same `Server`.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from dockyard.aws.dispatch import BoundApi
from dockyard.aws.gateway import Gateway
from dockyard.aws.local_client import LocalClient
from dockyard.controllers.runner import ControllerRunner
from dockyard.core.clock import Clock, SystemClock
from dockyard.core.ids import IdGenerator, RandomIds
from dockyard.core.sealing import Sealer
from dockyard.lb import LbSettings, LoadBalancing
from dockyard.registry.gc import GcSettings
from dockyard.registry.lifecycle.controller import LifecycleEnforcer, PreviewRunner
from dockyard.registry.pull_through import PullThroughCache
from dockyard.registry.pull_through import middleware as pull_through_middleware
from dockyard.registry.replication import ReplicationController
from dockyard.registry.scanning import FeedFile
from dockyard.registry.scanning.controller import ScanController
from dockyard.registry.service import Registry, RegistrySettings
from dockyard.server import admin_routes, agent_routes, placement_explain, spot_routes
from dockyard.server.capacity import Capacity
from dockyard.server.secret_key import load_or_create_key
from dockyard.server.settings import Settings
from dockyard.services import acm, cloudwatch, ecrpublic, elbv2, secretsmanager, ssm
from dockyard.services import applicationautoscaling as appscaling
from dockyard.services import ecr as ecr_service
from dockyard.services import ecs as ecs_service
from dockyard.services import logs as logs_service
from dockyard.services.ecs.controllers import ecs_controllers
from dockyard.store import SqliteStore

__all__ = ["Server", "bind_socket"]

log = logging.getLogger(__name__)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


@dataclass
class Server:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    ids: IdGenerator = field(default_factory=RandomIds)

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._controllers: ControllerRunner | None = None
        self.load_balancing: LoadBalancing | None = None
        self.port = self.settings.port

    @property
    def endpoint(self) -> str:
        host = self.settings.host if self.settings.host not in ("0.0.0.0", "::") else "127.0.0.1"
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        sock = bind_socket(self.settings.host, self.settings.port)
        self.port = sock.getsockname()[1]
        if self.settings.data_dir is not None:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = SqliteStore(self.settings.database)
        # Tasks written by an older version may lack index labels newer code relies on.
        await self.store.reindex(ecs_service.TASK_KIND, ecs_service.task_labels)
        self.ecs = ecs_service.Ecs(
            self.store,
            self.clock,
            self.ids,
            ecs_service.EcsSettings(
                poll_endpoint=f"{self.endpoint}/_dockyard/agent",
                service_healthy_delay=self.settings.service_healthy_delay,
                capacity=ecs_service.CapacitySettings(
                    metric_interval=self.settings.capacity_metric_interval,
                    provisioning_retry=self.settings.provisioning_retry,
                    provisioning_limit=self.settings.provisioning_limit,
                ),
            ),
        )
        secret_key = load_or_create_key(self.settings.data_dir)
        sealer = Sealer(secret_key)  # values at rest
        self.metric_store = cloudwatch.MetricStore(self.settings.metrics_database)
        self.cloudwatch = cloudwatch.CloudWatch(
            self.store,
            self.metric_store,
            self.clock,
            self.ids,
            settings=cloudwatch.CloudWatchSettings(
                evaluation_interval=self.settings.alarm_evaluation_interval
            ),
        )
        # In-process publishing of AWS/* metrics, for the components that stand in for AWS.
        self.metrics = cloudwatch.Metrics(
            self.metric_store, self.clock, retention=self.cloudwatch.settings.retention
        )
        apis: list[BoundApi[Any]] = [
            ecs_service.api.bind(self.ecs),
            secretsmanager.api.bind(secretsmanager.SecretsManager(self.store, self.clock, self.ids, sealer)),
            ssm.api.bind(ssm.Ssm(self.store, self.clock, self.ids, sealer)),
            cloudwatch.api.bind(self.cloudwatch),
        ]
        self.registry = Registry.open(  # /v2/ and ECR; blobs in <data dir>/registry
            self.store,
            self.clock,
            self.ids,
            secret_key=secret_key,
            settings=RegistrySettings(
                endpoint=self.endpoint,
                data_dir=self.settings.data_dir,
                host=self.settings.registry_host,
                gc=GcSettings(
                    interval=self.settings.registry_gc_interval,
                    blob_grace=self.settings.registry_blob_grace,
                    upload_expiry=self.settings.registry_upload_expiry,
                ),
            ),
        )
        apis.append(ecr_service.api.bind(ecr_service.Ecr(self.store, self.clock, self.ids, self.registry)))
        apis.append(ecrpublic.api.bind(ecrpublic.EcrPublic(self.store, self.clock, self.ids, self.registry)))
        secrets_api = next(a for a in apis if a.api.service_name == "secretsmanager")
        secrets_client = LocalClient(secrets_api, principal="ecr.amazonaws.com")  # pull-through credentials
        self.pull_through = PullThroughCache(
            self.registry.catalog, self.clock, ecr_service.pull_through.secrets_reader(secrets_client)
        )
        ecr_service.pull_through.attach(self.registry, self.pull_through)
        self.log_events = logs_service.LogEvents.open(self.settings.data_dir)  # <data dir>/logs.db
        self.logs = logs_service.Logs(self.store, self.clock, self.ids, self.log_events)
        apis.append(logs_service.api.bind(self.logs))
        self.capacity = Capacity.build(
            store=self.store,
            clock=self.clock,
            ids=self.ids,
            settings=self.settings,
            endpoint=self.endpoint,
            ecs_api=apis[0],
        )
        apis += self.capacity.apis
        ec2_api = next(a for a in self.capacity.apis if a.api.service_name == "ec2")
        elb_ec2 = LocalClient(ec2_api, principal="elasticloadbalancing.amazonaws.com")
        self.acm = acm.Acm(self.store, self.clock, self.ids, sealer)  # certificates; keys sealed
        acm_api = acm.api.bind(self.acm)
        apis.append(acm_api)
        self.elbv2 = elbv2.Elbv2(  # EC2: subnets, instances; ACM: listeners' certificates
            self.store,
            self.clock,
            self.ids,
            elb_ec2,
            acm=LocalClient(acm_api, principal="elasticloadbalancing.amazonaws.com"),
        )
        elbv2_api = elbv2.api.bind(self.elbv2)
        apis.append(elbv2_api)
        self.acm.peers.elbv2 = LocalClient(elbv2_api, principal="acm.amazonaws.com")  # InUseBy
        self.capacity.bind_peers(self.ecs.peers)  # ECS calls Auto Scaling and EC2 in process
        self.ecs.peers.metrics = self.metrics  # ECS's metrics go to CloudWatch
        for bound in apis:  # Elastic Load Balancing (target groups), CloudWatch (deployment alarms)
            if bound.api.service_name == "elbv2":
                self.ecs.peers.elbv2 = LocalClient(bound, principal="ecs.amazonaws.com")
            elif bound.api.service_name == "cloudwatch":
                self.ecs.peers.cloudwatch = LocalClient(bound, principal="ecs.amazonaws.com")
        self.appscaling = appscaling.AppScaling(self.store, self.clock, self.ids)
        apis.append(appscaling.api.bind(self.appscaling))
        appscaling.bind_peers(self.appscaling, apis, self.cloudwatch.actions)  # ECS, CloudWatch, alarms
        gateway = Gateway(apis, default_region=self.settings.region)
        app = web.Application(client_max_size=32 * 1024 * 1024)  # ECR UploadLayerPart: 20 MiB, base64
        app.middlewares.append(pull_through_middleware(self.pull_through, self.registry.signer))
        self.registry.install(app)
        agent_routes.install(app, self.ecs, start_revision=self.store.revision() + 1)
        admin_routes.install(app, self.store, also_reset=[self.metric_store.reset, self.log_events.reset])
        placement_explain.install(app, self.ecs, default_region=self.settings.region)
        spot_routes.install(app, self.ecs, region=self.settings.region)
        app.add_routes(gateway.routes())
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self.load_balancing = LoadBalancing.build(  # HAProxy for the ELBv2 model; None without it
            self.store,
            self.clock,
            LbSettings(
                haproxy=self.settings.haproxy,
                data_dir=self.settings.data_dir / "lb" if self.settings.data_dir is not None else None,
                hosts_file=Path(self.settings.hosts_file) if self.settings.hosts_file else None,
            ),
            metrics=self.metrics,  # AWS/ApplicationELB from HAProxy's counters
            certificates=acm.ServedCertificates(  # what HTTPS listeners serve, keys unsealed only there
                self.acm, LocalClient(acm_api, principal="elasticloadbalancing.amazonaws.com")
            ),
        )
        self._controllers = ControllerRunner(
            [
                *ecs_controllers(self.ecs),
                *(self.load_balancing.controllers if self.load_balancing is not None else []),
                *self.capacity.controllers,
                *elbv2.elbv2_controllers(self.elbv2),
                *logs_service.logs_controllers(self.logs),
                *appscaling.appscaling_controllers(self.appscaling),
                *cloudwatch.cloudwatch_controllers(self.cloudwatch),
                LifecycleEnforcer(
                    self.registry.catalog, self.clock, interval=self.settings.lifecycle_interval
                ),
                PreviewRunner(self.registry.catalog, self.clock),
                ScanController(self.registry.catalog, self.clock, FeedFile(self.settings.scan_feed)),
                ReplicationController(self.registry.catalog, self.clock),
            ],
            self.store,
            self.clock,
        )
        if self.load_balancing is not None:
            await self.load_balancing.start()
        self._controllers.start()
        self.registry.start()
        await self.capacity.launcher.start()
        log.info("serving on %s", self.endpoint)

    async def stop(self) -> None:
        if self._controllers is not None:
            await self.capacity.launcher.stop()
            await self._controllers.stop()
            await self.registry.stop()
            if self.load_balancing is not None:
                await self.load_balancing.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.store.close()
        self.registry.close()
        self.metric_store.close()
        self.log_events.close()
