"""GetAuthorizationToken and the registry's Basic auth: the token's shape, the real AWS CLI's
`get-login-password`, and tokens being scoped to their registry (account and Region)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import V2, login
from tests.conftest import make_client

AWS = str(Path(sys.executable).parent / "aws")


@pytest.fixture
def ecr(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "ecr")


def test_token_shape(server: ThreadedServer, ecr: Any) -> None:
    data = ecr.get_authorization_token()["authorizationData"]
    assert len(data) == 1
    user, _, password = base64.b64decode(data[0]["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and password and ":" not in password
    assert data[0]["proxyEndpoint"] == f"http://{urlsplit(server.endpoint).netloc}"
    lifetime = data[0]["expiresAt"].timestamp() - time.time()
    assert 11.9 * 3600 < lifetime <= 12 * 3600
    several = ecr.get_authorization_token(registryIds=["123456789012", "210987654321"])
    assert len(several["authorizationData"]) == 2


def test_aws_cli_get_login_password_logs_in(server: ThreadedServer, ecr: Any) -> None:
    ecr.create_repository(repositoryName="cli/login")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run(
        [AWS, "ecr", "get-login-password", "--endpoint-url", server.endpoint],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    password = result.stdout.strip()
    v2 = V2(server.endpoint, password)
    assert v2.request("GET", "/v2/").status == 200
    assert v2.request("GET", "/v2/cli/login/tags/list").json() == {"name": "cli/login", "tags": []}


def test_a_token_works_in_its_own_region_only(server: ThreadedServer, ecr: Any) -> None:
    ecr.create_repository(repositoryName="scoped")
    west = make_client(server.endpoint, "ecr", "us-west-2")
    west.create_repository(repositoryName="west/only")
    east_token = V2(server.endpoint, login(server.endpoint))
    west_token = V2(server.endpoint, login(server.endpoint, "us-west-2"))
    assert east_token.request("GET", "/v2/scoped/tags/list").status == 200
    assert east_token.request("GET", "/v2/west/only/tags/list").status == 404
    assert west_token.request("GET", "/v2/west/only/tags/list").status == 200
    assert west_token.request("GET", "/v2/_catalog").json() == {"repositories": ["west/only"]}


def test_basic_credentials_other_than_a_token_are_refused(server: ThreadedServer) -> None:
    for user, password in (("AWS", "not-a-token"), ("admin", login(server.endpoint)), ("AWS", "")):
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        answer = V2(server.endpoint, None).request("GET", "/v2/", headers={"Authorization": f"Basic {token}"})
        assert answer.status == 401
        assert answer.error_codes == ["UNAUTHORIZED"]
