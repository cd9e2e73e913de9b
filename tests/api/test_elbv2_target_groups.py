"""ELBv2 target groups with boto3: AWS's defaults per protocol, checks, attributes, in-use deletion."""

from __future__ import annotations

import re
from typing import Any

from tests.api.test_elbv2_helpers import (  # noqa: F401  (fixtures)
    create_alb,
    create_listener,
    create_tg,
    ec2_fixture,
    elb_fixture,
    error,
    forward,
    vpc_id,
)


def _attributes(elb: Any, arn: str) -> dict[str, str]:
    return {
        a["Key"]: a["Value"] for a in elb.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
    }


def test_http_group_defaults(elb: Any, ec2: Any) -> None:
    group = create_tg(elb, ec2, "web")
    assert re.fullmatch(
        r"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/[0-9a-f]{16}",
        group["TargetGroupArn"],
    )
    expected = {
        "TargetGroupName": "web",
        "Protocol": "HTTP",
        "Port": 80,
        "VpcId": vpc_id(ec2),
        "HealthCheckProtocol": "HTTP",
        "HealthCheckPort": "traffic-port",
        "HealthCheckEnabled": True,
        "HealthCheckIntervalSeconds": 30,
        "HealthCheckTimeoutSeconds": 5,
        "HealthyThresholdCount": 5,
        "UnhealthyThresholdCount": 2,
        "HealthCheckPath": "/",
        "Matcher": {"HttpCode": "200"},
        "LoadBalancerArns": [],
        "TargetType": "instance",
        "ProtocolVersion": "HTTP1",
        "IpAddressType": "ipv4",
    }
    assert {k: v for k, v in group.items() if k != "TargetGroupArn"} == expected
    attributes = _attributes(elb, group["TargetGroupArn"])
    assert attributes["deregistration_delay.timeout_seconds"] == "300"
    assert attributes["load_balancing.algorithm.type"] == "round_robin"
    assert attributes["stickiness.enabled"] == "false"
    assert attributes["stickiness.type"] == "lb_cookie"
    assert attributes["stickiness.lb_cookie.duration_seconds"] == "86400"
    assert attributes["slow_start.duration_seconds"] == "0"


def test_tcp_group_defaults(elb: Any, ec2: Any) -> None:
    group = create_tg(elb, ec2, "tcp", Protocol="TCP", Port=5432, TargetType="ip")
    assert group["HealthCheckProtocol"] == "TCP"
    assert group["HealthCheckTimeoutSeconds"] == 10
    assert "HealthCheckPath" not in group and "Matcher" not in group and "ProtocolVersion" not in group
    http_checked = create_tg(elb, ec2, "tcp-http", Protocol="TCP", Port=80, HealthCheckProtocol="HTTP")
    assert http_checked["HealthCheckPath"] == "/"
    assert http_checked["Matcher"] == {"HttpCode": "200-399"}
    assert http_checked["HealthCheckTimeoutSeconds"] == 6
    attributes = _attributes(elb, group["TargetGroupArn"])
    assert attributes["stickiness.type"] == "source_ip"
    assert attributes["preserve_client_ip.enabled"] == "false"  # ip targets over TCP
    assert attributes["proxy_protocol_v2.enabled"] == "false"
    assert "load_balancing.algorithm.type" not in attributes
    assert _attributes(elb, http_checked["TargetGroupArn"])["preserve_client_ip.enabled"] == "true"


def test_create_is_idempotent_but_not_with_other_settings(elb: Any, ec2: Any) -> None:
    first = create_tg(elb, ec2)
    assert create_tg(elb, ec2) == first
    code, message = error(lambda: create_tg(elb, ec2, Port=8080))
    assert code == "DuplicateTargetGroupName"
    assert message == "A target group with the same name 'tg' exists, but with different settings"


def test_bad_requests_create_nothing(elb: Any, ec2: Any) -> None:
    vpc = vpc_id(ec2)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"Name": "tg", "Protocol": "HTTP", "VpcId": vpc}, "ValidationError", "A port must be specified"),
        ({"Name": "tg", "Port": 80, "VpcId": vpc}, "ValidationError", "A protocol must be specified"),
        ({"Name": "tg", "Protocol": "HTTP", "Port": 80}, "ValidationError", "A VPC ID must be specified"),
        (
            {"Name": "tg", "Protocol": "HTTP", "Port": 80, "VpcId": "vpc-0123456789abcdef0"},
            "ValidationError",
            "The VPC ID 'vpc-0123456789abcdef0' is not found",
        ),
        (
            {"Name": "-tg", "Protocol": "HTTP", "Port": 80, "VpcId": vpc},
            "ValidationError",
            "begin or end with '-'",
        ),
        (
            {"Name": "tg", "Protocol": "HTTP", "Port": 80, "VpcId": vpc, "HealthCheckProtocol": "TCP"},
            "ValidationError",
            "Health check protocol 'TCP' is not supported",
        ),
        (
            {
                "Name": "tg",
                "Protocol": "HTTP",
                "Port": 80,
                "VpcId": vpc,
                "HealthCheckIntervalSeconds": 10,
                "HealthCheckTimeoutSeconds": 10,
            },
            "ValidationError",
            "Health check timeout '10' must be smaller than the interval '10'",
        ),
        (
            {"Name": "tg", "Protocol": "HTTP", "Port": 80, "VpcId": vpc, "Matcher": {"HttpCode": "200-600"}},
            "ValidationError",
            "'200-499'",
        ),
        (
            {"Name": "tg", "Protocol": "TCP", "Port": 80, "VpcId": vpc, "HealthCheckPath": "/health"},
            "ValidationError",
            "health check path",
        ),
        (
            {"Name": "tg", "Protocol": "HTTP", "Port": 80, "VpcId": vpc, "HealthCheckEnabled": False},
            "InvalidConfigurationRequest",
            "Health checks cannot be disabled",
        ),
        ({"Name": "tg", "Protocol": "UDP", "Port": 53, "VpcId": vpc}, "InvalidConfigurationRequest", "UDP"),
        ({"Name": "tg", "TargetType": "lambda"}, "InvalidConfigurationRequest", "lambda"),
    ]
    for request, code, fragment in cases:
        got, message = error(lambda request=request: elb.create_target_group(**request))  # type: ignore[misc]
        assert got == code, (request, message)
        assert fragment in message, message
    assert elb.describe_target_groups()["TargetGroups"] == []


def test_describe_by_name_arn_and_load_balancer(elb: Any, ec2: Any) -> None:
    groups = [create_tg(elb, ec2, name) for name in ("c", "a", "b")]
    assert [g["TargetGroupName"] for g in elb.describe_target_groups()["TargetGroups"]] == ["a", "b", "c"]
    assert elb.describe_target_groups(Names=["b"])["TargetGroups"] == [groups[2]]
    assert elb.describe_target_groups(TargetGroupArns=[groups[0]["TargetGroupArn"]])["TargetGroups"] == [
        groups[0]
    ]
    lb = create_alb(elb, ec2)
    create_listener(elb, lb["LoadBalancerArn"], groups[1]["TargetGroupArn"])
    used = elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
    assert [g["TargetGroupName"] for g in used] == ["a"]
    assert used[0]["LoadBalancerArns"] == [lb["LoadBalancerArn"]]
    code, message = error(lambda: elb.describe_target_groups(Names=["a", "zzz"]))
    assert (code, message) == ("TargetGroupNotFound", "One or more target groups not found")
    code, _ = error(
        lambda: elb.describe_target_groups(Names=["a"], TargetGroupArns=[groups[0]["TargetGroupArn"]])
    )
    assert code == "ValidationError"
    page = elb.describe_target_groups(PageSize=2)
    rest = elb.describe_target_groups(PageSize=2, Marker=page["NextMarker"])
    assert [g["TargetGroupName"] for g in page["TargetGroups"] + rest["TargetGroups"]] == ["a", "b", "c"]
    assert "NextMarker" not in rest


def test_modify_health_checks(elb: Any, ec2: Any) -> None:
    arn = create_tg(elb, ec2)["TargetGroupArn"]
    changed = elb.modify_target_group(
        TargetGroupArn=arn,
        HealthCheckPath="/health",
        HealthCheckIntervalSeconds=10,
        HealthyThresholdCount=2,
        Matcher={"HttpCode": "200-299"},
    )["TargetGroups"][0]
    assert changed["HealthCheckPath"] == "/health"
    assert changed["HealthCheckIntervalSeconds"] == 10 and changed["HealthyThresholdCount"] == 2
    assert changed["Matcher"] == {"HttpCode": "200-299"}
    code, _ = error(lambda: elb.modify_target_group(TargetGroupArn=arn, HealthCheckTimeoutSeconds=20))
    assert code == "ValidationError"
    assert elb.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0] == changed
    missing = arn[:-16] + "0123456789abcdef"
    assert error(lambda: elb.modify_target_group(TargetGroupArn=missing, HealthCheckPath="/"))[0] == (
        "TargetGroupNotFound"
    )


def test_attributes(elb: Any, ec2: Any) -> None:
    arn = create_tg(elb, ec2)["TargetGroupArn"]
    answer = elb.modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": "30"},
            {"Key": "stickiness.enabled", "Value": "true"},
            {"Key": "load_balancing.algorithm.type", "Value": "least_outstanding_requests"},
        ],
    )["Attributes"]
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "30"} in answer
    bad = [
        ([{"Key": "deregistration_delay.timeout_seconds", "Value": "4000"}], "ValidationError", "'0-3600'"),
        ([{"Key": "proxy_protocol_v2.enabled", "Value": "true"}], "ValidationError", "is not recognized"),
        ([{"Key": "slow_start.duration_seconds", "Value": "10"}], "ValidationError", "'30-900'"),
        (
            [{"Key": "slow_start.duration_seconds", "Value": "60"}],
            "InvalidConfigurationRequest",
            "least_outstanding_requests",
        ),
        (
            [{"Key": "stickiness.type", "Value": "app_cookie"}],
            "InvalidConfigurationRequest",
            "application cookie name",
        ),
    ]
    for attributes, code, fragment in bad:
        got, message = error(
            lambda attributes=attributes: elb.modify_target_group_attributes(  # type: ignore[misc]
                TargetGroupArn=arn, Attributes=attributes
            )
        )
        assert got == code and fragment in message, message
    after = _attributes(elb, arn)
    assert after["deregistration_delay.timeout_seconds"] == "30"
    assert after["slow_start.duration_seconds"] == "0"
    assert after["stickiness.type"] == "lb_cookie"


def test_delete_refused_while_a_listener_or_rule_forwards(elb: Any, ec2: Any) -> None:
    lb = create_alb(elb, ec2)
    default_group, rule_group = create_tg(elb, ec2, "default"), create_tg(elb, ec2, "rule")
    listener = create_listener(elb, lb["LoadBalancerArn"], default_group["TargetGroupArn"])
    rule = elb.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=5,
        Conditions=[{"Field": "host-header", "Values": ["api.example.com"]}],
        Actions=forward(rule_group["TargetGroupArn"]),
    )["Rules"][0]
    code, message = error(lambda: elb.delete_target_group(TargetGroupArn=rule_group["TargetGroupArn"]))
    assert code == "ResourceInUse"
    assert (
        message
        == f"Target group '{rule_group['TargetGroupArn']}' is currently in use by a listener or a rule"
    )
    elb.delete_rule(RuleArn=rule["RuleArn"])
    elb.delete_target_group(TargetGroupArn=rule_group["TargetGroupArn"])
    assert error(lambda: elb.delete_target_group(TargetGroupArn=default_group["TargetGroupArn"]))[0] == (
        "ResourceInUse"
    )
    elb.delete_listener(ListenerArn=listener["ListenerArn"])
    elb.delete_target_group(TargetGroupArn=default_group["TargetGroupArn"])
    elb.delete_target_group(TargetGroupArn=default_group["TargetGroupArn"])  # gone: still succeeds
    assert elb.describe_target_groups()["TargetGroups"] == []
