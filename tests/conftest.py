"""Shared fixtures: an in-process Dockyard server, real boto3 clients and the real AWS CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from dockyard.testing.server import ThreadedServer

REGION = "us-east-1"


@pytest.fixture(scope="session")
def server() -> Iterator[ThreadedServer]:
    with ThreadedServer() as running:
        yield running


def reset(endpoint: str) -> None:
    req = urllib.request.Request(f"{endpoint}/_dockyard/reset", method="POST", data=b"")
    urllib.request.urlopen(req).read()


def make_client(endpoint: str, service: str, region: str = REGION) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="AKIATESTKEY",
        aws_secret_access_key="secret",
    )


def aws_cli(endpoint: str, *args: str) -> tuple[int, Any, str]:
    """Run the real AWS CLI against `endpoint`: (exit code, parsed JSON output or None, stderr)."""
    aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or "aws"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIATESTKEY",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_PAGER": "",
    }
    result = subprocess.run(
        [aws, "--endpoint-url", endpoint, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    output = json.loads(result.stdout) if result.stdout.strip() else None
    return result.returncode, output, result.stderr
