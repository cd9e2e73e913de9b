"""Shared fixtures: an in-process Dockyard server and real boto3 clients pointed at it."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
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
