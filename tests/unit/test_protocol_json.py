"""Round trips through botocore itself: what botocore sends, we parse; what we send, botocore parses.

Every operation of the ECS model is exercised with a generated request and response that fill every
member (nested structures, lists, maps, timestamps, blobs), so the protocol code cannot drift from
the model.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from botocore.model import OperationModel, Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from dockyard.aws.models import service_model
from dockyard.aws.protocol.base import HttpRequest
from dockyard.aws.protocol.json import JsonProtocol

MODEL = service_model("ecs")


def sample(shape: Shape, depth: int = 0) -> Any:
    kind = shape.type_name
    if kind == "structure":
        required = set(shape.required_members)
        return {
            name: sample(member, depth + 1)
            for name, member in shape.members.items()
            if depth <= 6 or name in required
        }
    if kind == "list":
        return [sample(shape.member, depth + 1)] if depth <= 6 else []
    if kind == "map":
        return {"k": sample(shape.value, depth + 1)} if depth <= 6 else {}
    if kind == "string":
        return shape.enum[0] if shape.enum else "s" * max(1, shape.metadata.get("min", 1))
    if kind in ("integer", "long"):
        return max(1, shape.metadata.get("min", 1))
    if kind in ("float", "double"):
        return 1.5
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    if kind == "blob":
        return b"blob"
    raise AssertionError(kind)


def normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return value


OPERATIONS = sorted(MODEL.operation_names)


@pytest.mark.parametrize("name", OPERATIONS)
def test_requests_botocore_serializes_parse_to_the_same_values(name: str) -> None:
    operation: OperationModel = MODEL.operation_model(name)
    params = sample(operation.input_shape) if operation.input_shape is not None else {}
    wire = create_serializer("json").serialize_to_request(params, operation)
    request = HttpRequest("POST", "/", wire["headers"], wire["body"])
    protocol = JsonProtocol()
    assert protocol.operation_name(request, MODEL) == name
    assert normalize(protocol.parse(request, operation)) == normalize(params)


@pytest.mark.parametrize("name", OPERATIONS)
def test_responses_we_serialize_parse_in_botocore(name: str) -> None:
    operation = MODEL.operation_model(name)
    if operation.output_shape is None:
        return
    result = sample(operation.output_shape)
    response = JsonProtocol().serialize(result, operation, request_id="rid")
    parsed = create_parser("json").parse(
        {"status_code": response.status, "headers": response.headers, "body": response.body},
        operation.output_shape,
    )
    parsed.pop("ResponseMetadata", None)
    assert normalize(parsed) == normalize(result)
    assert response.headers["x-amzn-RequestId"] == "rid"


def test_internal_members_never_reach_the_wire() -> None:
    operation = MODEL.operation_model("DescribeClusters")
    body = {"clusters": [{"clusterName": "c", "dockyard": {"secret": 1}, "unknown": 2}]}
    response = JsonProtocol().serialize(body, operation, request_id="r")
    assert json.loads(response.body) == {"clusters": [{"clusterName": "c"}]}
