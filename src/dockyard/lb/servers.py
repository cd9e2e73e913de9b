"""Target churn as runtime commands: the pure diff of the servers wanted against those HAProxy has.

```
wanted (targets of rendered groups)  vs  `show servers state`
  missing     -> add server (MAINT, checks off); weight 0; ready; health down|up; enable health;
                 weight 100 (a draining one stays in MAINT)
  draining    -> set server state maint   (no new requests; in-flight ones finish)
  in MAINT, not draining (registered again, or written `disabled` by a reload)
              -> weight 0; ready; health down|up; enable health; weight 100
  gone        -> state maint; shutdown sessions server; del server   (the delay has passed)
```
Each target has two servers: the checked one and its unchecked `backup` twin (fail-open), so each
step is applied to both. A new checked server starts DOWN (ALB's `initial`) unless the target was
healthy before (after HAProxy restarts), so it takes traffic only once a check passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dockyard.lb.config import server_arguments
from dockyard.lb.model import TargetGroup
from dockyard.lb.runtime import ServerState

__all__ = ["WantedServer", "Step", "wanted_servers", "plan"]


@dataclass(frozen=True, slots=True)
class WantedServer:
    backend: str
    name: str
    arguments: str
    draining: bool
    checked: bool
    target_key: str  # "<Id>:<Port>" of the target it serves


@dataclass(frozen=True, slots=True)
class Step:
    """One server's change: its command line (commands chained with `;`) and what it is."""

    backend: str
    server: str
    action: str  # add | drain | admit | remove
    line: str


def wanted_servers(backends: Mapping[str, TargetGroup]) -> dict[tuple[str, str], WantedServer]:
    wanted: dict[tuple[str, str], WantedServer] = {}
    for backend, group in backends.items():
        for target in group.targets:
            for name, backup in ((target.server, False), (target.backup, True)):
                wanted[(backend, name)] = WantedServer(
                    backend=backend,
                    name=name,
                    arguments=server_arguments(group, target, backup=backup),
                    draining=target.draining,
                    checked=group.health.enabled and not backup,
                    target_key=target.key,
                )
    return wanted


def _admit(server: WantedServer, *, healthy: bool) -> list[str]:
    """Put a server in MAINT into service. A checked one is made ready at weight 0 (no traffic),
    marked down (or up) before its checks start, and only then given its weight."""
    ref = f"{server.backend}/{server.name}"
    if not server.checked:
        return [f"set server {ref} state ready"]
    return [
        f"set server {ref} weight 0",
        f"set server {ref} state ready",
        f"set server {ref} health {'up' if healthy else 'down'}",
        f"enable health {ref}",
        f"set server {ref} weight 100",
    ]


def _add(server: WantedServer, *, healthy: bool) -> str:
    """HAProxy adds a server in MAINT with checks off; a draining one stays there."""
    added = f"add server {server.backend}/{server.name} {server.arguments}"
    return added if server.draining else "; ".join([added, *_admit(server, healthy=healthy)])


def _remove(backend: str, name: str) -> str:
    ref = f"{backend}/{name}"
    return f"set server {ref} state maint; shutdown sessions server {ref}; del server {ref}"


def plan(
    wanted: Mapping[tuple[str, str], WantedServer],
    running: Iterable[ServerState],
    *,
    backends: Iterable[str],
    healthy: frozenset[tuple[str, str]] = frozenset(),
) -> list[Step]:
    """The steps that take `running` to `wanted` in `backends`; `healthy`: (backend, target key)."""
    managed = set(backends)
    have = {(s.backend, s.name): s for s in running if s.backend in managed}
    steps: list[Step] = []
    for key, server in sorted(wanted.items()):
        current = have.get(key)
        ref = f"{server.backend}/{server.name}"
        was_healthy = (server.backend, server.target_key) in healthy
        if current is None:
            steps.append(Step(server.backend, server.name, "add", _add(server, healthy=was_healthy)))
        elif server.draining and not current.in_maintenance:
            steps.append(Step(server.backend, server.name, "drain", f"set server {ref} state maint"))
        elif not server.draining and current.in_maintenance:
            admit = "; ".join(_admit(server, healthy=was_healthy))
            steps.append(Step(server.backend, server.name, "admit", admit))
    for key in sorted(set(have) - set(wanted)):
        steps.append(Step(key[0], key[1], "remove", _remove(*key)))
    return steps
