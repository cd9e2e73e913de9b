"""Wiring: build the store, the services and the controllers, and serve them on one port.

`Server` owns the lifespan: `start()` binds the socket, opens the store and starts the
controllers; `stop()` undoes it in reverse. `dockyard up`, the test fixtures and the benchmarks
all run the same `Server`.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from dockyard.aws.dispatch import BoundApi
from dockyard.aws.gateway import Gateway
from dockyard.controllers.runner import ControllerRunner
from dockyard.core.clock import Clock, SystemClock
from dockyard.core.ids import IdGenerator, RandomIds
from dockyard.core.sealing import Sealer
from dockyard.server import admin_routes, agent_routes, placement_explain, spot_routes
from dockyard.server.capacity import Capacity
from dockyard.server.secret_key import load_or_create_key
from dockyard.server.settings import Settings
from dockyard.services import ecs as ecs_service
from dockyard.services import secretsmanager, ssm
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
        sealer = Sealer(load_or_create_key(self.settings.data_dir))  # values at rest
        apis: list[BoundApi[Any]] = [
            ecs_service.api.bind(self.ecs),
            secretsmanager.api.bind(secretsmanager.SecretsManager(self.store, self.clock, self.ids, sealer)),
            ssm.api.bind(ssm.Ssm(self.store, self.clock, self.ids, sealer)),
        ]
        self.capacity = Capacity.build(
            store=self.store,
            clock=self.clock,
            ids=self.ids,
            settings=self.settings,
            endpoint=self.endpoint,
            ecs_api=apis[0],
        )
        apis += self.capacity.apis
        self.capacity.bind_peers(self.ecs.peers)  # ECS calls Auto Scaling and EC2 in process
        gateway = Gateway(apis, default_region=self.settings.region)
        app = web.Application(client_max_size=16 * 1024 * 1024)
        agent_routes.install(app, self.ecs, start_revision=self.store.revision() + 1)
        admin_routes.install(app, self.store)
        placement_explain.install(app, self.ecs, default_region=self.settings.region)
        spot_routes.install(app, self.ecs, region=self.settings.region)
        app.add_routes(gateway.routes())
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._controllers = ControllerRunner(
            [*ecs_controllers(self.ecs), *self.capacity.controllers], self.store, self.clock
        )
        self._controllers.start()
        await self.capacity.launcher.start()
        log.info("serving on %s", self.endpoint)

    async def stop(self) -> None:
        if self._controllers is not None:
            await self.capacity.launcher.stop()
            await self._controllers.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.store.close()
