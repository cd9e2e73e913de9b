from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.testing.server import ThreadedServer
from tests.conftest import make_client, reset


@pytest.fixture(autouse=True)
def _clean_state(server: ThreadedServer) -> Iterator[None]:
    reset(server.endpoint)
    yield
    # Also after: the session server outlives these tests, and its load balancers' HAProxy must
    # not keep holding loopback addresses that later tests' servers lease for their own.
    reset(server.endpoint)


@pytest.fixture
def ecs(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "ecs")
