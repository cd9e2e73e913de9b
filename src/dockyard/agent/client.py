"""The agent's HTTP client for the control plane: AWS APIs and the agent channel.

AWS calls are plain awsJson 1.1 requests signed with SigV4 (botocore's signer), exactly what any
SDK sends, so an agent is just another client: `ecs()` for ECS, `call()` for any awsJson service
(the agent reads task secrets with `call("secretsmanager", ...)` and `call("ssm", ...)`). The
channel calls are documented in docs/agent-protocol.md.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import aiohttp
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

__all__ = ["ApiError", "ControlPlane", "EcsError", "TARGET_PREFIXES"]

#: X-Amz-Target prefixes of the awsJson services the agent calls.
TARGET_PREFIXES = {
    "ecs": "AmazonEC2ContainerServiceV20141113",
    "secretsmanager": "secretsmanager",
    "ssm": "AmazonSSM",
}


class ApiError(Exception):
    """An AWS error answer (`code` as in `__type`), or a channel failure."""

    def __init__(self, code: str, message: str, status: int, *, request_id: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id


#: The name the agent's code has used for API errors since it called ECS only.
EcsError = ApiError


class ControlPlane:
    def __init__(self, endpoint: str, region: str, *, session: aiohttp.ClientSession | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self._session = session or aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, connect=10)
        )
        self._credentials = Credentials(
            os.environ.get("AWS_ACCESS_KEY_ID", "dockyard-agent"),
            os.environ.get("AWS_SECRET_ACCESS_KEY", "dockyard-agent"),
            os.environ.get("AWS_SESSION_TOKEN"),
        )

    async def close(self) -> None:
        await self._session.close()

    async def ecs(
        self, operation: str, params: dict[str, Any], *, region: str | None = None
    ) -> dict[str, Any]:
        return await self.call("ecs", TARGET_PREFIXES["ecs"], operation, params, region)

    async def call(
        self,
        service: str,
        target_prefix: str,
        operation: str,
        params: dict[str, Any],
        region: str | None = None,
    ) -> dict[str, Any]:
        """One awsJson 1.1 call of `service` (its SigV4 signing name), signed for `region`.
        Raises `ApiError` for an AWS error answer; connection failures are aiohttp's."""
        body = json.dumps(params).encode()
        request = AWSRequest(
            method="POST",
            url=self.endpoint + "/",
            data=body,
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"{target_prefix}.{operation}",
            },
        )
        SigV4Auth(self._credentials, service, region or self.region).add_auth(request)
        async with self._session.post(
            self.endpoint + "/",
            data=body,
            headers=dict(request.headers.items()),
            timeout=aiohttp.ClientTimeout(total=30),
        ) as response:
            payload = await response.json(content_type=None)
            if response.status != 200:
                payload = payload if isinstance(payload, dict) else {}
                code = str(payload.get("__type", "Unknown")).rsplit("#", 1)[-1]
                message = str(payload.get("message", payload.get("Message", "")))
                request_id = response.headers.get("x-amzn-RequestId", "")
                raise ApiError(code, message, response.status, request_id=request_id)
            return dict(payload)

    async def poll(self, base: str, node: str, *, revision: int, wait: float) -> dict[str, Any]:
        url = f"{base.rstrip('/')}/v1/nodes/{quote(node, safe='')}/tasks"
        async with self._session.get(
            url,
            params={"revision": str(revision), "wait": str(wait)},
            timeout=aiohttp.ClientTimeout(total=wait + 30),
        ) as response:
            if response.status != 200:
                raise ApiError("PollFailed", await response.text(), response.status)
            return dict(await response.json())

    async def telemetry(self, base: str, payload: dict[str, Any]) -> dict[str, Any]:
        async with self._session.post(
            f"{base.rstrip('/')}/v1/telemetry", json=payload, timeout=aiohttp.ClientTimeout(total=30)
        ) as response:
            if response.status != 200:
                raise ApiError("TelemetryFailed", await response.text(), response.status)
            return dict(await response.json())

    async def report(self, base: str, reports: list[dict[str, Any]]) -> dict[str, Any]:
        async with self._session.post(
            f"{base.rstrip('/')}/v1/reports", json={"tasks": reports}, timeout=aiohttp.ClientTimeout(total=30)
        ) as response:
            if response.status != 200:
                raise ApiError("ReportFailed", await response.text(), response.status)
            return dict(await response.json())
