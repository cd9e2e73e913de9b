"""The protocol seam: plain request/response records and the `WireProtocol` interface."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.model import OperationModel, ServiceModel, Shape

from dockyard.core.errors import AwsError

__all__ = ["HttpRequest", "HttpResponse", "WireProtocol", "serialize_shape"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class WireProtocol(Protocol):
    def operation_name(self, request: HttpRequest, service: ServiceModel) -> str:
        """The operation a request names; raises `UnknownOperationException`."""
        ...

    def parse(self, request: HttpRequest, operation: OperationModel) -> dict[str, Any]: ...

    def serialize(
        self, result: Mapping[str, Any], operation: OperationModel, *, request_id: str
    ) -> HttpResponse: ...

    def serialize_error(self, error: AwsError, service: ServiceModel, *, request_id: str) -> HttpResponse: ...


def serialize_shape(shape: Shape, value: Any, scalar: Callable[[Shape, Any], Any]) -> Any:
    """`value` as an output `shape` says: structures keep only their modelled, non-None members,
    lists and maps are walked, and each scalar goes through `scalar` (the protocol's encoding of
    timestamps, blobs, numbers)."""
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            item = value.get(name)
            if item is not None:
                out[name] = serialize_shape(member, item, scalar)
        return out
    if kind == "list":
        return [serialize_shape(shape.member, item, scalar) for item in value]
    if kind == "map":
        return {k: serialize_shape(shape.value, v, scalar) for k, v in value.items()}
    return scalar(shape, value)
