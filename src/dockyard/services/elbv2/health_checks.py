"""Target group health-check settings: AWS's defaults per protocol and their checks (pure).

| Setting            | HTTP/HTTPS group (ALB)   | TCP/TLS group (NLB)                          |
|--------------------|--------------------------|----------------------------------------------|
| HealthCheckProtocol| the group's protocol     | TCP (HTTP or HTTPS allowed)                  |
| HealthCheckPort    | traffic-port             | traffic-port                                 |
| HealthCheckPath    | /                        | / when the check is HTTP(S), none for TCP    |
| Interval / Timeout | 30 / 5                   | 30 / 10 (6 for HTTP checks)                  |
| Healthy / Unhealthy| 5 / 2                    | 5 / 2                                        |
| Matcher.HttpCode   | 200 (codes in 200-499)   | 200-399 for HTTP(S) checks (codes 200-599)   |

gRPC groups (ProtocolVersion GRPC) check `/AWS.ALB/healthcheck` and expect gRPC code 12.

`health_check(protocol, target_type, given, current)` resolves what a Create/ModifyTargetGroup
request gives over the current settings (or the defaults) and checks the result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dockyard.services.elbv2.errors import InvalidConfigurationRequest, ValidationError

__all__ = ["FIELDS", "health_check", "is_application_protocol"]

FIELDS = (
    "HealthCheckProtocol",
    "HealthCheckPort",
    "HealthCheckEnabled",
    "HealthCheckPath",
    "HealthCheckIntervalSeconds",
    "HealthCheckTimeoutSeconds",
    "HealthyThresholdCount",
    "UnhealthyThresholdCount",
    "Matcher",
)
_CODES = re.compile(r"^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$")


def is_application_protocol(protocol: str) -> bool:
    return protocol in ("HTTP", "HTTPS")


def _defaults(protocol: str, check_protocol: str, protocol_version: str) -> dict[str, Any]:
    application = is_application_protocol(protocol)
    http_check = is_application_protocol(check_protocol)
    out: dict[str, Any] = {
        "HealthCheckProtocol": check_protocol,
        "HealthCheckPort": "traffic-port",
        "HealthCheckEnabled": True,
        "HealthCheckIntervalSeconds": 30,
        "HealthCheckTimeoutSeconds": 5 if application else (6 if check_protocol == "HTTP" else 10),
        "HealthyThresholdCount": 5,
        "UnhealthyThresholdCount": 2,
    }
    if http_check:
        out["HealthCheckPath"] = "/"
        out["Matcher"] = {"HttpCode": "200" if application else "200-399"}
        if protocol_version == "GRPC":
            out["HealthCheckPath"] = "/AWS.ALB/healthcheck"
            out["Matcher"] = {"GrpcCode": "12"}
    return out


def _check_codes(codes: str, application: bool) -> None:
    low, high = (200, 499) if application else (200, 599)
    if not _CODES.match(codes):
        raise ValidationError(
            f"Health check matcher HTTP code '{codes}' must be like 200 | 200-399 | 200,201"
        )
    for part in codes.split(","):
        first, _, last = part.partition("-")
        numbers = [int(first), int(last or first)]
        if numbers[0] > numbers[1] or not all(low <= n <= high for n in numbers):
            raise ValidationError(
                f"Health check matcher HTTP code '{part}' must be within '{low}-{high}' inclusive"
            )


def health_check(
    protocol: str,
    target_type: str,
    given: Mapping[str, Any],
    current: Mapping[str, Any] | None = None,
    *,
    protocol_version: str = "HTTP1",
) -> dict[str, Any]:
    """The health-check members of the target group: `given` over `current` (or AWS's defaults)."""
    application = is_application_protocol(protocol)
    base_protocol = (current or {}).get("HealthCheckProtocol") or (protocol if application else "TCP")
    check_protocol = str(given.get("HealthCheckProtocol") or base_protocol)
    allowed = ("HTTP", "HTTPS") if application else ("HTTP", "HTTPS", "TCP")
    if check_protocol not in allowed:
        raise ValidationError(
            f"Health check protocol '{check_protocol}' is not supported for target groups "
            f"with the '{protocol}' protocol"
        )
    out = _defaults(protocol, check_protocol, protocol_version)
    if current is not None:
        kept = {k: v for k, v in current.items() if k in FIELDS and k != "HealthCheckProtocol"}
        if not is_application_protocol(check_protocol):
            kept.pop("HealthCheckPath", None)
            kept.pop("Matcher", None)
        out.update(kept)
    for name in FIELDS:
        if given.get(name) is not None and name != "HealthCheckProtocol":
            out[name] = given[name]
    http_check = is_application_protocol(check_protocol)
    if not http_check:
        if given.get("HealthCheckPath") is not None:
            raise ValidationError(
                f"A health check path cannot be specified with the '{check_protocol}' protocol"
            )
        if given.get("Matcher") is not None:
            raise ValidationError(
                f"A health check matcher cannot be specified with the '{check_protocol}' protocol"
            )
    if not str(out.get("HealthCheckPath", "/")).startswith("/"):
        raise ValidationError("Health check path must begin with a '/' character")
    port = str(out["HealthCheckPort"])
    if port != "traffic-port" and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ValidationError(
            f"Health check port '{port}' must be 'traffic-port' or between '1-65535' inclusive"
        )
    interval, timeout = int(out["HealthCheckIntervalSeconds"]), int(out["HealthCheckTimeoutSeconds"])
    if timeout > interval or (application and timeout == interval):
        relation = "smaller than" if application else "smaller than or equal to"
        raise ValidationError(
            f"Health check timeout '{timeout}' must be {relation} the interval '{interval}'"
        )
    if out["HealthCheckEnabled"] is False and target_type in ("instance", "ip"):
        raise InvalidConfigurationRequest(
            f"Health checks cannot be disabled for target groups with the target type '{target_type}'"
        )
    matcher = out.get("Matcher")
    if matcher is not None:
        if matcher.get("GrpcCode") is not None and protocol_version != "GRPC":
            raise ValidationError(
                "A gRPC code matcher can only be specified for target groups with protocol version 'GRPC'"
            )
        if matcher.get("HttpCode") is not None:
            _check_codes(str(matcher["HttpCode"]), application)
        if not matcher.get("HttpCode") and not matcher.get("GrpcCode"):
            raise ValidationError("A health check matcher must specify an HTTP code or a gRPC code")
    return out
