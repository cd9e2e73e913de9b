"""`dockyard up` as a user runs it: ready, serving, stopping cleanly, keeping its state."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

ENV = {
    **os.environ,
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "y",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(port: int, data_dir: Path) -> tuple[subprocess.Popen[str], list[str], float]:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "up", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Stop with Ctrl-C"):
            break
    return process, lines, time.monotonic() - started


def aws(port: int, *args: str) -> dict[str, object]:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "aws"), "--endpoint-url", f"http://127.0.0.1:{port}", *args],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    return dict(json.loads(result.stdout))


def test_up_serves_stops_on_ctrl_c_and_keeps_state(tmp_path: Path) -> None:
    port = free_port()
    process, lines, elapsed = start(port, tmp_path)
    try:
        text = "".join(lines)
        assert f"Dockyard is up on http://127.0.0.1:{port}" in text
        assert f"aws --endpoint-url http://127.0.0.1:{port} ecs create-cluster" in text
        print(f"dockyard up was ready in {elapsed:.2f}s")  # reported, never asserted
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as response:
            assert json.loads(response.read())["status"] == "ok"
        aws(port, "ecs", "create-cluster", "--cluster-name", "kept")
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Dockyard stopped." in rest
    assert (tmp_path / "dockyard.db").exists()

    process, _, _ = start(port, tmp_path)
    try:
        clusters = aws(port, "ecs", "describe-clusters", "--clusters", "kept")["clusters"]
        assert [c["status"] for c in clusters] == ["ACTIVE"]  # type: ignore[index]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_up_refuses_to_listen_beyond_loopback_without_strict_auth(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dockyard", "up", "--host", "0.0.0.0", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=30,
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "dockyard", "up", "--strict-auth", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--strict-auth is not available" in result.stderr
