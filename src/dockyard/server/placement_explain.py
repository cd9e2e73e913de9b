"""`POST /_dockyard/placement/explain`: where RunTask would put a task, and why, without placing it.

The body is a RunTask request (JSON, RunTask's member names: `cluster`, `taskDefinition`, `count`,
`launchType` or `capacityProviderStrategy`, `placementConstraints`, `placementStrategy`, `group`,
`overrides`, `networkConfiguration`, ...). It is validated exactly as RunTask validates it
(botocore's input shape, then `task_request.launch_from_request`), so a bad request gets RunTask's
error, as `{"__type": ..., "message": ...}` with RunTask's status. Then the cluster's placement
state is read the way RunTask reads it, and for each copy the scheduler's `explain` reports every
instance, every check it passed or failed (with the numbers), the strategy keys of the feasible
ones and the instance chosen; the choice is reserved in memory only, so copy 2 sees copy 1, as
in RunTask. Nothing is written.

```
{"cluster": arn, "taskDefinition": arn, "launchType": "EC2", "count": 2, "group": "family:web",
 "demand": {...}, "strategies": ["binpack(memory)"],
 "copies": [{"copy": 1, "choice": arn | null, "candidates": 3, "feasible": 2, "best": [arn, ...],
             "outcome": {...}, "instances": [{"containerInstanceArn": ..., "ec2InstanceId": ...,
             "availabilityZone": ..., "instanceType": ..., "remaining": {"cpu": .., "memory": ..},
             "runningTasksCount": .., "candidate": true, "feasible": false, "checks": [...], ...}]}],
 "failures": [{"arn": ..., "reason": "RESOURCE:MEMORY"}],       # what RunTask would report
 "runTaskError": {"code": ..., "message": ...}}                 # only when RunTask would refuse
```
FARGATE requests are validated the same way; they have no instance placement (the Fargate pool
takes every task), which the answer says instead of listing instances.

The region is the request's SigV4 scope, else `?region=`, else the server's default region.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

from dockyard.aws.dispatch import RequestContext
from dockyard.aws.gateway import DEFAULT_ACCOUNT
from dockyard.aws.models import service_model
from dockyard.aws.protocol.json import JsonProtocol
from dockyard.aws.protocol.validate import validate
from dockyard.aws.sigv4 import credential_scope
from dockyard.core.errors import AwsError, SerializationException
from dockyard.scheduler import NO_INSTANCES, Placement, PlanContext, candidates, explain, place
from dockyard.services.ecs import errors
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.instance_resources import placement_demand, task_demand
from dockyard.services.ecs.task_launch import plan_context
from dockyard.services.ecs.task_request import Launch, launch_from_request

__all__ = ["install", "explain_run_task", "PATH"]

PATH = "/_dockyard/placement/explain"
MAX_COUNT = 10
_ZONE = "ecs.availability-zone"
_TYPE = "ecs.instance-type"


async def explain_run_task(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    """The placement explanation of a (validated) RunTask request; raises RunTask's errors."""
    count = request.get("count", 1)
    if not 1 <= count <= MAX_COUNT:
        raise errors.InvalidParameterException("count must be between 1 and 10.")
    launch = await launch_from_request(ecs, ctx, request)
    result: dict[str, Any] = {
        "cluster": launch.cluster["clusterArn"],
        "taskDefinition": launch.task_definition["taskDefinitionArn"],
        "launchType": launch.launch_type,
        "count": count,
        "group": launch.group,
    }
    if launch.capacity_provider is not None:
        result["capacityProvider"] = launch.capacity_provider
    if launch.launch_type == "FARGATE":
        result.update(_fargate(launch))
        return result
    _, plan = await plan_context(ecs, ctx, launch.cluster["clusterName"], launch.launch_type)
    demand = placement_demand(
        launch.task_definition,
        task_demand(launch.task_definition, launch.cpu, launch.memory),
        group=launch.group,
        launch_type=launch.launch_type,
        constraints=launch.constraints,
        zones=None if launch.subnets is None else {s.availability_zone for s in launch.subnets},
    )
    copies: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    no_instances = not candidates(plan, demand)
    for number in range(1, count + 1):
        report = explain(plan, demand, launch.strategies)
        # The same for every copy: said once, at the top.
        result["demand"] = report.pop("demand")
        result["strategies"] = report.pop("strategies")
        del report["group"]
        for entry in report["instances"]:
            entry.update(_facts(plan, entry["containerInstanceArn"]))
        chosen = None if no_instances else place(plan, demand, launch.strategies)
        if isinstance(chosen, Placement):
            copies.append({"copy": number, "choice": chosen.arn, **report})
        else:
            copies.append({"copy": number, "choice": None, **report})
            if chosen is not None:
                failures.append(chosen.failure())
    result["copies"] = copies
    result["failures"] = failures
    if no_instances:
        result["runTaskError"] = {"code": "InvalidParameterException", "message": NO_INSTANCES}
    return result


def _facts(plan: PlanContext, arn: str) -> dict[str, Any]:
    """What a reader needs to recognise an instance, as it stands before this copy."""
    node = plan.node(arn)
    assert node is not None
    view = node.view
    return {
        "ec2InstanceId": view.ec2_instance_id,
        "availabilityZone": view.attributes.get(_ZONE),
        "instanceType": view.attributes.get(_TYPE),
        "status": view.status,
        "agentConnected": view.agent_connected,
        "remaining": {"cpu": node.cpu, "memory": node.memory},
        "runningTasksCount": node.running,
    }


def _fargate(launch: Launch) -> dict[str, Any]:
    zones = sorted({s.availability_zone for s in launch.subnets or []})
    return {
        "demand": {"launchType": "FARGATE", "cpu": launch.cpu, "memory": launch.memory},
        "strategies": [],
        "copies": [],
        "failures": [],
        "fargate": {
            "note": "FARGATE tasks have no instance placement: the Fargate pool runs every task, "
            "each in the least used availability zone of its subnets.",
            "subnets": [s.subnet_id for s in launch.subnets or []],
            "availabilityZones": zones,
        },
    }


def install(app: web.Application, ecs: Ecs, *, default_region: str) -> None:
    """Serve `POST /_dockyard/placement/explain` on `app`."""
    protocol = JsonProtocol()
    model = service_model("ecs")
    run_task = model.operation_model("RunTask")

    async def handle(request: web.Request) -> web.Response:
        request_id = str(uuid.uuid4())
        scope = credential_scope(request.headers, request.query)
        ctx = RequestContext(
            account_id=DEFAULT_ACCOUNT,
            region=scope.region if scope else request.query.get("region") or default_region,
            request_id=request_id,
            principal=scope.access_key if scope else "anonymous",
            service="ecs",
            operation="RunTask",
        )
        try:
            body = await request.read()
            try:
                data = json.loads(body) if body.strip() else {}
            except (ValueError, UnicodeDecodeError) as exc:
                raise SerializationException("Malformed JSON in request body.") from exc
            params = validate(run_task.input_shape, data)
            result = await explain_run_task(ecs, ctx, params)
        except AwsError as error:
            answer = protocol.serialize_error(error, model, request_id=request_id)
            return web.Response(status=answer.status, body=answer.body, headers=answer.headers)
        return web.json_response(result, headers={"x-amzn-RequestId": request_id})

    app.router.add_post(PATH, handle)
