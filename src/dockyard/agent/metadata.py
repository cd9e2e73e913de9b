"""The task metadata endpoint (TMDS) the agent serves to its containers (reference §8.1, §8.2).

Containers find it through the variables `dockyard.agent.specs` injects:
`ECS_CONTAINER_METADATA_URI_V4=<base>/v4/<endpoint id>`, `ECS_CONTAINER_METADATA_URI=<base>/v3/<id>`
and `ECS_AGENT_URI=<base>/api/<id>`. The endpoint id names one container of one task:

    GET /v4/<id>                container        GET /v3/<id>              (same paths, v3 shape)
    GET /v4/<id>/task           task + containers
    GET /v4/<id>/taskWithTags   task + TaskTags, ContainerInstanceTags (+ Errors)
    GET /v4/<id>/stats          Docker stats of the container
    GET /v4/<id>/task/stats     {docker id: stats} for the task's containers
    GET|PUT /api/<id>/task-protection/v1/state

The state comes from a `MetadataSource` the runner implements; rendering is in
`dockyard.agent.metadata_views`. Errors carry the agent's status codes and bodies: v4 answers an
unknown id with 404, v3 with 500 (stats: 400), each body a JSON string naming the handler.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiohttp import web

from dockyard.agent.metadata_views import (
    ContainerView,
    HealthView,
    NetworkView,
    PortView,
    TaskView,
    VolumeView,
    awsvpc_network_view,
    render_container,
    render_task,
    rfc3339,
)

__all__ = [
    "ContainerView",
    "HealthView",
    "MetadataSource",
    "NetworkView",
    "PortView",
    "TagsError",
    "TaskView",
    "VolumeView",
    "awsvpc_network_view",
    "metadata_app",
    "render_container",
    "render_task",
    "rfc3339",
    "start_metadata_server",
]

_NO_TASK = "unable to get task arn from request: unable to get task Arn from v3 endpoint ID: {}"
_NO_CONTAINER = "unable to get container ID from request: unable to get docker ID from v3 endpoint ID: {}"


class TagsError(Exception):
    """ListTagsForResource failed; reported in the v4 `Errors` list of taskWithTags."""

    def __init__(self, message: str, *, code: str = "", status_code: int = 0, request_id: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.request_id = request_id


class MetadataSource(Protocol):
    """What the metadata server needs from the runner."""

    async def lookup(self, endpoint_id: str) -> tuple[TaskView, ContainerView] | None:
        """The task and the container an endpoint id belongs to; None when the id is unknown."""
        ...

    async def stats(self, docker_id: str) -> Mapping[str, Any] | None:
        """One Docker stats document for a container of this agent (v4 may carry
        `network_rate_stats`); None when there is none (container gone or never started)."""
        ...

    async def resource_tags(self, resource_arn: str) -> Mapping[str, str]:
        """Tags of the task or container instance (ListTagsForResource). Raises `TagsError`."""
        ...


Handler = Callable[[web.Request], Awaitable[web.Response]]


def metadata_app(source: MetadataSource) -> web.Application:
    """The aiohttp application serving the v3 and v4 metadata paths and the agent API paths."""
    server = _Server(source)
    app = web.Application()
    for version in (3, 4):
        base = f"/v{version}/{{id}}"
        app.router.add_get(base, server.container_handler(version))
        app.router.add_get(f"{base}/task", server.task_handler(version, tags=False))
        app.router.add_get(f"{base}/taskWithTags", server.task_handler(version, tags=True))
        app.router.add_get(f"{base}/stats", server.container_stats_handler(version))
        app.router.add_get(f"{base}/task/stats", server.task_stats_handler(version))
    app.router.add_get("/api/{id}/task-protection/v1/state", server.get_task_protection)
    app.router.add_put("/api/{id}/task-protection/v1/state", server.put_task_protection)
    return app


async def start_metadata_server(source: MetadataSource, *, host: str, port: int) -> web.AppRunner:
    """Serve `metadata_app(source)` on host:port; stop it with `await runner.cleanup()`."""
    runner = web.AppRunner(metadata_app(source), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def _json(status: int, body: Any) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body, separators=(",", ":")), content_type="application/json"
    )


class _Server:
    def __init__(self, source: MetadataSource) -> None:
        self.source = source

    def container_handler(self, version: int) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            endpoint_id = request.match_info["id"]
            found = await self.source.lookup(endpoint_id)
            if found is None:
                status = 404 if version == 4 else 500
                return _json(
                    status, f"V{version} container metadata handler: {_NO_CONTAINER.format(endpoint_id)}"
                )
            return _json(200, render_container(found[1], version=version))

        return handle

    def task_handler(self, version: int, *, tags: bool) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            endpoint_id = request.match_info["id"]
            found = await self.source.lookup(endpoint_id)
            if found is None:
                status = 404 if version == 4 else 500
                return _json(status, f"V{version} task metadata handler: {_NO_TASK.format(endpoint_id)}")
            task = found[0]
            if not tags:
                return _json(200, render_task(task, version=version))
            errors: list[dict[str, Any]] = []
            instance_tags = None
            if task.container_instance_arn:
                instance_tags = await self._tags(task.container_instance_arn, "ContainerInstanceTags", errors)
            task_tags = await self._tags(task.task_arn, "TaskTags", errors)
            doc = render_task(
                task,
                version=version,
                task_tags=task_tags,
                container_instance_tags=instance_tags,
                errors=errors if version >= 4 else None,
            )
            return _json(200, doc)

        return handle

    async def _tags(self, arn: str, field: str, errors: list[dict[str, Any]]) -> Mapping[str, str] | None:
        try:
            return await self.source.resource_tags(arn)
        except TagsError as exc:
            error: dict[str, Any] = {"ErrorField": field}
            for key, value in (
                ("ErrorCode", exc.code),
                ("ErrorMessage", exc.message),
                ("StatusCode", exc.status_code),
                ("RequestId", exc.request_id),
                ("ResourceARN", arn),
            ):
                if value:
                    error[key] = value
            errors.append(error)
            return None

    def container_stats_handler(self, version: int) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            endpoint_id = request.match_info["id"]
            found = await self.source.lookup(endpoint_id)
            if found is None:
                status = 404 if version == 4 else 400
                return _json(status, f"V{version} container stats handler: {_NO_TASK.format(endpoint_id)}")
            docker_id = found[1].docker_id
            stats = await self.source.stats(docker_id) if docker_id else None
            if stats is None:
                return _json(500, f"Unable to get container stats for: {docker_id}")
            return _json(200, _versioned_stats(stats, version))

        return handle

    def task_stats_handler(self, version: int) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            endpoint_id = request.match_info["id"]
            found = await self.source.lookup(endpoint_id)
            if found is None:
                status = 404 if version == 4 else 400
                return _json(status, f"V{version} task stats handler: {_NO_TASK.format(endpoint_id)}")
            result: dict[str, Any] = {}
            for container in found[0].containers:
                if container.docker_id:
                    stats = await self.source.stats(container.docker_id)
                    result[container.docker_id] = None if stats is None else _versioned_stats(stats, version)
            return _json(200, result)

        return handle

    # -- task protection: answered as the agent does for a task without task role credentials ---------

    async def get_task_protection(self, request: web.Request) -> web.Response:
        found = await self.source.lookup(request.match_info["id"])
        if found is None:
            return _protection_error(
                404, "ResourceNotFoundException", "Failed to find a task for the request"
            )
        return _no_task_credentials(found[0].task_arn)

    async def put_task_protection(self, request: web.Request) -> web.Response:
        body = _decode_protection_request(await request.text())
        if body is None:
            return _protection_error(
                400, "InvalidParameterException", "UpdateTaskProtection: failed to decode request"
            )
        found = await self.source.lookup(request.match_info["id"])
        if found is None:
            return _protection_error(
                404, "ResourceNotFoundException", "Failed to find a task for the request"
            )
        task_arn = found[0].task_arn
        if body.get("protectionenabled") is None:
            return _protection_error(
                400,
                "InvalidParameterException",
                "Invalid request: does not contain 'ProtectionEnabled' field",
                task_arn,
            )
        return _no_task_credentials(task_arn)


def _versioned_stats(stats: Mapping[str, Any], version: int) -> Mapping[str, Any]:
    if version >= 4 or "network_rate_stats" not in stats:
        return stats
    return {k: v for k, v in stats.items() if k != "network_rate_stats"}


def _decode_protection_request(text: str) -> dict[str, Any] | None:
    """Decode like the agent's strict JSON decoder: an object with only ProtectionEnabled (bool) and
    ExpiresInMinutes (int), field names matched case-insensitively; None when it does not decode."""
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    body: dict[str, Any] = {}
    for key, value in raw.items():
        folded = key.lower()
        if folded == "protectionenabled" and (value is None or isinstance(value, bool)):
            body[folded] = value
        elif folded == "expiresinminutes" and (
            value is None or (isinstance(value, int) and not isinstance(value, bool))
        ):
            body[folded] = value
        else:
            return None
    return body


def _protection_error(status: int, code: str, message: str, arn: str = "") -> web.Response:
    error: dict[str, str] = {"Arn": arn} if arn else {}
    error.update({"Code": code, "Message": message})
    return _json(status, {"error": error})


def _no_task_credentials(task_arn: str) -> web.Response:
    return _protection_error(
        403,
        "AccessDeniedException",
        "Invalid Request: no task IAM role credentials available for task",
        task_arn,
    )
