"""The front door for every AWS API: route a request to (service, operation) and answer it.

```
aiohttp request -> HttpRequest -> which service? (X-Amz-Target prefix)
   -> who/where? (SigV4 scope -> account, region) -> parse + validate (protocol)
   -> BoundApi.invoke -> serialize | serialize_error -> aiohttp response
```
Nothing a client sends can produce an unhandled exception here: client mistakes become the AWS
error for them, and a bug becomes a 500 with the request id logged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from dockyard.aws.dispatch import BoundApi, RequestContext
from dockyard.aws.errors import modeled
from dockyard.aws.protocol.base import HttpRequest, HttpResponse, WireProtocol
from dockyard.aws.protocol.cbor import CborProtocol
from dockyard.aws.protocol.json import JsonProtocol, target_prefix
from dockyard.aws.protocol.query import Ec2Protocol, QueryProtocol, form_params
from dockyard.aws.sigv4 import credential_scope
from dockyard.core.errors import AwsError, InternalFailure, ValidationException

__all__ = ["Gateway", "DEFAULT_ACCOUNT", "DEFAULT_REGION"]

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
_SERVED = ("json", "query", "ec2", "smithy-rpc-v2-cbor")


class Gateway:
    """Routes awsJson requests by `X-Amz-Target`, query/ec2 requests by the SigV4 signing name
    (or, unsigned, by the `Version` parameter) and RPC v2 CBOR requests by their path."""

    def __init__(self, apis: Iterable[BoundApi[Any]], *, default_region: str = DEFAULT_REGION) -> None:
        self._json = JsonProtocol()
        self._query = QueryProtocol()
        self._ec2 = Ec2Protocol()
        self._by_target: dict[str, BoundApi[Any]] = {}
        self._by_signing_name: dict[str, BoundApi[Any]] = {}
        self._by_version: dict[str, BoundApi[Any]] = {}
        self._cbor = CborProtocol()
        self._by_rpc_v2: dict[str, BoundApi[Any]] = {}
        for api in apis:
            metadata = api.model.metadata
            # A model may list several protocols (CloudWatch: rpc-v2-cbor, json, query): clients of
            # different ages send each, so every one Dockyard speaks is served.
            protocols = [p for p in metadata.get("protocols") or [metadata["protocol"]] if p in _SERVED]
            if not protocols:
                raise ValueError(
                    f"protocol {metadata['protocol']!r} of {api.model.service_name} is not served yet"
                )
            for protocol in protocols:
                if protocol == "json":
                    self._by_target[target_prefix(api.model)] = api
                elif protocol == "smithy-rpc-v2-cbor":
                    self._by_rpc_v2[target_prefix(api.model)] = api
                else:
                    self._by_signing_name[metadata.get("signingName", metadata["endpointPrefix"])] = api
                    self._by_version[metadata["apiVersion"]] = api
        self._default_region = default_region

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/", self.handle),
            web.get("/", self.handle),
            web.post("/service/{service}/operation/{operation}", self.handle_rpc_v2),
        ]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        body = await request.read()
        http = HttpRequest(request.method, request.path, request.headers, body, request.query)
        target = request.headers.get("X-Amz-Target")
        if target is None:
            return await self._handle_query(http, request_id)
        api = self._by_target.get(target.rpartition(".")[0])
        if api is None:
            body = b'{"__type":"UnknownOperationException","message":""}'
            headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": request_id}
            return _to_aiohttp(HttpResponse(400, body, headers))
        return _to_aiohttp(await self.call(api, self._json, http, request_id))

    async def handle_rpc_v2(self, request: web.Request) -> web.StreamResponse:
        """Smithy RPC v2 CBOR: the service's target prefix and the operation are in the path."""
        request_id = str(uuid.uuid4())
        body = await request.read()
        http = HttpRequest(request.method, request.path, request.headers, body, request.query)
        api = self._by_rpc_v2.get(request.match_info["service"])
        if api is None:
            return web.Response(status=404, text="Dockyard: no AWS API matches this request.\n")
        return _to_aiohttp(await self.call(api, self._cbor, http, request_id))

    async def _handle_query(self, http: HttpRequest, request_id: str) -> web.StreamResponse:
        scope = credential_scope(http.headers, http.query)
        api = self._by_signing_name.get(scope.service) if scope else None
        if api is None:
            try:
                version = form_params(http).get("Version", "")
            except AwsError:
                version = ""
            api = self._by_version.get(version)
        if api is None:
            return web.Response(status=404, text="Dockyard: no AWS API matches this request.\n")
        protocol = self._ec2 if api.model.metadata["protocol"] == "ec2" else self._query
        return _to_aiohttp(await self.call(api, protocol, http, request_id))

    async def call(
        self, api: BoundApi[Any], protocol: WireProtocol, http: HttpRequest, request_id: str
    ) -> HttpResponse:
        try:
            name = protocol.operation_name(http, api.model)
            operation = api.operation_model(name)
            scope = credential_scope(http.headers, http.query)
            ctx = RequestContext(
                account_id=DEFAULT_ACCOUNT,
                region=scope.region if scope else self._default_region,
                request_id=request_id,
                principal=scope.access_key if scope else "anonymous",
                service=api.api.service_name,
                operation=name,
            )
            params = protocol.parse(http, operation)
            result = await api.invoke(ctx, params)
            return protocol.serialize(result, operation, request_id=request_id)
        except AwsError as error:
            error = _validation_error(api, error)
            return protocol.serialize_error(error, api.model, request_id=request_id)
        except Exception:
            log.exception("internal error handling request %s", request_id)
            return protocol.serialize_error(_server_error(api), api.model, request_id=request_id)


#: Services whose front end words input validation failures with another modelled error
#: (CloudWatch Logs: "InvalidParameterException: 1 validation error detected: ...").
_VALIDATION_ERRORS = {"logs": "InvalidParameterException"}


def _validation_error(api: BoundApi[Any], error: AwsError) -> AwsError:
    name = _VALIDATION_ERRORS.get(api.api.service_name)
    if name is None or not isinstance(error, ValidationException):  # the model-driven checks only
        return error
    return modeled(api.api.service_name, name)(error.message)


def _server_error(api: BoundApi[Any]) -> AwsError:
    """The service's own 500 error when its model has one (ECS: ServerException)."""
    if "ServerException" in api.model.shape_names:

        class ServerException(InternalFailure):
            code = "ServerException"

        return ServerException("An internal error occurred.")
    return InternalFailure("An internal error occurred.")


def _to_aiohttp(response: HttpResponse) -> web.Response:
    return web.Response(status=response.status, body=response.body, headers=response.headers)
