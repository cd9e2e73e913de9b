"""The HAProxy process: validate, start, adopt, reload hitlessly, stop.

```
start   setsid -f haproxy -W -S <run>/master.sock -f haproxy.cfg -p haproxy.pid   (detached: it
        outlives the control plane, which adopts it again through the pid file when it restarts)
reload  show servers state > server-state; write + `haproxy -c` the new file; SIGUSR2 to the
        master; wait until `show proc` counts the reload (a failed one keeps the old workers)
stop    SIGTERM to the master
```
Configurations are always checked with `haproxy -c` before they replace the running one. Waiting
for the process is I/O, bounded in time (not domain time, so no injected clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
from pathlib import Path

from dockyard.lb.config import STRUCTURE_PREFIX, Paths, Rendered
from dockyard.lb.runtime import RuntimeClient, RuntimeError_

__all__ = ["HAProxy", "HAProxyError"]

log = logging.getLogger(__name__)

_POLL = 0.02
_START_TIMEOUT = 10.0
_RELOAD_TIMEOUT = 15.0


class HAProxyError(Exception):
    """HAProxy refused a configuration, did not start or did not reload."""


class HAProxy:
    def __init__(self, binary: str, paths: Paths) -> None:
        self.binary = binary
        self.paths = paths
        self.runtime = RuntimeClient(paths.admin_socket, paths.master_socket)

    # -- what runs -----------------------------------------------------------------------------

    def pid(self) -> int | None:
        """The master's pid when the pid file names a live HAProxy running our configuration."""
        try:
            pid = int(self.paths.pidfile.read_text().split()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            return None
        if (
            not any(b"haproxy" in part for part in cmdline[:1])
            or str(self.paths.config).encode() not in cmdline
        ):
            return None
        return pid

    async def running(self) -> bool:
        return self.pid() is not None and await self.runtime.alive()

    def structure(self) -> tuple[str, frozenset[str]]:
        """The structure digest and TCP binds of the configuration on disk (what a reload keeps)."""
        try:
            lines = self.paths.config.read_text().splitlines()
        except OSError:
            return "", frozenset()
        digest = next(
            (line[len(STRUCTURE_PREFIX) :] for line in lines if line.startswith(STRUCTURE_PREFIX)), ""
        )
        binds = frozenset(
            line.split()[1]
            for line in lines
            if line.startswith("    bind ") and not line.split()[1].startswith("unix@")
        )
        return digest, binds

    # -- configuration -------------------------------------------------------------------------

    async def _check(self, path: Path) -> None:
        process = await asyncio.create_subprocess_exec(
            self.binary,
            "-c",
            "-q",
            "-f",
            str(path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise HAProxyError(
                f"HAProxy refused the configuration: {output.decode(errors='replace').strip()}"
            )

    async def install(self, rendered: Rendered) -> None:
        """Write the files the configuration uses, check it, then put it in place."""
        self.paths.directory.mkdir(parents=True, exist_ok=True)
        self.paths.run.mkdir(parents=True, exist_ok=True)
        for path, content in rendered.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text() != content:
                path.write_text(content)
        if not self.paths.state_file.exists():
            self.paths.state_file.write_text("")
        candidate = self.paths.config.with_suffix(".cfg.new")
        candidate.write_text(rendered.text)
        await self._check(candidate)
        os.replace(candidate, self.paths.config)

    # -- process -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start HAProxy detached (`setsid -f`): not our child, it outlives the control plane."""
        for stale in (self.paths.admin_socket, self.paths.master_socket):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        self.paths.state_file.write_text("")  # the state of an earlier process means nothing now
        command = [
            self.binary,
            "-W",
            "-S",
            f"{self.paths.master_socket},mode,600",
            "-f",
            str(self.paths.config),
            "-p",
            str(self.paths.pidfile),
        ]
        setsid = shutil.which("setsid")
        command = [setsid, "-f", *command] if setsid else [*command, "-D"]
        with open(self.paths.log, "ab") as out:
            launcher = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out
            )
            await launcher.wait()
        for _ in range(int(_START_TIMEOUT / _POLL)):
            if self.pid() is not None and await self.runtime.alive():
                log.info("HAProxy started (pid %s)", self.pid())
                return
            await asyncio.sleep(_POLL)
        raise HAProxyError(f"HAProxy did not start in {_START_TIMEOUT:.0f}s: {self._log_tail()}")

    async def save_state(self) -> None:
        """Keep health, weights and maintenance across a reload (load-server-state-from-file)."""
        state = await self.runtime.command("show servers state")
        self.paths.state_file.write_text(state)

    async def reload(self) -> None:
        pid = self.pid()
        if pid is None:
            raise HAProxyError("HAProxy is not running")
        before = await self.runtime.proc()
        os.kill(pid, signal.SIGUSR2)
        for _ in range(int(_RELOAD_TIMEOUT / _POLL)):
            await asyncio.sleep(_POLL)
            try:
                now = await self.runtime.proc()
            except RuntimeError_:
                continue  # the master re-executes itself
            if now.failed > before.failed:
                raise HAProxyError(f"HAProxy kept its previous configuration: {self._log_tail()}")
            if now.reloads > before.reloads and now.workers and await self.runtime.alive():
                return
        raise HAProxyError(f"HAProxy did not reload in {_RELOAD_TIMEOUT:.0f}s: {self._log_tail()}")

    async def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        for _ in range(int(5.0 / _POLL)):
            if not Path(f"/proc/{pid}").exists() or self._reaped(pid):
                break
            await asyncio.sleep(_POLL)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(FileNotFoundError):
            self.paths.pidfile.unlink()
        log.info("HAProxy stopped")

    def _reaped(self, pid: int) -> bool:
        """A child that exited but was not waited for yet is a zombie: as good as gone."""
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1].split()[0] == "Z"
        except (OSError, IndexError):
            return True

    def _log_tail(self) -> str:
        try:
            lines = self.paths.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        interesting = [line for line in lines if "ALERT" in line or "WARNING" in line] or lines
        return " | ".join(interesting[-5:])
