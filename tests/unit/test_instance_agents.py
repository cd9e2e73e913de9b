"""The instance launcher's process handles: an agent left running by an earlier server is found by
its pid and command line, and can be stopped; a child agent reports its exit."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from dockyard.server.instance_agents import AdoptedAgent, ProcessAgent


async def test_an_orphaned_agent_is_found_and_stopped() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "agent", "--instance-id", "i-0123456789abcdef0"]
    )
    try:
        for _ in range(100):  # until the child has exec'd (before that it shows our command line)
            if AdoptedAgent.find(process.pid, "i-0123456789abcdef0"):
                break
            await asyncio.sleep(0.02)
        assert AdoptedAgent.find(process.pid, "i-0123456789abcdef0") == process.pid
        assert AdoptedAgent.find(process.pid, "i-ffffffffffffffff0") is None
        assert AdoptedAgent.find(None, "i-0123456789abcdef0") is None
        exited = asyncio.Event()
        adopted = AdoptedAgent(process.pid, on_exit=exited.set)
        assert adopted.alive and adopted.exit_code is None
        await adopted.stop()
        await asyncio.to_thread(process.wait, 5)
        assert not adopted.alive
    finally:
        process.kill()
        process.wait()


async def test_a_child_agent_reports_its_exit(tmp_path: Path) -> None:
    exited = asyncio.Event()
    agent = ProcessAgent(
        ["--help"], env={"PATH": "/usr/bin:/bin"}, log_path=tmp_path / "agent.log", on_exit=exited.set
    )
    await agent.start()
    await asyncio.wait_for(exited.wait(), 30)
    assert agent.exit_code == 0 and not agent.alive
    assert "usage: dockyard agent" in (tmp_path / "agent.log").read_text()
