"""Smithy RPC v2 CBOR: `POST /service/<Service>/operation/<Operation>` with CBOR bodies.

What the AWS SDKs that prefer it (Go v2, and botocore when told to) send, and what they expect:

```
request:  POST /service/GraniteServiceVersion20100801/operation/GetMetricData
          smithy-protocol: rpc-v2-cbor, Content-Type: application/cbor (absent with no input)
          body: a CBOR map of the input members; timestamps are tag 1 (epoch seconds), blobs are
          byte strings
response: 200, smithy-protocol: rpc-v2-cbor, Content-Type: application/cbor, a CBOR map of the
          output members (only modelled ones); errors carry `__type` and `message`, plus the
          `x-amzn-query-error: <Code>;Sender` header for awsQueryCompatible services
```
The service name in the path is the model's `targetPrefix`, as botocore writes it. Parsed input
goes through the same validation as every other protocol, so handlers never see the difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import cbor2
from botocore.model import OperationModel, ServiceModel, Shape

from dockyard.aws.protocol.base import HttpRequest, HttpResponse, serialize_shape
from dockyard.aws.protocol.validate import validate
from dockyard.core.errors import AwsError, SerializationException, UnknownOperationException

__all__ = ["CborProtocol", "rpc_v2_path", "CONTENT_TYPE"]

CONTENT_TYPE = "application/cbor"
_PREFIX = "/service/"


def rpc_v2_path(path: str) -> tuple[str, str] | None:
    """(service, operation) named by an RPC v2 path, or None for any other path."""
    if not path.startswith(_PREFIX):
        return None
    service, sep, operation = path[len(_PREFIX) :].partition("/operation/")
    if not sep or not service or not operation or "/" in operation:
        return None
    return service, operation


class CborProtocol:
    """The smithy-rpc-v2-cbor protocol."""

    def operation_name(self, request: HttpRequest, service: ServiceModel) -> str:
        named = rpc_v2_path(request.path)
        if named is None or named[0] != service.metadata.get("targetPrefix"):
            raise UnknownOperationException()
        if named[1] not in service.operation_names:
            raise UnknownOperationException(f"The operation {named[1]} is not valid for this service.")
        return named[1]

    def parse(self, request: HttpRequest, operation: OperationModel) -> dict[str, Any]:
        if not request.body:
            data: Any = {}
        else:
            try:
                data = cbor2.loads(request.body)
            except (cbor2.CBORDecodeError, ValueError, TypeError) as exc:
                raise SerializationException("Malformed CBOR in request body.") from exc
        return validate(operation.input_shape, _plain(data))

    def serialize(
        self, result: Mapping[str, Any], operation: OperationModel, *, request_id: str
    ) -> HttpResponse:
        shape = operation.output_shape
        payload = serialize_shape(shape, result, _scalar) if shape is not None else {}
        return HttpResponse(200, cbor2.dumps(payload), _headers(request_id))

    def serialize_error(self, error: AwsError, service: ServiceModel, *, request_id: str) -> HttpResponse:
        body: dict[str, Any] = {"__type": error.code, "message": error.message}
        body.update(error.fields)
        headers = _headers(request_id)
        query_code = _query_compatible_code(service, error)
        if query_code:
            fault = "Sender" if error.sender_fault else "Receiver"
            headers["x-amzn-query-error"] = f"{query_code};{fault}"
        return HttpResponse(error.status, cbor2.dumps(body), headers)


def _headers(request_id: str) -> dict[str, str]:
    return {"Content-Type": CONTENT_TYPE, "smithy-protocol": "rpc-v2-cbor", "x-amzn-RequestId": request_id}


def _query_compatible_code(service: ServiceModel, error: AwsError) -> str | None:
    if "awsQueryCompatible" not in service.metadata or error.code not in service.shape_names:
        return None
    code = service.shape_for(error.code).metadata.get("error", {}).get("code")
    return str(code) if code else None


def _plain(value: Any) -> Any:
    """CBOR's decoded values in the JSON-like form validation takes (datetimes to epoch seconds)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, cbor2.CBORTag):
        raise SerializationException(f"Unexpected CBOR tag {value.tag} in request body.")
    return value


def _scalar(shape: Shape, value: Any) -> Any:
    """Timestamps as CBOR tag 1 (epoch seconds), doubles as floats, blobs as byte strings."""
    kind = shape.type_name
    if kind == "timestamp":
        seconds = value.timestamp() if isinstance(value, datetime) else float(value)
        return cbor2.CBORTag(1, int(seconds) if seconds.is_integer() else seconds)
    if kind in ("double", "float"):
        return float(value)
    if kind == "blob":
        return value if isinstance(value, bytes) else str(value).encode()
    return value
