"""The protocol seam: plain request/response records and the `WireProtocol` interface."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.model import OperationModel, ServiceModel

from dockyard.core.errors import AwsError

__all__ = ["HttpRequest", "HttpResponse", "WireProtocol"]


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
