"""awsJson 1.0 / 1.1: `POST /` with `X-Amz-Target: <targetPrefix>.<Operation>` and a JSON body.

Output is serialized from the operation's output shape: only modelled members are written, so
internal fields of stored documents never leak, timestamps are epoch numbers and blobs base64.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from dockyard.aws.protocol.base import HttpRequest, HttpResponse, serialize_shape
from dockyard.aws.protocol.validate import validate
from dockyard.core.errors import AwsError, SerializationException, UnknownOperationException

__all__ = ["JsonProtocol", "target_prefix"]


def target_prefix(service: ServiceModel) -> str:
    return str(service.metadata["targetPrefix"])


class JsonProtocol:
    """The awsJson protocol family (the `jsonVersion` comes from each service's metadata)."""

    def operation_name(self, request: HttpRequest, service: ServiceModel) -> str:
        target = request.headers.get("X-Amz-Target", "")
        prefix, _, name = target.rpartition(".")
        if prefix != target_prefix(service) or name not in service.operation_names:
            raise UnknownOperationException()
        return name

    def parse(self, request: HttpRequest, operation: OperationModel) -> dict[str, Any]:
        body = request.body.strip()
        if not body:
            data: Any = {}
        else:
            try:
                data = json.loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise SerializationException("Malformed JSON in request body.") from exc
        return validate(operation.input_shape, data)

    def serialize(
        self, result: Mapping[str, Any], operation: OperationModel, *, request_id: str
    ) -> HttpResponse:
        shape = operation.output_shape
        payload = serialize_shape(shape, result, _scalar) if shape is not None else {}
        return HttpResponse(200, _dumps(payload), self._headers(operation.service_model, request_id))

    def serialize_error(self, error: AwsError, service: ServiceModel, *, request_id: str) -> HttpResponse:
        body: dict[str, Any] = {"__type": error.code, "message": error.message}
        body.update(error.fields)
        headers = self._headers(service, request_id)
        query_code = _query_compatible_code(service, error)
        if query_code:
            fault = "Sender" if error.sender_fault else "Receiver"
            headers["x-amzn-query-error"] = f"{query_code};{fault}"
        return HttpResponse(error.status, _dumps(body), headers)

    @staticmethod
    def _headers(service: ServiceModel, request_id: str) -> dict[str, str]:
        version = service.metadata.get("jsonVersion", "1.1")
        return {"Content-Type": f"application/x-amz-json-{version}", "x-amzn-RequestId": request_id}


def _query_compatible_code(service: ServiceModel, error: AwsError) -> str | None:
    if "awsQueryCompatible" not in service.metadata:
        return None
    try:
        shape = service.shape_for(error.code)
    except Exception:
        return None
    code = shape.metadata.get("error", {}).get("code")
    return str(code) if code else None


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), default=_default).encode()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def _scalar(shape: Shape, value: Any) -> Any:
    """Timestamps as epoch seconds, blobs as base64 (awsJson)."""
    if shape.type_name == "timestamp":
        return value.timestamp() if isinstance(value, datetime) else value
    if shape.type_name == "blob":
        return base64.b64encode(value).decode() if isinstance(value, bytes) else value
    return value
