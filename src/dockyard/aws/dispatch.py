"""Operation registration and invocation.

Each AWS service has one `Api`: a static table from operation name to handler, checked against
the botocore model when the handler is registered. A handler is a plain coroutine function

    async def create_cluster(ecs: Ecs, ctx: RequestContext, request: dict) -> dict

that receives the service's dependencies (`ecs`), the request context and the whole validated
request, and returns the response members. `Api.bind(deps)` gives the `BoundApi` the gateway calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from botocore.model import OperationModel, ServiceModel

from dockyard.aws.models import service_model
from dockyard.core.errors import UnknownOperationException

__all__ = ["RequestContext", "Api", "BoundApi", "Handler"]

D = TypeVar("D")
Request = dict[str, Any]
Response = Mapping[str, Any]
Handler = Callable[[D, "RequestContext", Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class RequestContext:
    account_id: str
    region: str
    request_id: str
    principal: str
    service: str
    operation: str

    def with_operation(self, operation: str) -> RequestContext:
        return RequestContext(
            self.account_id, self.region, self.request_id, self.principal, self.service, operation
        )


class Api(Generic[D]):
    """The operations of one AWS service, as a static routing table."""

    def __init__(self, service_name: str) -> None:
        self.service_name = service_name
        self.model: ServiceModel = service_model(service_name)
        self.handlers: dict[str, Handler[D]] = {}

    def operation(self, name: str) -> Callable[[Handler[D]], Handler[D]]:
        if name not in self.model.operation_names:
            raise ValueError(f"{self.service_name} has no operation {name!r}")

        def register(handler: Handler[D]) -> Handler[D]:
            if name in self.handlers:
                raise ValueError(f"{self.service_name}.{name} registered twice")
            self.handlers[name] = handler
            return handler

        return register

    def bind(self, deps: D) -> BoundApi[D]:
        return BoundApi(self, deps)


class BoundApi(Generic[D]):
    def __init__(self, api: Api[D], deps: D) -> None:
        self.api = api
        self.deps = deps

    @property
    def model(self) -> ServiceModel:
        return self.api.model

    def operation_model(self, name: str) -> OperationModel:
        return self.api.model.operation_model(name)

    async def invoke(self, ctx: RequestContext, request: Request) -> Response:
        handler = self.api.handlers.get(ctx.operation)
        if handler is None:
            raise UnknownOperationException(
                f"The operation {ctx.operation} is not supported by Dockyard's {self.api.service_name} API."
            )
        return await handler(self.deps, ctx, request)
