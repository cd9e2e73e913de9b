"""`POST /_dockyard/fargate-spot/interrupt`: reclaim Fargate Spot capacity, as AWS does when it
needs it back (services/ecs/fargate_spot.py has what an interruption does).

```
{"taskArn": "arn:aws:ecs:...:task/<cluster>/<id>"}          that task
{"taskArns": [...]}                                          those tasks
{"cluster": "name or ARN", "count": N, "region": "..."}      N of the cluster's Spot tasks
                                                             (RUNNING ones first, oldest first)
-> 200 {"tasks": [{"taskArn", "lastStatus", "desiredStatus", "stopCode", "stoppedReason"}]}
   400 bad request or not a Spot task, 404 no such task, 409 the task is already stopping
```
A cluster is looked for in the default account, in `region` (default: the server's).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dockyard.aws.gateway import DEFAULT_ACCOUNT
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.fargate_spot import SpotError, interrupt_tasks, spot_tasks
from dockyard.services.ecs.resources import cluster_name

__all__ = ["install", "PATH"]

PATH = "/_dockyard/fargate-spot/interrupt"
_SHOWN = ("taskArn", "clusterArn", "lastStatus", "desiredStatus", "stopCode", "stoppedReason")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


async def _arns(ecs: Ecs, body: dict[str, Any], region: str) -> list[str]:
    if body.get("taskArn"):
        return [str(body["taskArn"])]
    if body.get("taskArns"):
        arns = body["taskArns"]
        if not isinstance(arns, list) or not all(isinstance(a, str) for a in arns):
            raise SpotError(400, "taskArns must be a list of task ARNs.")
        return list(arns)
    if body.get("cluster"):
        count = body.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise SpotError(400, "count must be a positive integer.")
        return await spot_tasks(
            ecs,
            account_id=str(body.get("accountId") or DEFAULT_ACCOUNT),
            region=str(body.get("region") or region),
            cluster=cluster_name(str(body["cluster"])),
            count=count,
        )
    raise SpotError(400, 'Give "taskArn", "taskArns" or "cluster" (with "count").')


def install(app: web.Application, ecs: Ecs, *, region: str) -> None:
    async def interrupt(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return _error(400, "The body must be a JSON object.")
        try:
            tasks = await interrupt_tasks(ecs, await _arns(ecs, body, region))
        except SpotError as exc:
            return _error(exc.status, exc.message)
        return web.json_response({"tasks": [{k: t[k] for k in _SHOWN if k in t} for t in tasks]})

    app.router.add_post(PATH, interrupt)
