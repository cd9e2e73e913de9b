"""Round trips through botocore for the query and ec2 protocols, over every operation of the services
that use them (EC2, Auto Scaling, ELBv2, IAM, STS, SNS)."""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.model import Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from dockyard.aws.models import service_model
from dockyard.aws.protocol.base import HttpRequest
from dockyard.aws.protocol.query import Ec2Protocol, QueryProtocol
from dockyard.core.errors import AwsError
from tests.unit.test_protocol_json import normalize

SERVICES = ("ec2", "autoscaling", "elbv2", "iam", "sts", "sns")


def sample(shape: Shape, depth: int = 0) -> Any:
    kind = shape.type_name
    if kind == "structure":
        required = set(shape.required_members)
        return {
            name: sample(member, depth + 1)
            for name, member in shape.members.items()
            if depth <= 4 or name in required
        }
    if kind == "list":
        return [sample(shape.member, depth + 1)] if depth <= 4 else []
    if kind == "map":
        return {"k": sample(shape.value, depth + 1)} if depth <= 4 else {}
    if kind == "string":
        return shape.enum[0] if shape.enum else "v" * max(1, shape.metadata.get("min", 1))
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


def pruned(value: Any) -> Any:
    """Empty lists and structures are not on the wire in these protocols: drop them on both sides."""
    if isinstance(value, dict):
        items = {k: pruned(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [v for v in (pruned(v) for v in value) if v not in ({}, [])]
    return value


def operations() -> list[tuple[str, str]]:
    return [(svc, op) for svc in SERVICES for op in sorted(service_model(svc).operation_names)]


def protocol_for(service: str) -> QueryProtocol:
    return Ec2Protocol() if service_model(service).metadata["protocol"] == "ec2" else QueryProtocol()


@pytest.mark.parametrize(("service", "name"), operations())
def test_requests_round_trip(service: str, name: str) -> None:
    model = service_model(service)
    operation = model.operation_model(name)
    params = sample(operation.input_shape) if operation.input_shape is not None else {}
    protocol_name = model.metadata["protocol"]
    wire = create_serializer(protocol_name).serialize_to_request(params, operation)
    request = HttpRequest("POST", "/", wire["headers"], urlencode(wire["body"]).encode())
    protocol = protocol_for(service)
    assert protocol.operation_name(request, model) == name
    assert pruned(normalize(protocol.decode(request, operation))) == pruned(normalize(params))


@pytest.mark.parametrize(("service", "name"), operations())
def test_responses_round_trip(service: str, name: str) -> None:
    model = service_model(service)
    operation = model.operation_model(name)
    if operation.output_shape is None:
        return
    result = sample(operation.output_shape)
    response = protocol_for(service).serialize(result, operation, request_id="rid-1")
    parsed = create_parser(model.metadata["protocol"]).parse(
        {"status_code": 200, "headers": response.headers, "body": response.body}, operation.output_shape
    )
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid-1"
    assert normalize(parsed) == normalize(result)


class TargetGroupNotFound(AwsError):
    code = "TargetGroupNotFoundException"


@pytest.mark.parametrize("service", ["elbv2", "ec2"])
def test_errors_parse_in_botocore_with_the_modelled_code(service: str) -> None:
    model = service_model(service)
    operation = model.operation_model(sorted(model.operation_names)[0])
    error = TargetGroupNotFound("no such group")
    response = protocol_for(service).serialize_error(error, model, request_id="rid-2")
    parsed = create_parser(model.metadata["protocol"]).parse(
        {"status_code": response.status, "headers": response.headers, "body": response.body},
        operation.output_shape,
    )
    expected = "TargetGroupNotFound" if service == "elbv2" else "TargetGroupNotFoundException"
    assert parsed["Error"]["Code"] == expected
    assert parsed["Error"]["Message"] == "no such group"
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-2"


def test_unknown_action() -> None:
    model = service_model("autoscaling")
    with pytest.raises(AwsError) as caught:
        QueryProtocol().operation_name(HttpRequest("POST", "/", {}, b"Action=Nope&Version=2011-01-01"), model)
    response = QueryProtocol().serialize_error(caught.value, model, request_id="r")
    assert b"<Code>InvalidAction</Code>" in response.body


def test_bad_integer_is_a_validation_error() -> None:
    model = service_model("autoscaling")
    operation = model.operation_model("DescribeAutoScalingGroups")
    request = HttpRequest(
        "POST", "/", {}, b"Action=DescribeAutoScalingGroups&Version=2011-01-01&MaxRecords=ten"
    )
    with pytest.raises(AwsError) as caught:
        QueryProtocol().parse(request, operation)
    response = QueryProtocol().serialize_error(caught.value, model, request_id="r")
    assert b"<Code>ValidationError</Code>" in response.body
