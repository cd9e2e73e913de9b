"""HAProxy's runtime API over its unix sockets, and the parsing of what it answers.

One connection per command line (several commands may be chained with `;`): HAProxy answers
and closes. The master socket keeps its connections open, so master commands end with `;quit`.

| need                    | command                                                          |
|-------------------------|------------------------------------------------------------------|
| register a target       | `add server be/s <args>` (starts in MAINT, checks off), then     |
|                         | `set server be/s health down; enable health be/s; enable server` |
| drain / undrain         | `set server be/s state maint` / `state ready` (in-flight finish) |
| remove                  | `set server be/s state maint; shutdown sessions server be/s;     |
|                         | del server be/s`                                                 |
| move                    | `set server be/s addr A port P`                                  |
| read back               | `show servers state` (admin state), `show stat` (health)         |
| processes (master)      | `show proc` (reloads and failed reloads)                         |
"""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "RuntimeClient",
    "RuntimeError_",
    "ServerState",
    "ServerStat",
    "ProcInfo",
    "parse_servers_state",
    "parse_stat",
    "parse_proc",
    "check_output",
]

_SUCCESS = {"New server registered.", "Server deleted."}
# Forced (CLI), inherited and resolution maintenance. A server written `disabled` starts with the
# config flag (0x04) and forced (0x01); `state ready` clears only the forced one, so 0x04 alone is
# a running server.
MAINT_FLAGS = 0x01 | 0x02 | 0x20
DRAIN_FLAGS = 0x08 | 0x10


class RuntimeError_(Exception):
    """HAProxy refused a command or could not be reached."""


@dataclass(frozen=True, slots=True)
class ServerState:
    """One server as `show servers state` describes it."""

    backend: str
    name: str
    address: str
    port: int
    operational: int  # 0 stopped, 1 starting, 2 running, 3 stopping
    admin: int  # bit flags; MAINT_FLAGS and DRAIN_FLAGS

    @property
    def in_maintenance(self) -> bool:
        return bool(self.admin & MAINT_FLAGS)


@dataclass(frozen=True, slots=True)
class ServerStat:
    """One server as `show stat` describes it (the health fields)."""

    backend: str
    name: str
    status: str  # UP, DOWN, "DOWN 1/2", "UP 1/3", MAINT, DRAIN, "no check", ...
    check_status: str  # L4OK, L4CON, L4TOUT, L7OK, L7STS, L7TOUT, L7RSP, INI, ... ("" when none)
    check_code: str  # the HTTP status of the last L7 check
    check_health: int  # the rise/fall counter
    check_rise: int
    sessions: int  # current sessions (in-flight requests on this server)

    @property
    def up(self) -> bool:
        return self.status.startswith("UP") or self.status == "no check"

    @property
    def down(self) -> bool:
        return self.status.startswith("DOWN")


@dataclass(frozen=True, slots=True)
class ProcInfo:
    reloads: int
    failed: int
    workers: int


def _int(text: str, default: int = 0) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def parse_servers_state(text: str) -> list[ServerState]:
    """`show servers state` (format 1): one line per server after the version and header lines."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 19 or line.startswith("#"):
            continue
        out.append(
            ServerState(
                backend=fields[1],
                name=fields[3],
                address=fields[4],
                port=_int(fields[18]),
                operational=_int(fields[5]),
                admin=_int(fields[6]),
            )
        )
    return out


def parse_stat(text: str) -> list[ServerStat]:
    """`show stat` CSV: the rows of servers (svname neither FRONTEND nor BACKEND)."""
    lines = text.lstrip("# ").splitlines()
    out = []
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        name = row.get("svname") or ""
        if not name or name in ("FRONTEND", "BACKEND"):
            continue
        out.append(
            ServerStat(
                backend=row.get("pxname") or "",
                name=name,
                status=row.get("status") or "",
                check_status=(row.get("check_status") or "").lstrip("* ").strip(),
                check_code=row.get("check_code") or "",
                check_health=_int(row.get("check_health") or "0"),
                check_rise=_int(row.get("check_rise") or "0"),
                sessions=_int(row.get("scur") or "0"),
            )
        )
    return out


def parse_proc(text: str) -> ProcInfo:
    """`show proc` on the master socket: the master's reload counters and the current workers."""
    reloads = failed = workers = 0
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1] == "master":
            reloads = _int(fields[2])
            if "[failed:" in line:
                failed = _int(line.split("[failed:", 1)[1].split("]", 1)[0].strip())
        elif len(fields) >= 3 and fields[1] == "worker" and fields[2] == "0":
            workers += 1  # workers of the current generation (0 reloads ago)
    return ProcInfo(reloads=reloads, failed=failed, workers=workers)


def check_output(command: str, output: str) -> None:
    """Raise unless every line HAProxy printed for `command` is empty or a success message."""
    problems = [line for line in output.splitlines() if line.strip() and line.strip() not in _SUCCESS]
    if problems:
        raise RuntimeError_(f"{command!r}: {' '.join(problems)}")


class RuntimeClient:
    """Commands to the worker's admin socket and the master socket."""

    def __init__(self, admin: Path, master: Path, *, timeout: float = 5.0) -> None:
        self._admin = admin
        self._master = master
        self._timeout = timeout

    async def _send(self, path: Path, line: str) -> str:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), self._timeout)
        except (OSError, TimeoutError) as exc:
            raise RuntimeError_(f"cannot reach HAProxy at {path}: {exc}") from exc
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), self._timeout)
        except (OSError, TimeoutError) as exc:
            raise RuntimeError_(f"HAProxy did not answer {line!r}: {exc}") from exc
        finally:
            writer.close()
        return data.decode(errors="replace")

    async def command(self, line: str) -> str:
        """Run a command line on the worker; the raw answer."""
        return await self._send(self._admin, line)

    async def execute(self, line: str) -> None:
        """Run a command line on the worker; raise `RuntimeError_` unless it succeeded."""
        check_output(line, await self.command(line))

    async def master(self, line: str) -> str:
        return await self._send(self._master, f"{line};quit")

    async def servers_state(self) -> list[ServerState]:
        return parse_servers_state(await self.command("show servers state"))

    async def stat(self) -> list[ServerStat]:
        return parse_stat(await self.command("show stat -1 4 -1"))

    async def proc(self) -> ProcInfo:
        return parse_proc(await self.master("show proc"))

    async def alive(self) -> bool:
        try:
            return "Name: HAProxy" in await self.command("show info")
        except RuntimeError_:
            return False
