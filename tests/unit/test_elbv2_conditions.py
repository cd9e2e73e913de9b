"""ELBv2 rule conditions and health-check settings, checked without a server (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.core.errors import AwsError
from dockyard.services.elbv2.conditions import check_conditions
from dockyard.services.elbv2.health_checks import health_check
from dockyard.services.elbv2.target_health import health_of


def _code(call: Any) -> tuple[str, str]:
    with pytest.raises(AwsError) as caught:
        call()
    return caught.value.code, caught.value.message


@pytest.mark.parametrize(
    "host",
    ["example.com", "*.example.com", "api-?.example.com", "a.b.c.example.org", "*.example.*"],
)
def test_valid_host_headers(host: str) -> None:
    (condition,) = check_conditions([{"Field": "host-header", "HostHeaderConfig": {"Values": [host]}}])
    assert condition == {"Field": "host-header", "Values": [host], "HostHeaderConfig": {"Values": [host]}}


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("localhost", "at least one '.'"),
        ("example.c0m", "only have letters after the final '.'"),
        ("exa_mple.com", "not allowed"),
        ("a" * 126 + ".com", "too long"),
    ],
)
def test_invalid_host_headers(host: str, fragment: str) -> None:
    code, message = _code(lambda: check_conditions([{"Field": "host-header", "Values": [host]}]))
    assert code == "ValidationException" and fragment in message


def test_wildcards_and_values_are_counted_per_rule() -> None:
    five: list[dict[str, Any]] = [
        {"Field": "path-pattern", "Values": ["/a*"]},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X", "Values": ["*", "?", "\\*"]}},
        {"Field": "query-string", "QueryStringConfig": {"Values": [{"Value": "*"}]}},
    ]
    assert len(check_conditions(five)) == 3  # an escaped \\* is no wildcard: 4 wildcards, 5 values
    six = [*five, {"Field": "host-header", "Values": ["*.a.com"]}]
    assert "'5' condition values" in _code(lambda: check_conditions(six))[1]
    repeated = [
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X", "Values": ["a"]}},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "Y", "Values": ["b"]}},
    ]
    assert len(check_conditions(repeated)) == 2  # http-header may repeat


@pytest.mark.parametrize(
    ("condition", "fragment"),
    [
        ({"Values": ["/a"]}, "A condition field must be specified"),
        ({"Field": "path-pattern"}, "A condition value must be specified"),
        (
            {"Field": "path-pattern", "Values": ["/a"], "PathPatternConfig": {"Values": ["/b"]}},
            "You cannot provide both Values and 'PathPatternConfig'",
        ),
        (
            {"Field": "path-pattern", "HostHeaderConfig": {"Values": ["a.com"]}},
            "'HostHeaderConfig' cannot be",
        ),
        ({"Field": "path-pattern", "PathPatternConfig": {"RegexValues": ["^/a$"]}}, "Regular expression"),
        ({"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.1"]}}, "not a valid CIDR block"),
        (
            {"Field": "http-header", "HttpHeaderConfig": {"Values": ["a"]}},
            "'HttpHeaderName' must be specified",
        ),
        (
            {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "a"}]}},
            "A 'Value' must be specified",
        ),
    ],
)
def test_invalid_conditions(condition: dict[str, Any], fragment: str) -> None:
    code, message = _code(lambda: check_conditions([condition]))
    assert code == "ValidationException" and fragment in message, message


def test_source_ip_takes_five_cidrs_of_either_family() -> None:
    values = ["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32", "172.16.0.0/12", "100.64.0.1/32"]
    (condition,) = check_conditions([{"Field": "source-ip", "SourceIpConfig": {"Values": values}}])
    assert condition == {"Field": "source-ip", "SourceIpConfig": {"Values": values}}


def test_health_check_defaults_follow_the_protocol() -> None:
    http = health_check("HTTP", "instance", {})
    assert (http["HealthCheckTimeoutSeconds"], http["Matcher"], http["HealthCheckPath"]) == (
        5,
        {"HttpCode": "200"},
        "/",
    )
    tcp = health_check("TCP", "ip", {})
    assert (
        tcp["HealthCheckProtocol"] == "TCP"
        and tcp["HealthCheckTimeoutSeconds"] == 10
        and "Matcher" not in tcp
    )
    grpc = health_check("HTTPS", "ip", {}, protocol_version="GRPC")
    assert grpc["HealthCheckPath"] == "/AWS.ALB/healthcheck" and grpc["Matcher"] == {"GrpcCode": "12"}
    moved = health_check("TCP", "ip", {"HealthCheckProtocol": "HTTP"}, tcp)
    assert moved["HealthCheckPath"] == "/" and moved["Matcher"] == {"HttpCode": "200-399"}
    back = health_check("TCP", "ip", {"HealthCheckProtocol": "TCP"}, moved)
    assert "HealthCheckPath" not in back and "Matcher" not in back


@pytest.mark.parametrize(
    ("protocol", "given", "fragment"),
    [
        ("HTTP", {"Matcher": {"HttpCode": "200,abc"}}, "must be like"),
        ("HTTP", {"Matcher": {"HttpCode": "500-501"}}, "'200-499'"),
        ("TCP", {"HealthCheckProtocol": "HTTP", "Matcher": {"HttpCode": "599"}}, None),
        ("HTTP", {"HealthCheckPath": "health"}, "must begin with a '/'"),
        ("HTTP", {"HealthCheckPort": "70000"}, "'traffic-port'"),
        ("TCP", {"HealthCheckIntervalSeconds": 10, "HealthCheckTimeoutSeconds": 10}, None),
        ("HTTP", {"Matcher": {"GrpcCode": "0"}}, "protocol version 'GRPC'"),
    ],
)
def test_health_check_checks(protocol: str, given: dict[str, Any], fragment: str | None) -> None:
    if fragment is None:
        assert health_check(protocol, "instance", given)["HealthCheckProtocol"]
        return
    code, message = _code(lambda: health_check(protocol, "instance", given))
    assert code == "ValidationException" and fragment in message, message


def test_target_health_precedence() -> None:
    registered = {"Id": "10.0.0.1", "Port": 80}
    draining = {**registered, "DeregisteredAt": 1.0}
    healthy = {"State": "healthy"}
    assert (
        health_of(None, in_use=True, instance_state=None, observed=healthy)["Reason"]
        == "Target.NotRegistered"
    )
    assert health_of(draining, in_use=True, instance_state=None, observed=healthy)["State"] == "draining"
    assert (
        health_of(registered, in_use=False, instance_state=None, observed=healthy)["Reason"]
        == "Target.NotInUse"
    )
    assert health_of(registered, in_use=True, instance_state="stopped", observed=healthy)["Reason"] == (
        "Target.InvalidState"
    )
    assert health_of(registered, in_use=True, instance_state="running", observed=healthy) == {
        "State": "healthy"
    }
    assert health_of(registered, in_use=True, instance_state=None, observed=None)["State"] == "initial"
