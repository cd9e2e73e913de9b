"""CloudWatch's three wire protocols round-trip through botocore itself.

Every CloudWatch operation is serialized by botocore's own RPC v2 CBOR, JSON and query
serializers and must parse to the same request; every response Dockyard writes must parse in
botocore's parser to the same values; errors reach botocore with the legacy query code.
"""

from __future__ import annotations

import datetime
from typing import Any

import cbor2
import pytest
from botocore.model import Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from dockyard.aws.models import service_model
from dockyard.aws.protocol.base import HttpRequest, WireProtocol
from dockyard.aws.protocol.cbor import CborProtocol, rpc_v2_path
from dockyard.aws.protocol.json import JsonProtocol
from dockyard.aws.protocol.query import QueryProtocol
from dockyard.services.cloudwatch.errors import InvalidParameterValueException, ResourceNotFound
from tests.unit.test_protocol_json import normalize

MODEL = service_model("cloudwatch")
OPERATIONS = sorted(MODEL.operation_names)
PROTOCOLS: dict[str, WireProtocol] = {
    "smithy-rpc-v2-cbor": CborProtocol(),
    "json": JsonProtocol(),
    "query": QueryProtocol(),
}


_PATTERNED = {"AnomalyDetectorMetricStat": "p99", "TemplateName": "aws-template"}


def sample(shape: Shape, depth: int = 0) -> Any:
    """A value filling every member of `shape`, within its constraints."""
    kind = shape.type_name
    if kind == "structure":
        return {name: sample(member, depth + 1) for name, member in shape.members.items()}
    if kind == "list":
        return [sample(shape.member, depth + 1)] if depth <= 6 else []
    if kind == "map":
        size = max(1, shape.metadata.get("min", 1))
        return {f"k{i}": sample(shape.value, depth + 1) for i in range(size)} if depth <= 6 else {}
    if kind == "string":
        if shape.name in _PATTERNED:
            return _PATTERNED[shape.name]
        return shape.enum[0] if shape.enum else "s" * max(1, shape.metadata.get("min", 1))
    if kind in ("integer", "long"):
        return max(10, shape.metadata.get("min", 1))
    if kind in ("float", "double"):
        return 1.5
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert kind == "blob", kind
    return b"blob"


def _request(wire: dict[str, Any]) -> HttpRequest:
    body = wire["body"]
    if isinstance(body, dict):  # the query serializer leaves the form as a dict
        from urllib.parse import urlencode

        body = urlencode(body).encode()
    return HttpRequest("POST", wire["url_path"], wire["headers"], body)


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
@pytest.mark.parametrize("name", OPERATIONS)
def test_requests_botocore_serializes_parse_to_the_same_values(protocol: str, name: str) -> None:
    operation = MODEL.operation_model(name)
    params = sample(operation.input_shape) if operation.input_shape is not None else {}
    wire = create_serializer(protocol).serialize_to_request(params, operation)
    request = _request(wire)
    ours = PROTOCOLS[protocol]
    assert ours.operation_name(request, MODEL) == name
    assert normalize(ours.parse(request, operation)) == normalize(params)


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
@pytest.mark.parametrize("name", OPERATIONS)
def test_responses_we_serialize_parse_in_botocore(protocol: str, name: str) -> None:
    operation = MODEL.operation_model(name)
    if operation.output_shape is None:
        return
    result = sample(operation.output_shape)
    response = PROTOCOLS[protocol].serialize(result, operation, request_id="rid")
    parsed = create_parser(protocol).parse(
        {"status_code": response.status, "headers": response.headers, "body": response.body},
        operation.output_shape,
    )
    parsed.pop("ResponseMetadata", None)
    assert normalize(parsed) == normalize(result)


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_errors_carry_the_legacy_query_code(protocol: str) -> None:
    error = InvalidParameterValueException("The value AWS/X for parameter Namespace is invalid.")
    response = PROTOCOLS[protocol].serialize_error(error, MODEL, request_id="rid")
    parsed = create_parser(protocol).parse(
        {"status_code": response.status, "headers": response.headers, "body": response.body},
        MODEL.operation_model("PutMetricData").output_shape,
    )
    assert response.status == 400
    assert parsed["Error"]["Code"] == "InvalidParameterValue"
    assert parsed["Error"]["Message"] == "The value AWS/X for parameter Namespace is invalid."


def test_cbor_error_body_and_headers() -> None:
    response = CborProtocol().serialize_error(ResourceNotFound("Alarm a not found"), MODEL, request_id="rid")
    assert response.status == 404
    assert response.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert response.headers["Content-Type"] == "application/cbor"
    assert response.headers["x-amzn-query-error"] == "ResourceNotFound;Sender"
    assert cbor2.loads(response.body) == {"__type": "ResourceNotFound", "message": "Alarm a not found"}


def test_cbor_timestamps_are_tag_1_epoch_seconds() -> None:
    operation = MODEL.operation_model("GetMetricStatistics")
    response = CborProtocol().serialize(
        {"Label": "CPU", "Datapoints": [{"Timestamp": 1_800_000_000.0, "Average": 1.5}]},
        operation,
        request_id="rid",
    )
    assert bytes([0xC1, 0x1A]) + (1_800_000_000).to_bytes(4, "big") in response.body  # tag 1, uint32
    decoded = cbor2.loads(response.body)
    assert decoded["Datapoints"][0]["Timestamp"] == datetime.datetime(2027, 1, 15, 8, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/service/GraniteServiceVersion20100801/operation/ListMetrics",
            ("GraniteServiceVersion20100801", "ListMetrics"),
        ),
        ("/service/X/operation/", None),
        ("/service/X/ListMetrics", None),
        ("/other", None),
    ],
)
def test_rpc_v2_paths(path: str, expected: tuple[str, str] | None) -> None:
    assert rpc_v2_path(path) == expected
