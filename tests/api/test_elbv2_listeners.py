"""ELBv2 listeners with boto3: protocols per load balancer type, default rules, ports, certificates."""

from __future__ import annotations

from typing import Any

from tests.api.test_elbv2_helpers import (  # noqa: F401  (fixtures)
    create_alb,
    create_listener,
    create_tg,
    ec2_fixture,
    elb_fixture,
    error,
    forward,
    subnet_ids,
)


def _forwarded(tg_arn: str) -> dict[str, Any]:
    """A forward action as AWS returns it."""
    return {
        "Type": "forward",
        "TargetGroupArn": tg_arn,
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": tg_arn, "Weight": 1}],
            "TargetGroupStickinessConfig": {"Enabled": False},
        },
    }


def test_http_listener_and_its_default_rule(elb: Any, ec2: Any) -> None:
    lb = create_alb(elb, ec2)
    tg = create_tg(elb, ec2)
    listener = create_listener(elb, lb["LoadBalancerArn"], tg["TargetGroupArn"], port=8080)
    assert listener["ListenerArn"].startswith(
        lb["LoadBalancerArn"].replace(":loadbalancer/", ":listener/") + "/"
    )
    assert (listener["Port"], listener["Protocol"]) == (8080, "HTTP")
    assert listener["DefaultActions"] == [_forwarded(tg["TargetGroupArn"])]
    assert elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"] == [listener]
    rules = elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    assert len(rules) == 1
    assert rules[0]["Priority"] == "default" and rules[0]["IsDefault"] is True
    assert rules[0]["Conditions"] == [] and rules[0]["Actions"] == listener["DefaultActions"]
    assert (
        create_listener(elb, lb["LoadBalancerArn"], tg["TargetGroupArn"], port=8080) == listener
    )  # idempotent
    other = create_tg(elb, ec2, "other")
    code, message = error(
        lambda: create_listener(elb, lb["LoadBalancerArn"], other["TargetGroupArn"], port=8080)
    )
    assert code == "DuplicateListener"
    assert (
        message == f"A listener already exists on this port for this load balancer '{lb['LoadBalancerArn']}'"
    )


def test_bad_listeners_create_nothing(elb: Any, ec2: Any) -> None:
    lb = create_alb(elb, ec2)["LoadBalancerArn"]
    tg = create_tg(elb, ec2)["TargetGroupArn"]
    tcp_group = create_tg(elb, ec2, "tcp", Protocol="TCP")["TargetGroupArn"]
    missing = tg[:-16] + "0123456789abcdef"
    cert = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"Protocol": "TCP", "Port": 80, "DefaultActions": forward(tg)}, "ValidationError", "'HTTP, HTTPS'"),
        (
            {"Protocol": "HTTP", "Port": 80, "DefaultActions": forward(missing)},
            "TargetGroupNotFound",
            "not found",
        ),
        (
            {"Protocol": "HTTP", "Port": 80, "DefaultActions": forward(tcp_group)},
            "IncompatibleProtocols",
            "is not compatible",
        ),
        ({"Protocol": "HTTPS", "Port": 443, "DefaultActions": forward(tg)}, "ValidationError", "certificate"),
        (
            {
                "Protocol": "HTTPS",
                "Port": 443,
                "DefaultActions": forward(tg),
                "Certificates": [{"CertificateArn": cert}],
            },
            "CertificateNotFound",
            f"Certificate '{cert}' not found",
        ),
        (
            {"Protocol": "HTTP", "Port": 80, "DefaultActions": [{"Type": "forward"}]},
            "ValidationError",
            "A target group ARN must be specified",
        ),
        (
            {
                "Protocol": "HTTP",
                "Port": 80,
                "DefaultActions": [
                    {
                        "Type": "authenticate-cognito",
                        "AuthenticateCognitoConfig": {
                            "UserPoolArn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/x",
                            "UserPoolClientId": "c",
                            "UserPoolDomain": "d",
                        },
                    },
                    *forward(tg),
                ],
            },
            "InvalidLoadBalancerAction",
            "HTTPS listeners",
        ),
    ]
    for request, code, fragment in cases:
        got, message = error(
            lambda request=request: elb.create_listener(LoadBalancerArn=lb, **request)  # type: ignore[misc]
        )
        assert got == code, (request, message)
        assert fragment in message, message
    assert elb.describe_listeners(LoadBalancerArn=lb)["Listeners"] == []
    assert elb.describe_target_groups(Names=["tg"])["TargetGroups"][0]["LoadBalancerArns"] == []


def test_network_load_balancer_listener(elb: Any, ec2: Any) -> None:
    nlb = elb.create_load_balancer(Name="nlb", Type="network", Subnets=subnet_ids(ec2))["LoadBalancers"][0]
    tcp_group = create_tg(elb, ec2, "tcp", Protocol="TCP", Port=5432)["TargetGroupArn"]
    http_group = create_tg(elb, ec2, "http")["TargetGroupArn"]
    listener = create_listener(elb, nlb["LoadBalancerArn"], tcp_group, port=5432, protocol="TCP")
    assert listener["Protocol"] == "TCP"
    code, _ = error(lambda: create_listener(elb, nlb["LoadBalancerArn"], http_group, port=81, protocol="TCP"))
    assert code == "IncompatibleProtocols"
    code, _ = error(lambda: create_listener(elb, nlb["LoadBalancerArn"], tcp_group, port=81, protocol="UDP"))
    assert code == "UnsupportedProtocol"
    code, _ = error(
        lambda: elb.create_rule(
            ListenerArn=listener["ListenerArn"],
            Priority=1,
            Conditions=[{"Field": "path-pattern", "Values": ["/"]}],
            Actions=forward(tcp_group),
        )
    )
    assert code == "UnsupportedProtocol"
    redirect = [{"Type": "redirect", "RedirectConfig": {"Port": "8443", "StatusCode": "HTTP_301"}}]
    code, _ = error(
        lambda: elb.create_listener(
            LoadBalancerArn=nlb["LoadBalancerArn"], Protocol="TCP", Port=82, DefaultActions=redirect
        )
    )
    assert code == "InvalidLoadBalancerAction"


def test_a_target_group_serves_one_load_balancer(elb: Any, ec2: Any) -> None:
    first, second = create_alb(elb, ec2, "first"), create_alb(elb, ec2, "second")
    tg = create_tg(elb, ec2)["TargetGroupArn"]
    create_listener(elb, first["LoadBalancerArn"], tg)
    create_listener(elb, first["LoadBalancerArn"], tg, port=81)  # same load balancer: fine
    code, message = error(lambda: create_listener(elb, second["LoadBalancerArn"], tg))
    assert code == "TargetGroupAssociationLimit"
    assert (
        message == f"The following target groups cannot be associated with more than one load balancer: {tg}"
    )


def test_modify_listener(elb: Any, ec2: Any) -> None:
    lb = create_alb(elb, ec2)["LoadBalancerArn"]
    old, new = create_tg(elb, ec2, "old")["TargetGroupArn"], create_tg(elb, ec2, "new")["TargetGroupArn"]
    listener = create_listener(elb, lb, old)
    create_listener(elb, lb, old, port=81)
    code, _ = error(lambda: elb.modify_listener(ListenerArn=listener["ListenerArn"], Port=81))
    assert code == "DuplicateListener"
    changed = elb.modify_listener(
        ListenerArn=listener["ListenerArn"], Port=8080, DefaultActions=forward(new)
    )["Listeners"][0]
    assert changed["Port"] == 8080 and changed["DefaultActions"] == [_forwarded(new)]
    default_rule = elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"][0]
    assert default_rule["Actions"] == [_forwarded(new)]
    assert elb.describe_target_groups(TargetGroupArns=[new])["TargetGroups"][0]["LoadBalancerArns"] == [lb]
    create_listener(elb, lb, old, port=80)  # the old port is free again
    elb.delete_listener(ListenerArn=listener["ListenerArn"])
    assert elb.describe_target_groups(TargetGroupArns=[new])["TargetGroups"][0]["LoadBalancerArns"] == []
    code, message = error(lambda: elb.delete_listener(ListenerArn=listener["ListenerArn"]))
    assert (code, message) == ("ListenerNotFound", "One or more listeners not found")
    assert error(lambda: elb.describe_listeners())[0] == "ValidationError"
