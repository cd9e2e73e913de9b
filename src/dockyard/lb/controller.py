"""The load balancer controller and health observer, and how the server builds them.

```
elbv2/{load-balancer,listener,rule,target-group,targets}, certificate change --> key SYNC --> sync()
start / every resync --> each load balancer's key --> sync unless the store has not changed since
                         and HAProxy still runs (restarted if it was killed)
every `health_poll` seconds --> DataPlane.observe() --> elbv2/target-health
every (clock) minute --> LbMetrics.collect() --> AWS/ApplicationELB metrics (when given a sink)
```
Every change is folded into one key: the whole configuration is one HAProxy, so one reconcile
brings it up to date (structural change -> hitless reload; target change -> runtime commands).
`LoadBalancing.build` returns None when HAProxy is not installed: the server then runs without
load balancers (the ELBv2 API still works; nothing listens).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dockyard.controllers.reconciler import DONE, Reconciler, Requeue
from dockyard.controllers.runner import cancel_all
from dockyard.core.clock import Clock
from dockyard.lb.certificates import CertificateSource
from dockyard.lb.config import Paths
from dockyard.lb.dataplane import DataPlane
from dockyard.lb.haproxy import HAProxy, HAProxyError
from dockyard.lb.hosts import HostsFile
from dockyard.lb.metrics import LbMetrics, MetricSink
from dockyard.lb.model import LOAD_BALANCER, WATCHED_KINDS
from dockyard.store import Change, Key, Store

__all__ = ["LbSettings", "LoadBalancing", "DataPlaneController", "SYNC"]

log = logging.getLogger(__name__)

SYNC = Key("", "", LOAD_BALANCER, "")
_MAX_SOCKET_DIR = 80  # unix socket paths are limited to 107 bytes


@dataclass(frozen=True, slots=True)
class LbSettings:
    haproxy: str = "haproxy"  # the binary; "" turns the data plane off
    data_dir: Path | None = None  # None: a temporary directory, and HAProxy stops with the server
    hosts_file: Path | None = Path("/etc/hosts")
    health_poll: float = 1.0
    relays: bool = True  # serve <name>.elb.localhost on 127.0.0.1:<port> for curl


def _paths(directory: Path) -> Paths:
    run = directory
    if len(str(directory)) > _MAX_SOCKET_DIR:
        run = (
            Path(tempfile.gettempdir())
            / f"dockyard-lb-{hashlib.sha256(str(directory).encode()).hexdigest()[:12]}"
        )
    return Paths(directory=directory, run=run)


class DataPlaneController:
    name = "lb-data-plane"
    kind = LOAD_BALANCER

    def __init__(self, plane: DataPlane, store: Store, *, also_watch: Iterable[str] = ()) -> None:
        self._plane = plane
        self._store = store
        self._kinds = frozenset((*WATCHED_KINDS, *also_watch))  # + certificates (re-imports)
        self._synced: int | None = None  # store revision of the last complete sync

    def triggers(self, change: Change) -> Iterable[Key]:
        return [SYNC] if change.key.kind in self._kinds else []

    async def reconcile(self, key: Key) -> Requeue:
        revision = self._store.revision()
        if key != SYNC and revision == self._synced and await self._plane.intact():
            return DONE  # a periodic resync of one load balancer: nothing changed since
        try:
            retry = await self._plane.sync()
        except HAProxyError as exc:
            log.error("load balancers: %s", exc)
            self._synced = None
            return Requeue(after=10.0)
        self._synced = revision if retry is None else None
        return DONE if retry is None else Requeue(after=retry)


class LoadBalancing:
    """The data plane the server runs: its controller, its observer loop, its HAProxy."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: LbSettings,
        binary: str,
        *,
        metrics: MetricSink | None = None,
        certificates: CertificateSource | None = None,
    ) -> None:
        self._clock = clock
        self._settings = settings
        self._ephemeral = settings.data_dir is None
        directory = settings.data_dir or Path(tempfile.mkdtemp(prefix="dockyard-lb-"))
        self.paths = _paths(directory)
        self.plane = DataPlane(
            store,
            clock,
            HAProxy(binary, self.paths),
            HostsFile(settings.hosts_file, directory),
            relays=settings.relays,
            certificates=certificates,
        )
        watch = [certificates.kind] if certificates is not None else []
        self.controllers: list[Reconciler] = [DataPlaneController(self.plane, store, also_watch=watch)]
        self._store = store
        self._observer: asyncio.Task[None] | None = None
        self.metrics = None if metrics is None else LbMetrics(self.plane, store, clock, metrics)
        self._publisher: asyncio.Task[None] | None = None

    @classmethod
    def build(
        cls,
        store: Store,
        clock: Clock,
        settings: LbSettings,
        *,
        metrics: MetricSink | None = None,
        certificates: CertificateSource | None = None,
    ) -> LoadBalancing | None:
        """The data plane, publishing AWS/ApplicationELB metrics to `metrics` when given;
        `certificates`: where HTTPS/TLS listeners' certificates and keys come from (ACM)."""
        binary = shutil.which(settings.haproxy) if settings.haproxy else None
        if binary is None:
            why = "turned off" if not settings.haproxy else f"{settings.haproxy!r} is not installed"
            log.warning("load balancers are unavailable (HAProxy %s): their listeners will not serve", why)
            return None
        return cls(store, clock, settings, binary, metrics=metrics, certificates=certificates)

    async def start(self) -> None:
        if await self.plane.adopt() and not await self._store.list(LOAD_BALANCER):
            await self.plane.shutdown()  # left by a previous run, and nothing to serve any more
        self._observer = asyncio.create_task(self._observe(), name="lb-health-observer")
        if self.metrics is not None:
            self._publisher = asyncio.create_task(self.metrics.run(), name="lb-metrics")

    async def _observe(self) -> None:
        while True:
            await self._clock.sleep(self._settings.health_poll)
            try:
                await self.plane.observe()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("load balancers: observing target health failed")

    async def stop(self) -> None:
        await cancel_all(t for t in (self._observer, self._publisher) if t is not None)
        self._observer = self._publisher = None
        if self._ephemeral:  # a server without a data directory takes its load balancers along
            await self.plane.shutdown()
            shutil.rmtree(self.paths.directory, ignore_errors=True)
            if self.paths.run != self.paths.directory:
                shutil.rmtree(self.paths.run, ignore_errors=True)
