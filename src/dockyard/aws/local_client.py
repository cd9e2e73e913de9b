"""In-process calls from one service to another's operations, as an SDK client would make them.

Services never read each other's tables (DESIGN.md); when Auto Scaling launches an instance it
calls EC2's `RunInstances`, and the server's instance launcher calls ECS's
`DeregisterContainerInstance`. `LocalClient` makes such a call without HTTP but with everything
else a client gets: the request is validated against the operation's input shape, the handler
runs with a request context for the caller, errors are the service's `AwsError`s, and the
response holds only the members of the output shape (no internal document fields).

    ec2 = LocalClient(ec2_api.bind(ec2_deps), principal="autoscaling.amazonaws.com")
    reservation = await ec2.call("RunInstances", {...}, account_id=..., region=...)
"""

from __future__ import annotations

import uuid
from typing import Any

from botocore.model import Shape

from dockyard.aws.dispatch import BoundApi, RequestContext
from dockyard.aws.protocol.validate import validate

__all__ = ["LocalClient", "SERVICE_PRINCIPAL_SUFFIX"]

# Principals of AWS services calling on a user's behalf end with this (they may, for example,
# set the `aws:` tags a user may not).
SERVICE_PRINCIPAL_SUFFIX = ".amazonaws.com"


class LocalClient:
    def __init__(self, api: BoundApi[Any], *, principal: str) -> None:
        self.api = api
        self.principal = principal

    async def call(
        self, operation: str, request: dict[str, Any], *, account_id: str, region: str
    ) -> dict[str, Any]:
        model = self.api.operation_model(operation)
        ctx = RequestContext(
            account_id=account_id,
            region=region,
            request_id=str(uuid.uuid4()),
            principal=self.principal,
            service=self.api.api.service_name,
            operation=operation,
        )
        params = validate(model.input_shape, request)
        result = await self.api.invoke(ctx, params)
        if model.output_shape is None:
            return {}
        projected = _project(model.output_shape, result)
        return projected if isinstance(projected, dict) else {}


def _project(shape: Shape, value: Any) -> Any:
    """`value` with only the members `shape` models (recursively)."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return value
        return {
            name: _project(member, value[name])
            for name, member in shape.members.items()
            if value.get(name) is not None
        }
    if kind == "list" and isinstance(value, list):
        return [_project(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _project(shape.value, v) for k, v in value.items()}
    return value
