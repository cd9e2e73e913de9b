"""The data plane: keep HAProxy serving the ELBv2 model, and report what its checks see.

```
sync():   store --build_model--> model --certificates--> PEM files of TLS listeners (0600)
          model --render--> structure digest
            HAProxy not running      -> install every target (checked ones `disabled`) + start,
                                        then admit them (up if they were healthy before)
            structure changed        -> render every target (new checked ones `disabled`), save
                                        the servers' state, install + reload (hitless), then
                                        diff the targets (admit the new ones)
            structure unchanged      -> diff the targets only: runtime commands, no reload
            no listener left         -> stop HAProxy
          names -> hosts file
observe(): show stat -> health.assess per target -> elbv2/target-health (written when changed)
read_counters(): `show info; show stat` for the AWS/ApplicationELB metrics (metrics.py)
```
A listener whose address and port some other process holds is left out (and retried) rather
than failing every load balancer's reload.
"""

from __future__ import annotations

import copy
import errno
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dockyard.core.clock import Clock
from dockyard.lb.certificates import CertificateSource, write_certificates
from dockyard.lb.config import Paths, Rendered, Selection, render, servable
from dockyard.lb.haproxy import HAProxy
from dockyard.lb.health import TargetHealth, assess
from dockyard.lb.hosts import HostsFile
from dockyard.lb.metrics import COUNTERS_COMMAND, Balancer, topology
from dockyard.lb.model import (
    LISTENER,
    LOAD_BALANCER,
    RULE,
    TARGET_GROUP,
    TARGET_HEALTH,
    TARGETS,
    Documents,
    Model,
    TargetGroup,
    build_model,
)
from dockyard.lb.runtime import RuntimeError_, ServerStat, ServerState
from dockyard.lb.servers import plan, wanted_servers
from dockyard.store import Conflict, Delete, Key, Put, Store, Write

__all__ = ["DataPlane", "bindable"]

log = logging.getLogger(__name__)

_RETRY = 5.0


def bindable(address: str, port: int) -> bool:
    """Whether nothing else listens on address:port (HAProxy binds without SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                raise
            return False
    return True


@dataclass
class _Seen:
    first_seen: float


class DataPlane:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        haproxy: HAProxy,
        hosts: HostsFile,
        *,
        relays: bool = True,
        certificates: CertificateSource | None = None,
    ) -> None:
        self._store = store
        self._certificates = certificates
        self._clock = clock
        self._haproxy = haproxy
        self._hosts = hosts
        self._relays = relays
        self._retired: list[str] = []  # replaced workers' last counters (see retired_counters)
        self._structure = ""
        self._binds: frozenset[str] = frozenset()
        self._backends: dict[str, TargetGroup] = {}
        self._warned: set[str] = set()
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._reported: dict[Key, tuple[int, dict[str, Any]]] | None = None
        self._synced = False  # nothing to observe before the first sync
        self._topology: tuple[Balancer, ...] = ()  # what the metrics count, as last synced
        self._serving = False  # HAProxy should be running
        self._inherited = False  # the running HAProxy was adopted, not started by this server

    @property
    def paths(self) -> Paths:
        return self._haproxy.paths

    async def adopt(self) -> bool:
        """Take over an HAProxy a previous server left running; whether there was one."""
        if not await self._haproxy.running():
            return False
        self._structure, self._binds = self._haproxy.structure()
        self._inherited = True
        log.info("adopted the running HAProxy (pid %s)", self._haproxy.pid())
        return True

    async def intact(self) -> bool:
        """Whether HAProxy runs when it should (it may have been killed since the last sync)."""
        return not self._serving or await self._haproxy.running()

    async def shutdown(self) -> None:
        self._serving = self._inherited = False
        await self._haproxy.stop()
        self._hosts.remove()
        self._structure, self._binds, self._backends = "", frozenset(), {}
        self._topology = ()

    # -- sync ----------------------------------------------------------------------------------

    async def _documents(self) -> Documents:
        store = self._store
        return Documents(
            load_balancers=[
                (d.key.account_id, d.key.region, d.value) for d in await store.list(LOAD_BALANCER)
            ],
            listeners=[d.value for d in await store.list(LISTENER)],
            rules=[d.value for d in await store.list(RULE)],
            target_groups=[(d.key.account_id, d.key.region, d.value) for d in await store.list(TARGET_GROUP)],
            targets=[d.value for d in await store.list(TARGETS)],
        )

    def _selection(self, model: Model, certificates: Mapping[str, Path]) -> tuple[Selection, bool]:
        """The listeners that can bind and the localhost relays; whether some listener must wait."""
        listeners: set[str] = set()
        blocked = False
        for lb in model.load_balancers:
            for listener in lb.listeners:
                if not servable(lb, listener):
                    self._warn(
                        listener.arn, f"{listener.protocol} listeners are not served here ({listener.arn})"
                    )
                    continue
                if listener.tls and listener.arn not in certificates:
                    blocked = True
                    self._warn(
                        listener.arn, f"{listener.certificate} cannot be read: {listener.arn} waits for it"
                    )
                    continue
                bind = f"{lb.address}:{listener.port}"
                if bind in self._binds or bindable(lb.address, listener.port):
                    listeners.add(listener.arn)
                    self._warned.discard(listener.arn)
                else:
                    blocked = True
                    self._warn(
                        listener.arn, f"{bind} is in use by another process: {listener.arn} waits for it"
                    )
        relays: set[int] = set()
        if self._relays:
            ports = {
                li.port
                for lb in model.load_balancers
                for li in lb.listeners
                if li.arn in listeners and li.mode == "http"
            }
            relays = {p for p in ports if f"127.0.0.1:{p}" in self._binds or bindable("127.0.0.1", p)}
        selection = Selection(
            listeners=frozenset(listeners),
            relays=frozenset(relays),
            certificates={arn: path for arn, path in certificates.items() if arn in listeners},
        )
        return selection, blocked

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("load balancer: %s", message)

    async def _healthy(self) -> frozenset[tuple[str, str]]:
        """(backend, target key) of the targets last reported healthy: added up after a restart."""
        out = set()
        for doc in await self._store.list(TARGET_HEALTH):
            group = next((g for g in self._backends.values() if g.arn == doc.key.name), None)
            if group is None:
                continue
            for target_key, health in (doc.value.get("Targets") or {}).items():
                if health.get("State") == "healthy":
                    out.add((group.backend, target_key))
        return frozenset(out)

    async def sync(self) -> float | None:
        """Make HAProxy serve the store's model; seconds until a retry is due, None when done."""
        model = build_model(await self._documents())
        self._hosts.update({lb.dns_name: lb.address for lb in model.load_balancers if lb.dns_name})
        certificates = await write_certificates(model, self._certificates, self.paths.certificates)
        selection, blocked = self._selection(model, certificates)
        bare = render(model, self.paths, selection)
        self._topology = topology(model, selection.listeners)
        if not selection.listeners:
            self._topology = ()
            if await self._haproxy.running():
                await self.shutdown()
                self._hosts.update({lb.dns_name: lb.address for lb in model.load_balancers if lb.dns_name})
            self._backends, self._serving, self._synced = {}, False, True
            return _RETRY if blocked else None
        if not await self._haproxy.running():
            await self._haproxy.install(self._full(model, selection, bare, []))
            await self._haproxy.start()
            self._inherited = False
        elif bare.structure != self._structure:
            await self._haproxy.save_state()
            current = await self._haproxy.runtime.servers_state()
            await self._haproxy.install(self._full(model, selection, bare, current))
            retired = await self.read_counters()  # the old worker's counts, for the metrics
            if retired is not None:
                self._retired.append(retired)
            await self._haproxy.reload()
            log.info("HAProxy reloaded")
        current = await self._haproxy.runtime.servers_state()
        self._structure, self._binds = bare.structure, bare.binds
        self._backends = dict(bare.backends)
        self._serving = self._synced = True
        failed = await self._apply(bare, current)
        return _RETRY if blocked or failed else None

    def _full(
        self, model: Model, selection: Selection, bare: Rendered, current: list[ServerState]
    ) -> Rendered:
        """The configuration with every target's servers; those HAProxy lacks are written
        `disabled` (except fail-open twins and unchecked servers) and admitted at runtime."""
        known = {(s.backend, s.name) for s in current}
        servers: dict[str, frozenset[str]] = {}
        held = set()
        for (backend, name), server in wanted_servers(bare.backends).items():
            servers[backend] = servers.get(backend, frozenset()) | {name}
            if (backend, name) not in known and (server.checked or server.draining):
                held.add(f"{backend}/{name}")
        return render(model, self.paths, replace(selection, servers=servers, held=frozenset(held)))

    async def _apply(self, bare: Rendered, current: list[ServerState]) -> bool:
        """Run the runtime commands that take HAProxy's servers to the targets; whether any failed."""
        wanted = wanted_servers(bare.backends)
        steps = plan(wanted, current, backends=bare.backends)
        if any(step.action == "add" for step in steps):  # targets healthy before come back up
            steps = plan(wanted, current, backends=bare.backends, healthy=await self._healthy())
        failed = False
        for step in steps:
            log.debug("load balancer: %s %s/%s", step.action, step.backend, step.server)
            try:
                await self._haproxy.runtime.execute(step.line)
            except RuntimeError_ as exc:
                failed = True
                level = logging.DEBUG if step.action == "remove" else logging.WARNING
                log.log(level, "load balancer: %s %s/%s: %s", step.action, step.backend, step.server, exc)
        return failed

    # -- metrics -------------------------------------------------------------------------------

    @property
    def topology(self) -> tuple[Balancer, ...]:
        """The served application load balancers, their frontends and target groups' backends."""
        return self._topology

    def checked(self, group_arn: str) -> bool:
        """Whether a served target group's health checks are enabled."""
        return any(g.health.enabled for g in self._backends.values() if g.arn == group_arn)

    @property
    def inherited(self) -> bool:
        """Whether the HAProxy serving now was adopted from an earlier server."""
        return self._inherited

    def retired_counters(self) -> list[str]:
        """The counters read just before each reload since the last call, oldest first (once)."""
        retired, self._retired = self._retired, []
        return retired

    async def read_counters(self) -> str | None:
        """HAProxy's `show info` and `show stat` of every proxy; None when it does not serve."""
        if not self._serving:
            return None
        try:
            return await self._haproxy.runtime.command(COUNTERS_COMMAND)
        except RuntimeError_:
            return None

    # -- observe -------------------------------------------------------------------------------

    async def _reports(self) -> dict[Key, tuple[int, dict[str, Any]]]:
        if self._reported is None:
            self._reported = {d.key: (d.revision, d.value) for d in await self._store.list(TARGET_HEALTH)}
        return self._reported

    async def observe(self) -> None:
        """Read HAProxy's checks and write each used target group's `elbv2/target-health`."""
        if not self._synced:
            return
        backends = dict(self._backends)
        stats: dict[tuple[str, str], ServerStat] = {}
        if backends:
            try:
                stats = {(s.backend, s.name): s for s in await self._haproxy.runtime.stat()}
            except RuntimeError_:
                return  # reloading or restarting: look again next time
        reported = await self._reports()
        now = self._clock.now()
        writes: list[Write] = []
        wanted: dict[Key, dict[str, Any]] = {}
        for backend, group in backends.items():
            key = Key(group.account, group.region, TARGET_HEALTH, group.arn)
            before = (reported.get(key, (0, {}))[1].get("Targets")) or {}
            entries = {}
            for target in group.targets:
                seen = self._seen.setdefault((group.arn, target.key), _Seen(now))
                result = assess(
                    group.health,
                    target,
                    stats.get((backend, target.server)),
                    previous=TargetHealth.from_document(before.get(target.key)),
                    first_seen=seen.first_seen,
                    now=now,
                )
                if result.force_up:
                    await self._force_up(backend, target.server)
                entries[target.key] = result.health.document()
            wanted[key] = {"Targets": entries}
        for key, value in wanted.items():
            revision, old = reported.get(key, (0, None))
            if old != value:
                writes.append(Put(key, value, expected_revision=revision))
        for key, (revision, _) in reported.items():
            if key not in wanted:
                writes.append(Delete(key, expected_revision=revision))
        self._forget(backends)
        await self._write(writes, wanted)

    async def _force_up(self, backend: str, server: str) -> None:
        try:
            await self._haproxy.runtime.execute(f"set server {backend}/{server} health up")
        except RuntimeError_ as exc:
            log.debug("load balancer: cannot put %s/%s in service: %s", backend, server, exc)

    def _forget(self, backends: Mapping[str, TargetGroup]) -> None:
        live = {(g.arn, t.key) for g in backends.values() for t in g.targets}
        for gone in set(self._seen) - live:
            del self._seen[gone]

    async def _write(self, writes: list[Write], wanted: dict[Key, dict[str, Any]]) -> None:
        if not writes:
            return
        try:
            revision = await self._store.commit(writes)
        except Conflict:
            self._reported = None  # someone else wrote or deleted one: re-read next time
            return
        assert self._reported is not None
        for write in writes:
            if isinstance(write, Put):
                self._reported[write.key] = (revision, copy.deepcopy(wanted[write.key]))
            else:
                self._reported.pop(write.key, None)
