"""Dynamic host ports for `bridge` tasks, handed out the way the ECS agent does (reference §2.4).

The allocator owns the set of host ports this agent has published on its host address. It scans
the dynamic range sequentially from the port after the last one it handed out up to the top, then
once more from the bottom (wrapping); it skips reserved ports (§5.6) and ports this agent already
uses, and it verifies each candidate by binding it on the host address for the protocol asked for::

    lo ........ last ──> scan ──> hi
    lo ──> wrap scan ──────────> hi        the first port (or run) passing every check wins

The only I/O here is the bind probe and reading the kernel's ephemeral range.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "DEFAULT_PORT_RANGE",
    "DEFAULT_RESERVED_PORTS",
    "HostPortAllocator",
    "HostPortUnavailable",
    "kernel_port_range",
    "port_is_free",
]

#: The ECS agent's fallback when the kernel range cannot be read.
DEFAULT_PORT_RANGE: tuple[int, int] = (49153, 65535)
#: ECS_RESERVED_PORTS default: ssh, the Docker daemon, agent introspection, task metadata/credentials.
DEFAULT_RESERVED_PORTS: frozenset[int] = frozenset({22, 2375, 2376, 51678, 51679})

_PROTOCOLS = ("tcp", "udp")


class HostPortUnavailable(Exception):
    """No free host port (or contiguous block) is left in the dynamic range; the agent's wording."""


def kernel_port_range(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> tuple[int, int]:
    """The kernel's ephemeral port range, or `DEFAULT_PORT_RANGE` when it cannot be read."""
    try:
        lo_text, hi_text = Path(path).read_text().split()[:2]
        lo, hi = int(lo_text), int(hi_text)
    except (OSError, ValueError):
        return DEFAULT_PORT_RANGE
    if not 0 < lo <= hi <= 65535:
        return DEFAULT_PORT_RANGE
    return lo, hi


def port_is_free(host_address: str, port: int, protocol: str = "tcp") -> bool:
    """Whether `port` can be bound on `host_address` (all addresses when empty) for `protocol`."""
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        if protocol == "tcp":
            # As Go's net.Listen does: a port held only by TIME_WAIT sockets counts as free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host_address or "0.0.0.0", port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                return False
            raise
    return True


class HostPortAllocator:
    """Hands out dynamic host ports on one host address (an EC2 instance's 127.0.0.N).

    `port_range` defaults to the kernel's ephemeral range (ECS_DYNAMIC_HOST_PORT_RANGE overrides it
    on the real agent); `reserved` defaults to ECS's reserved ports. Ports are tracked per protocol:
    a published tcp port does not keep the same udp port from being used.
    """

    def __init__(
        self,
        host_address: str,
        *,
        port_range: tuple[int, int] | None = None,
        reserved: Iterable[int] = DEFAULT_RESERVED_PORTS,
    ) -> None:
        lo, hi = port_range if port_range is not None else kernel_port_range()
        if not 0 < lo <= hi <= 65535:
            raise ValueError(f"invalid dynamic host port range {lo}-{hi}")
        self.host_address = host_address
        self.port_range = (lo, hi)
        self.reserved = frozenset(reserved)
        self._used: set[tuple[int, str]] = set()
        self._last: int | None = None

    # -- bookkeeping ---------------------------------------------------------------------------

    def in_use(self, protocol: str = "tcp") -> frozenset[int]:
        """Ports this agent holds for `protocol`."""
        return frozenset(port for port, proto in self._used if proto == protocol)

    def mark_used(self, ports: Iterable[int], *, protocol: str = "tcp") -> None:
        """Record ports already published (static ports, or dynamic ones found after a restart)."""
        _check_protocol(protocol)
        self._used.update((port, protocol) for port in ports)

    def release(self, port: int, *, protocol: str | None = None) -> None:
        """Give a port back (for one protocol, or for both when `protocol` is None)."""
        for proto in _PROTOCOLS if protocol is None else (protocol,):
            self._used.discard((port, proto))

    # -- allocation ----------------------------------------------------------------------------

    def allocate(self, protocol: str = "tcp") -> int:
        """One free host port, recorded as used. Raises `HostPortUnavailable`."""
        start, _end = self.allocate_range(1, protocol)
        return start

    def allocate_range(self, count: int, protocol: str = "tcp") -> tuple[int, int]:
        """`count` contiguous free host ports `(first, last)`, recorded as used (containerPortRange)."""
        _check_protocol(protocol)
        if count < 1:
            raise ValueError("count must be at least 1")
        lo, hi = self.port_range
        previous = self._last
        start = lo if previous is None else previous + 1
        found = self._scan(count, start, hi, protocol)
        if found is None and previous is not None:
            # Nothing free from the last handed-out port to the top: wrap to the bottom of the range.
            found = self._scan(count, lo, hi, protocol)
        if found is None:
            if count == 1:
                raise HostPortUnavailable("a host port is unavailable")
            raise HostPortUnavailable(f"{count} contiguous host ports are unavailable")
        first, last = found
        self._last = None if last >= hi else last
        self.mark_used(range(first, last + 1), protocol=protocol)
        return found

    def _usable(self, port: int, protocol: str) -> bool:
        return (
            port not in self.reserved
            and (port, protocol) not in self._used
            and port_is_free(self.host_address, port, protocol)
        )

    def _scan(self, count: int, start: int, end: int, protocol: str) -> tuple[int, int] | None:
        """The first run of `count` usable ports within [start, end]."""
        run_start = run_end = -2
        for port in range(start, end + 1):
            if not self._usable(port, protocol):
                continue
            if port - run_end != 1:
                run_start = port
            run_end = port
            if run_end - run_start + 1 == count:
                return run_start, run_end
        return None


def _check_protocol(protocol: str) -> None:
    if protocol not in _PROTOCOLS:
        raise ValueError(f"invalid protocol {protocol!r}")
