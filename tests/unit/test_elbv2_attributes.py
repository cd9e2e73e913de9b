"""ELBv2 load balancer and target group attributes: AWS's defaults per type and their checks."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.core.errors import AwsError
from dockyard.services.elbv2.attributes import (
    apply_lb_attributes,
    apply_tg_attributes,
    lb_defaults,
    tg_defaults,
)


def _attrs(**values: str) -> list[dict[str, str]]:
    return [{"Key": k.replace("__", "."), "Value": v} for k, v in values.items()]


def _error(call: Any) -> tuple[str, str]:
    with pytest.raises(AwsError) as caught:
        call()
    return caught.value.code, caught.value.message


def test_defaults_per_type() -> None:
    alb, nlb = lb_defaults("application"), lb_defaults("network")
    assert alb["idle_timeout.timeout_seconds"] == "60" and alb["client_keep_alive.seconds"] == "3600"
    assert alb["routing.http.desync_mitigation_mode"] == "defensive"
    assert nlb["load_balancing.cross_zone.enabled"] == "false" and "routing.http2.enabled" not in nlb
    http = tg_defaults("HTTP", "instance")
    assert http["deregistration_delay.timeout_seconds"] == "300"
    assert http["target_group_health.unhealthy_state_routing.minimum_healthy_targets.count"] == "1"
    assert tg_defaults("TCP", "instance")["preserve_client_ip.enabled"] == "true"
    assert tg_defaults("TCP", "ip")["preserve_client_ip.enabled"] == "false"


def test_load_balancer_attributes() -> None:
    current = lb_defaults("application")
    changed = apply_lb_attributes("application", current, _attrs(routing__http2__enabled="false"))
    assert changed["routing.http2.enabled"] == "false" and current["routing.http2.enabled"] == "true"
    code, message = _error(
        lambda: apply_lb_attributes(
            "application", current, _attrs(load_balancing__cross_zone__enabled="false")
        )
    )
    assert code == "InvalidConfigurationRequestException"
    code, message = _error(
        lambda: apply_lb_attributes("network", current, _attrs(routing__http2__enabled="true"))
    )
    assert message == "Load balancer attribute key 'routing.http2.enabled' is not recognized"
    code, message = _error(
        lambda: apply_lb_attributes(
            "application", current, _attrs(routing__http__desync_mitigation_mode="loose")
        )
    )
    expected = (
        "'routing.http.desync_mitigation_mode' value 'loose' must be one of 'monitor, defensive, strictest'"
    )
    assert message == expected


@pytest.mark.parametrize(
    ("values", "code", "fragment"),
    [
        ({"deregistration_delay__timeout_seconds": "-1"}, "ValidationException", "'0-3600' inclusive"),
        ({"stickiness__lb_cookie__duration_seconds": "604801"}, "ValidationException", "'1-604800'"),
        ({"load_balancing__algorithm__type": "random"}, "ValidationException", "must be one of"),
        (
            {"load_balancing__algorithm__anomaly_mitigation": "on"},
            "InvalidConfigurationRequestException",
            "weighted_random",
        ),
        (
            {"stickiness__app_cookie__cookie_name": "AWSALBAPP-1"},
            "ValidationException",
            "not a valid cookie name",
        ),
        (
            {"target_group_health__dns_failover__minimum_healthy_targets__percentage": "101"},
            "ValidationException",
            "'off'",
        ),
    ],
)
def test_target_group_attribute_errors(values: dict[str, str], code: str, fragment: str) -> None:
    current = tg_defaults("HTTP", "instance")
    got, message = _error(lambda: apply_tg_attributes("HTTP", "instance", current, _attrs(**values)))
    assert got == code and fragment in message, message


def test_target_group_attributes_combine() -> None:
    current = tg_defaults("HTTP", "instance")
    changed = apply_tg_attributes(
        "HTTP",
        "instance",
        current,
        _attrs(
            load_balancing__algorithm__type="weighted_random",
            load_balancing__algorithm__anomaly_mitigation="on",
            stickiness__enabled="true",
            stickiness__type="app_cookie",
            stickiness__app_cookie__cookie_name="session",
        ),
    )
    assert changed["stickiness.app_cookie.cookie_name"] == "session"
    tls = tg_defaults("TLS", "instance")
    code, _ = _error(lambda: apply_tg_attributes("TLS", "instance", tls, _attrs(stickiness__enabled="true")))
    assert code == "InvalidConfigurationRequestException"
