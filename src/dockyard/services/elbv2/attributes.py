"""Load balancer and target group attributes: AWS's keys and defaults per type, and their checks.

Pure: `lb_defaults` / `tg_defaults` give the attributes a new resource starts with, and
`apply_lb_attributes` / `apply_tg_attributes` check a Modify*Attributes request against the
resource's type and current values and return the new set (raising AWS's error otherwise).
Values are strings, as the API carries them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dockyard.services.elbv2.errors import InvalidConfigurationRequest, ValidationError

__all__ = ["lb_defaults", "tg_defaults", "apply_lb_attributes", "apply_tg_attributes", "as_list"]

Check = Callable[[str, str], None]


def _boolean(name: str, value: str) -> None:
    if value not in ("true", "false"):
        raise ValidationError(f"'{name}' value '{value}' must be one of 'true, false'")


def _text(name: str, value: str) -> None:
    return None


def _between(low: int, high: int, *, off: str | None = None) -> Check:
    def check(name: str, value: str) -> None:
        if off is not None and value == off:
            return
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            allowed = f"'{low}-{high}' inclusive" + (f" or '{off}'" if off is not None else "")
            raise ValidationError(f"'{name}' value '{value}' must be between {allowed}")

    return check


def _one_of(*choices: str) -> Check:
    def check(name: str, value: str) -> None:
        if value not in choices:
            raise ValidationError(f"'{name}' value '{value}' must be one of '{', '.join(choices)}'")

    return check


def _slow_start(name: str, value: str) -> None:
    if value != "0":
        _between(30, 900)(name, value)


_LOGS = {
    "access_logs.s3.enabled": ("false", _boolean),
    "access_logs.s3.bucket": ("", _text),
    "access_logs.s3.prefix": ("", _text),
}
_APPLICATION: dict[str, tuple[str, Check]] = {
    **_LOGS,
    "connection_logs.s3.enabled": ("false", _boolean),
    "connection_logs.s3.bucket": ("", _text),
    "connection_logs.s3.prefix": ("", _text),
    "client_keep_alive.seconds": ("3600", _between(60, 604800)),
    "deletion_protection.enabled": ("false", _boolean),
    "idle_timeout.timeout_seconds": ("60", _between(1, 4000)),
    "load_balancing.cross_zone.enabled": ("true", _boolean),
    "routing.http.desync_mitigation_mode": ("defensive", _one_of("monitor", "defensive", "strictest")),
    "routing.http.drop_invalid_header_fields.enabled": ("false", _boolean),
    "routing.http.preserve_host_header.enabled": ("false", _boolean),
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": ("false", _boolean),
    "routing.http.xff_client_port.enabled": ("false", _boolean),
    "routing.http.xff_header_processing.mode": ("append", _one_of("append", "preserve", "remove")),
    "routing.http2.enabled": ("true", _boolean),
    "waf.fail_open.enabled": ("false", _boolean),
    "zonal_shift.config.enabled": ("false", _boolean),
}
_NETWORK: dict[str, tuple[str, Check]] = {
    **_LOGS,
    "deletion_protection.enabled": ("false", _boolean),
    "dns_record.client_routing_policy": (
        "any_availability_zone",
        _one_of("availability_zone_affinity", "partial_availability_zone_affinity", "any_availability_zone"),
    ),
    "load_balancing.cross_zone.enabled": ("false", _boolean),
    "zonal_shift.config.enabled": ("false", _boolean),
}
_HEALTH = {
    "target_group_health.dns_failover.minimum_healthy_targets.count": ("1", _between(1, 1000, off="off")),
    "target_group_health.dns_failover.minimum_healthy_targets.percentage": (
        "off",
        _between(1, 100, off="off"),
    ),
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": ("1", _between(1, 1000)),
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": (
        "off",
        _between(1, 100, off="off"),
    ),
}
_CROSS_ZONE = ("use_load_balancer_configuration", _one_of("true", "false", "use_load_balancer_configuration"))
_HTTP_GROUP: dict[str, tuple[str, Check]] = {
    "deregistration_delay.timeout_seconds": ("300", _between(0, 3600)),
    "load_balancing.algorithm.type": (
        "round_robin",
        _one_of("round_robin", "least_outstanding_requests", "weighted_random"),
    ),
    "load_balancing.algorithm.anomaly_mitigation": ("off", _one_of("on", "off")),
    "load_balancing.cross_zone.enabled": _CROSS_ZONE,
    "slow_start.duration_seconds": ("0", _slow_start),
    "stickiness.enabled": ("false", _boolean),
    "stickiness.type": ("lb_cookie", _one_of("lb_cookie", "app_cookie")),
    "stickiness.lb_cookie.duration_seconds": ("86400", _between(1, 604800)),
    "stickiness.app_cookie.cookie_name": ("", _text),
    "stickiness.app_cookie.duration_seconds": ("86400", _between(1, 604800)),
    **_HEALTH,
    "waf.fail_open.enabled": ("false", _boolean),
}
_TCP_GROUP: dict[str, tuple[str, Check]] = {
    "deregistration_delay.timeout_seconds": ("300", _between(0, 3600)),
    "deregistration_delay.connection_termination.enabled": ("false", _boolean),
    "load_balancing.cross_zone.enabled": _CROSS_ZONE,
    "preserve_client_ip.enabled": ("true", _boolean),
    "proxy_protocol_v2.enabled": ("false", _boolean),
    "stickiness.enabled": ("false", _boolean),
    "stickiness.type": ("source_ip", _one_of("source_ip")),
    **_HEALTH,
    "target_health_state.unhealthy.connection_termination.enabled": ("true", _boolean),
    "target_health_state.unhealthy.draining_interval_seconds": ("0", _between(0, 360000)),
}


def _lb_table(lb_type: str) -> dict[str, tuple[str, Check]]:
    return _APPLICATION if lb_type == "application" else _NETWORK


def _tg_table(protocol: str) -> dict[str, tuple[str, Check]]:
    return _HTTP_GROUP if protocol in ("HTTP", "HTTPS") else _TCP_GROUP


def lb_defaults(lb_type: str) -> dict[str, str]:
    return {name: default for name, (default, _) in _lb_table(lb_type).items()}


def tg_defaults(protocol: str, target_type: str) -> dict[str, str]:
    values = {name: default for name, (default, _) in _tg_table(protocol).items()}
    if protocol in ("TCP", "TLS") and target_type == "ip":
        values["preserve_client_ip.enabled"] = "false"
    return values


def as_list(values: Mapping[str, str]) -> list[dict[str, str]]:
    """`{key: value}` as the API's `[{Key, Value}]`, sorted by key."""
    return [{"Key": k, "Value": values[k]} for k in sorted(values)]


def _changes(
    attributes: list[dict[str, Any]], table: Mapping[str, tuple[str, Check]], noun: str
) -> dict[str, str]:
    changes: dict[str, str] = {}
    for attribute in attributes:
        name, value = attribute.get("Key"), attribute.get("Value")
        if name is None:
            raise ValidationError(f"{noun} attribute key must be specified")
        if name not in table:
            raise ValidationError(f"{noun} attribute key '{name}' is not recognized")
        value = "" if value is None else str(value)
        table[name][1](name, value)
        changes[str(name)] = value
    return changes


def apply_lb_attributes(
    lb_type: str, current: Mapping[str, str], attributes: list[dict[str, Any]]
) -> dict[str, str]:
    """The load balancer's attributes after `attributes` (ModifyLoadBalancerAttributes)."""
    changes = _changes(attributes, _lb_table(lb_type), "Load balancer")
    merged = {**lb_defaults(lb_type), **current, **changes}
    if lb_type == "application" and merged["load_balancing.cross_zone.enabled"] != "true":
        raise InvalidConfigurationRequest(
            "Cross-zone load balancing cannot be disabled for Application Load Balancers"
        )
    for logs in ("access_logs", "connection_logs"):
        if merged.get(f"{logs}.s3.enabled") == "true":
            bucket = merged.get(f"{logs}.s3.bucket", "")
            if not bucket:
                raise ValidationError(
                    f"The value of '{logs}.s3.bucket' cannot be empty when '{logs}.s3.enabled' is true"
                )
            # Dockyard has no S3: no bucket can accept the logs.
            raise InvalidConfigurationRequest(
                f"Access Denied for bucket: {bucket}. Please check S3bucket permission"
            )
    return merged


def apply_tg_attributes(
    protocol: str, target_type: str, current: Mapping[str, str], attributes: list[dict[str, Any]]
) -> dict[str, str]:
    """The target group's attributes after `attributes` (ModifyTargetGroupAttributes)."""
    changes = _changes(attributes, _tg_table(protocol), "Target group")
    merged = {**tg_defaults(protocol, target_type), **current, **changes}
    if protocol not in ("HTTP", "HTTPS"):
        if protocol == "TLS" and merged["stickiness.enabled"] == "true":
            raise InvalidConfigurationRequest(
                "You cannot enable stickiness on target groups with the TLS protocol"
            )
        return merged
    algorithm = merged["load_balancing.algorithm.type"]
    if merged["slow_start.duration_seconds"] != "0" and algorithm != "round_robin":
        raise InvalidConfigurationRequest(
            f"Slow start mode cannot be enabled with the '{algorithm}' load balancing algorithm"
        )
    if merged["load_balancing.algorithm.anomaly_mitigation"] == "on" and algorithm != "weighted_random":
        raise InvalidConfigurationRequest(
            "Anomaly mitigation can only be enabled with the 'weighted_random' load balancing algorithm"
        )
    if (
        merged["stickiness.enabled"] == "true"
        and merged["stickiness.type"] == "app_cookie"
        and not merged["stickiness.app_cookie.cookie_name"]
    ):
        raise InvalidConfigurationRequest(
            "You must set an application cookie name to enable stickiness of type 'app_cookie'"
        )
    cookie = merged["stickiness.app_cookie.cookie_name"]
    if cookie and (cookie.upper().startswith(("AWSALB", "AWSALBAPP", "AWSALBTG")) or len(cookie) > 256):
        raise ValidationError(
            f"'stickiness.app_cookie.cookie_name' value '{cookie}' is not a valid cookie name"
        )
    return merged
