"""The query and ec2 protocols: form-encoded `Action=...&Version=...` requests, XML responses.

Request parameters are flattened with dotted names (`Targets.member.1.Id` in query,
`Filter.1.Value.1` in ec2); `parse` walks the input shape and rebuilds the nested request, typed
(integers, booleans, ISO-8601 timestamps, base64 blobs), then applies the same constraint
validation as the JSON protocol. Responses are XML written from the output shape:

    query: <OpResponse xmlns=ns><OpResult>...</OpResult><ResponseMetadata><RequestId/>...
    ec2:   <OpResponse xmlns=ns><requestId>...</requestId>...</OpResponse>

Errors carry the shape's `error.code` (not its name): `<ErrorResponse><Error><Type>Sender</Type>
<Code>TargetGroupNotFound</Code>...` in query, `<Response><Errors><Error>...</Errors><RequestID>`
in ec2. Generic validation errors use each protocol's own code (`ValidationError`,
`InvalidParameterValue`).
"""

from __future__ import annotations

import base64
import binascii
import datetime
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from botocore.model import OperationModel, ServiceModel, Shape

from dockyard.aws.protocol.base import HttpRequest, HttpResponse
from dockyard.aws.protocol.validate import validate
from dockyard.core.errors import (
    AwsError,
    SerializationException,
    UnknownOperationException,
    ValidationException,
)

__all__ = ["QueryProtocol", "Ec2Protocol", "form_params"]


def form_params(request: HttpRequest) -> dict[str, str]:
    """Parameters of a query request: the form body, or the URL query string for GET."""
    params = dict(request.query)
    if request.body:
        try:
            params.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise SerializationException("The request body is not valid UTF-8.") from exc
    return params


class _Flat:
    """The flat parameter map plus the set of every dotted prefix in it, for list/map detection."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = params
        self.prefixes: set[str] = set()
        for name in params:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                self.prefixes.add(".".join(parts[:i]))

    def has(self, prefix: str) -> bool:
        return prefix in self.prefixes


class QueryProtocol:
    ec2 = False
    _generic_codes = {
        "ValidationException": "ValidationError",
        "SerializationException": "MalformedQueryString",
        "UnknownOperationException": "InvalidAction",
    }

    # -- requests ---------------------------------------------------------------------------------

    def operation_name(self, request: HttpRequest, service: ServiceModel) -> str:
        action = form_params(request).get("Action", "")
        if action not in service.operation_names:
            raise UnknownOperationException(f"The action {action} is not valid for this web service.")
        return action

    def parse(self, request: HttpRequest, operation: OperationModel) -> dict[str, Any]:
        return validate(operation.input_shape, self.decode(request, operation))

    def decode(self, request: HttpRequest, operation: OperationModel) -> dict[str, Any]:
        """The typed, nested request before constraint validation."""
        shape = operation.input_shape
        if shape is None:
            return {}
        return self._structure(shape, _Flat(form_params(request)), "")

    def _name(self, shape: Shape, default: str) -> str:
        if self.ec2:
            if "queryName" in shape.serialization:
                return str(shape.serialization["queryName"])
            name = shape.serialization.get("name")
            return str(name[0].upper() + name[1:]) if name else default
        return str(shape.serialization.get("name", default))

    def _structure(self, shape: Shape, flat: _Flat, prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for member_name, member in shape.members.items():
            name = self._name(member, member_name)
            full = f"{prefix}.{name}" if prefix else name
            if flat.has(full):
                out[member_name] = self._value(member, flat, full)
        return out

    def _value(self, shape: Shape, flat: _Flat, prefix: str) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self._structure(shape, flat, prefix)
        if kind == "list":
            return self._list(shape, flat, prefix)
        if kind == "map":
            return self._map(shape, flat, prefix)
        raw = flat.params.get(prefix)
        if raw is None:
            return None
        return _scalar(shape, raw, prefix)

    def _list(self, shape: Shape, flat: _Flat, prefix: str) -> list[Any]:
        if flat.params.get(prefix) == "" and not flat.has(prefix + ".1") and not flat.has(prefix + ".member"):
            return []
        if self.ec2:
            base = prefix
        elif shape.serialization.get("flattened"):
            base = prefix
            if shape.member.serialization.get("name"):
                base = ".".join(prefix.split(".")[:-1] + [self._name(shape.member, "")])
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items = []
        index = 1
        while flat.has(f"{base}.{index}"):
            items.append(self._value(shape.member, flat, f"{base}.{index}"))
            index += 1
        return items

    def _map(self, shape: Shape, flat: _Flat, prefix: str) -> dict[str, Any]:
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = self._name(shape.key, "key")
        value_name = self._name(shape.value, "value")
        out: dict[str, Any] = {}
        index = 1
        while flat.has(f"{base}.{index}"):
            key = self._value(shape.key, flat, f"{base}.{index}.{key_name}")
            out[key] = self._value(shape.value, flat, f"{base}.{index}.{value_name}")
            index += 1
        return out

    # -- responses --------------------------------------------------------------------------------

    def serialize(
        self, result: Mapping[str, Any], operation: OperationModel, *, request_id: str
    ) -> HttpResponse:
        name = operation.name
        ns = operation.service_model.metadata.get("xmlNamespace", "")
        shape = operation.output_shape
        body = self._members(shape, result) if shape is not None else ""
        if self.ec2:
            xml = f'<{name}Response xmlns="{ns}"><requestId>{request_id}</requestId>{body}</{name}Response>'
        else:
            wrapper = shape.serialization.get("resultWrapper", f"{name}Result") if shape is not None else None
            inner = f"<{wrapper}>{body}</{wrapper}>" if wrapper else ""
            xml = (
                f'<{name}Response xmlns="{ns}">{inner}<ResponseMetadata><RequestId>{request_id}'
                f"</RequestId></ResponseMetadata></{name}Response>"
            )
        return HttpResponse(200, _document(xml), {"Content-Type": "text/xml", "x-amzn-RequestId": request_id})

    def serialize_error(self, error: AwsError, service: ServiceModel, *, request_id: str) -> HttpResponse:
        code = self._error_code(error, service)
        message = escape(error.message)
        if self.ec2:
            xml = (
                f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>"
            )
        else:
            ns = service.metadata.get("xmlNamespace", "")
            fault = "Sender" if error.sender_fault else "Receiver"
            xml = (
                f'<ErrorResponse xmlns="{ns}"><Error><Type>{fault}</Type><Code>{code}</Code>'
                f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            )
        return HttpResponse(
            error.status, _document(xml), {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
        )

    def _error_code(self, error: AwsError, service: ServiceModel) -> str:
        if error.code in self._generic_codes and error.code not in service.shape_names:
            return self._generic_codes[error.code]
        if error.code in service.shape_names:
            code = service.shape_for(error.code).metadata.get("error", {}).get("code")
            if code:
                return str(code)
        return error.code

    def _members(self, shape: Shape, value: Mapping[str, Any]) -> str:
        parts = []
        for member_name, member in shape.members.items():
            item = value.get(member_name)
            if item is None:
                continue
            name = member.serialization.get("name", member_name)
            parts.append(self._element(member, item, name))
        return "".join(parts)

    def _element(self, shape: Shape, value: Any, name: str) -> str:
        kind = shape.type_name
        if kind == "structure":
            return f"<{name}>{self._members(shape, value)}</{name}>"
        if kind == "list":
            member_name = shape.member.serialization.get("name", "item" if self.ec2 else "member")
            if shape.serialization.get("flattened"):
                return "".join(self._element(shape.member, item, name) for item in value)
            inner = "".join(self._element(shape.member, item, member_name) for item in value)
            return f"<{name}>{inner}</{name}>"
        if kind == "map":
            key_name = shape.key.serialization.get("name", "key")
            value_name = shape.value.serialization.get("name", "value")
            entries = "".join(
                "<entry>"
                + self._element(shape.key, k, key_name)
                + self._element(shape.value, v, value_name)
                + "</entry>"
                for k, v in value.items()
            )
            return f"<{name}>{entries}</{name}>"
        return f"<{name}>{escape(_text(shape, value))}</{name}>"


class Ec2Protocol(QueryProtocol):
    ec2 = True
    _generic_codes = {
        "ValidationException": "InvalidParameterValue",
        "SerializationException": "InvalidParameterValue",
        "UnknownOperationException": "InvalidAction",
    }


def _document(xml: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + xml).encode()


def _text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        if isinstance(value, (int, float)):
            value = datetime.datetime.fromtimestamp(value, datetime.UTC)
        if isinstance(value, datetime.datetime):
            return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return str(value)
    if kind == "blob":
        return base64.b64encode(value).decode() if isinstance(value, bytes) else str(value)
    return str(value)


def _scalar(shape: Shape, raw: str, path: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(raw)
        except ValueError:
            raise ValidationException(
                f"1 validation error detected: Value '{raw}' at '{path}' failed to satisfy constraint: "
                "Member must be a number"
            ) from None
    if kind in ("float", "double"):
        try:
            return float(raw)
        except ValueError:
            raise ValidationException(
                f"1 validation error detected: Value '{raw}' at '{path}' failed to satisfy constraint: "
                "Member must be a number"
            ) from None
    if kind == "boolean":
        if raw.lower() not in ("true", "false"):
            raise ValidationException(
                f"1 validation error detected: Value '{raw}' at '{path}' failed to satisfy constraint: "
                "Member must be a boolean"
            )
        return raw.lower() == "true"
    if kind == "timestamp":
        try:
            return datetime.datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
        except ValueError:
            try:
                return float(raw)
            except ValueError:
                raise ValidationException(
                    f"1 validation error detected: Value '{raw}' at '{path}' failed to satisfy constraint: "
                    "Member must be a timestamp"
                ) from None
    if kind == "blob":
        try:
            return base64.b64decode(raw, validate=True)
        except binascii.Error:
            raise SerializationException(f"Invalid base64 value at '{path}'") from None
    return raw
