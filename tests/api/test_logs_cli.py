"""CloudWatch Logs through the real AWS CLI: paging ends where the CLI expects it to."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dockyard.testing.server import ThreadedServer
from tests.conftest import aws_cli

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
pytestmark = pytest.mark.skipif(AWS is None, reason="the AWS CLI is not installed")


def cli(server: ThreadedServer, *args: str, check: bool = True) -> Any:
    """`aws logs ...`: its parsed output (checked), or (exit code, output, stderr) unchecked."""
    code, output, stderr = aws_cli(server.endpoint, "logs", *args)
    if check:
        assert code == 0, stderr
        return output or {}
    return code, output, stderr


def test_cli_logs_round_trip(server: ThreadedServer) -> None:
    cli(server, "create-log-group", "--log-group-name", "/ecs/cli")
    cli(server, "create-log-stream", "--log-group-name", "/ecs/cli", "--log-stream-name", "web/1")
    now = int(time.time() * 1000) - 100
    events = [
        {"timestamp": now + i, "message": f"{'ERROR' if i % 2 else 'INFO'} line {i}"} for i in range(30)
    ]
    put = cli(
        server,
        "put-log-events",
        "--log-group-name",
        "/ecs/cli",
        "--log-stream-name",
        "web/1",
        "--log-events",
        json.dumps(events),
    )
    assert "nextSequenceToken" in put

    # get-log-events: the caller pages with --next-token until the forward token comes back unchanged.
    seen: list[str] = []
    token: str | None = None
    for _ in range(10):
        extra = ["--next-token", token] if token else []
        page = cli(
            server,
            "get-log-events",
            "--log-group-name",
            "/ecs/cli",
            "--log-stream-name",
            "web/1",
            "--start-from-head",
            "--limit",
            "12",
            *extra,
        )
        seen += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert seen == [e["message"] for e in events]

    # filter-log-events: the CLI follows nextToken itself and stops when it is absent.
    filtered = cli(
        server,
        "filter-log-events",
        "--log-group-name",
        "/ecs/cli",
        "--filter-pattern",
        "ERROR",
        "--page-size",
        "4",
    )
    assert [e["message"] for e in filtered["events"]] == [f"ERROR line {i}" for i in range(1, 30, 2)]
    assert all(e["logStreamName"] == "web/1" for e in filtered["events"])

    streams = cli(server, "describe-log-streams", "--log-group-name", "/ecs/cli")["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["web/1"]
    assert streams[0]["lastEventTimestamp"] == now + 29

    bad = cli(
        server, "filter-log-events", "--log-group-name", "/ecs/cli", "--filter-pattern", "a@b", check=False
    )
    code, _, stderr = bad
    assert code != 0
    assert "InvalidParameterException" in stderr and "Invalid character(s) in term 'a@b'" in stderr
