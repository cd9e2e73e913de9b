"""The agent's registry credentials for images in the control plane's ECR (agent/ecr_auth.py)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from dockyard.agent.client import ApiError
from dockyard.agent.ecr_auth import ECR_TARGET, ecr_auth
from dockyard.agent.runner_steps import PullFailed
from dockyard.agent.runtime.protocol import RegistryAuth


class FakeEcr:
    """Answers GetAuthorizationToken like Dockyard's server on 127.0.0.1:4566 (or fails)."""

    def __init__(self, *, fail: bool = False) -> None:
        self.calls: list[tuple[str, str, str, dict[str, Any], str | None]] = []
        self.fail = fail

    async def call(
        self,
        service: str,
        target_prefix: str,
        operation: str,
        params: dict[str, Any],
        region: str | None = None,
    ) -> dict[str, Any]:
        self.calls.append((service, target_prefix, operation, params, region))
        if self.fail:
            raise ApiError("UnknownOperationException", "not served", 400)
        token = base64.b64encode(f"AWS:password-for-{region}".encode()).decode()
        return {
            "authorizationData": [{"authorizationToken": token, "proxyEndpoint": "http://127.0.0.1:4566"}]
        }


async def test_images_on_the_registry_host_get_a_token() -> None:
    ecr = FakeEcr()
    found = await ecr_auth(
        ["127.0.0.1:4566/app/web:v1", "127.0.0.1:4566/app/db@sha256:" + "a" * 64, "busybox", "quay.io/x/y:1"],
        ecr,
        "eu-west-1",
    )
    assert found == {
        "127.0.0.1:4566/app/web:v1": RegistryAuth("AWS", "password-for-eu-west-1", "127.0.0.1:4566"),
        "127.0.0.1:4566/app/db@sha256:" + "a" * 64: RegistryAuth(
            "AWS", "password-for-eu-west-1", "127.0.0.1:4566"
        ),
    }
    assert ecr.calls == [("ecr", ECR_TARGET, "GetAuthorizationToken", {}, "eu-west-1")]  # one call


async def test_ecr_style_hosts_use_their_account_and_region() -> None:
    ecr = FakeEcr()
    image = "210987654321.dkr.ecr.ap-south-1.amazonaws.com/team/api:latest"
    found = await ecr_auth([image], ecr, "us-east-1")
    assert found[image].server == "210987654321.dkr.ecr.ap-south-1.amazonaws.com"
    assert ecr.calls[0][3:] == ({"registryIds": ["210987654321"]}, "ap-south-1")


async def test_known_credentials_and_docker_hub_images_make_no_call() -> None:
    ecr = FakeEcr()
    known = {"127.0.0.1:4566/app/web:v1": RegistryAuth("me", "secret")}
    assert (
        await ecr_auth(["127.0.0.1:4566/app/web:v1", "busybox:latest"], ecr, "us-east-1", known=known) == {}
    )
    assert ecr.calls == []
    assert await ecr_auth(["127.0.0.1:4566/x:1"], None, "us-east-1") == {}


async def test_a_failed_token_fails_ecr_hosts_only() -> None:
    assert await ecr_auth(["registry.example.com/x:1"], FakeEcr(fail=True), "us-east-1") == {}
    with pytest.raises(PullFailed) as raised:
        await ecr_auth(["123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"], FakeEcr(fail=True), "us-east-1")
    assert raised.value.reason.startswith("CannotPullContainerError: unable to get ECR authorization")
