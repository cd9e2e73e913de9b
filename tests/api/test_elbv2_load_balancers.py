"""ELBv2 load balancers with boto3 (and the real AWS CLI): create, describe, attributes, tags, delete."""

from __future__ import annotations

import re
from typing import Any

from dockyard.testing.server import ThreadedServer
from tests.api.test_elbv2_helpers import (  # noqa: F401  (fixtures)
    aws_cli,
    create_alb,
    create_listener,
    create_tg,
    ec2_fixture,
    elb_fixture,
    error,
    forward,
    subnet_ids,
    vpc_id,
)

ARN_PREFIX = "arn:aws:elasticloadbalancing:us-east-1:123456789012:"


def _attributes(elb: Any, arn: str) -> dict[str, str]:
    return {
        a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    }


def test_application_load_balancer_shape(elb: Any, ec2: Any) -> None:
    subnets = subnet_ids(ec2)
    lb = create_alb(elb, ec2, "web")
    assert re.fullmatch(ARN_PREFIX + r"loadbalancer/app/web/[0-9a-f]{16}", lb["LoadBalancerArn"])
    assert re.fullmatch(r"web-\d{10}\.us-east-1\.elb\.localhost", lb["DNSName"])
    assert lb["State"] == {"Code": "active"}
    assert (lb["Type"], lb["Scheme"], lb["IpAddressType"]) == ("application", "internet-facing", "ipv4")
    assert lb["VpcId"] == vpc_id(ec2)
    assert lb["CanonicalHostedZoneId"] == "Z35SXDOTRQ7X7K"
    assert [(z["ZoneName"], z["SubnetId"]) for z in lb["AvailabilityZones"]] == [
        ("us-east-1a", subnets[0]),
        ("us-east-1b", subnets[1]),
    ]
    default_group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    assert lb["SecurityGroups"] == [default_group]
    by_name = elb.describe_load_balancers(Names=["web"])["LoadBalancers"]
    by_arn = elb.describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]])["LoadBalancers"]
    assert by_name == by_arn == [lb]
    attributes = _attributes(elb, lb["LoadBalancerArn"])
    assert attributes["idle_timeout.timeout_seconds"] == "60"
    assert attributes["deletion_protection.enabled"] == "false"
    assert attributes["routing.http2.enabled"] == "true"
    assert attributes["load_balancing.cross_zone.enabled"] == "true"
    assert attributes["routing.http.xff_header_processing.mode"] == "append"


def test_internal_network_load_balancer(elb: Any, ec2: Any) -> None:
    lb = elb.create_load_balancer(Name="nlb", Type="network", Scheme="internal", Subnets=subnet_ids(ec2)[:1])[
        "LoadBalancers"
    ][0]
    assert re.fullmatch(ARN_PREFIX + r"loadbalancer/net/nlb/[0-9a-f]{16}", lb["LoadBalancerArn"])
    assert lb["DNSName"].startswith("internal-nlb-")
    assert "SecurityGroups" not in lb
    attributes = _attributes(elb, lb["LoadBalancerArn"])
    assert attributes["load_balancing.cross_zone.enabled"] == "false"
    assert "idle_timeout.timeout_seconds" not in attributes


def test_create_is_idempotent_but_not_with_other_settings(elb: Any, ec2: Any) -> None:
    first = create_alb(elb, ec2, "web")
    assert create_alb(elb, ec2, "web") == first
    code, message = error(lambda: create_alb(elb, ec2, "web", Scheme="internal"))
    assert code == "DuplicateLoadBalancerName"
    assert message == "A load balancer with the same name 'web' exists, but with different settings"
    assert len(elb.describe_load_balancers()["LoadBalancers"]) == 1


def test_bad_requests_create_nothing(elb: Any, ec2: Any) -> None:
    subnets = subnet_ids(ec2)
    cases = [
        (
            {"Name": "x" * 33, "Subnets": subnets[:2]},
            "ValidationError",
            "cannot be longer than '32' characters",
        ),
        (
            {"Name": "bad_name", "Subnets": subnets[:2]},
            "ValidationError",
            "alphanumeric characters or hyphens",
        ),
        ({"Name": "web-", "Subnets": subnets[:2]}, "ValidationError", "cannot begin or end with '-'"),
        (
            {"Name": "internal-web", "Subnets": subnets[:2]},
            "ValidationError",
            "cannot begin with 'internal-'",
        ),
        (
            {"Name": "web", "Subnets": subnets[:1]},
            "InvalidConfigurationRequest",
            "At least two subnets in two different Availability Zones must be specified",
        ),
        ({"Name": "web", "Subnets": [subnets[0], "subnet-0123456789abcdef0"]}, "SubnetNotFound", "not valid"),
        (
            {"Name": "web", "Subnets": subnets[:2], "SecurityGroups": ["sg-0123456789abcdef0"]},
            "InvalidSecurityGroup",
            "Security group 'sg-0123456789abcdef0' does not exist",
        ),
        (
            {"Name": "web", "Subnets": subnets[:2], "Type": "gateway"},
            "InvalidConfigurationRequest",
            "Gateway",
        ),
        (
            {
                "Name": "web",
                "Subnets": subnets[:2],
                "Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}],
            },
            "DuplicateTagKeys",
            "Tag key was specified more than once: a",
        ),
    ]
    for request, code, fragment in cases:
        got, message = error(lambda request=request: elb.create_load_balancer(**request))  # type: ignore[misc]
        assert got == code, (request, message)
        assert fragment in message
    assert elb.describe_load_balancers()["LoadBalancers"] == []


def test_describe_pages_and_reports_missing(elb: Any, ec2: Any) -> None:
    names = [f"lb-{i}" for i in range(5)]
    for name in names:
        create_alb(elb, ec2, name)
    seen, marker, pages = [], None, 0
    while True:
        request = {"PageSize": 2, **({"Marker": marker} if marker else {})}
        answer = elb.describe_load_balancers(**request)
        seen += [lb["LoadBalancerName"] for lb in answer["LoadBalancers"]]
        pages += 1
        marker = answer.get("NextMarker")
        if not marker:
            break
    assert seen == names and pages == 3
    paginator = elb.get_paginator("describe_load_balancers")
    assert sum(len(p["LoadBalancers"]) for p in paginator.paginate(PaginationConfig={"PageSize": 2})) == 5
    code, message = error(lambda: elb.describe_load_balancers(Names=["lb-0", "nope"]))
    assert (code, message) == ("LoadBalancerNotFound", "Load balancers '[nope]' not found")
    missing = ARN_PREFIX + "loadbalancer/app/gone/0123456789abcdef"
    assert error(lambda: elb.describe_load_balancers(LoadBalancerArns=[missing]))[0] == "LoadBalancerNotFound"
    code, message = error(lambda: elb.describe_load_balancers(LoadBalancerArns=["nonsense"]))
    assert (code, message) == ("ValidationError", "'nonsense' is not a valid load balancer ARN")
    code, _ = error(lambda: elb.describe_load_balancers(Names=["lb-0"], LoadBalancerArns=[missing]))
    assert code == "ValidationError"


def test_attributes_are_validated_and_deletion_protection_holds(elb: Any, ec2: Any) -> None:
    arn = create_alb(elb, ec2)["LoadBalancerArn"]
    changed = elb.modify_load_balancer_attributes(
        LoadBalancerArn=arn,
        Attributes=[
            {"Key": "idle_timeout.timeout_seconds", "Value": "120"},
            {"Key": "deletion_protection.enabled", "Value": "true"},
        ],
    )["Attributes"]
    assert {"Key": "idle_timeout.timeout_seconds", "Value": "120"} in changed
    bad = [
        ([{"Key": "no.such.key", "Value": "1"}], "ValidationError", "'no.such.key' is not recognized"),
        ([{"Key": "idle_timeout.timeout_seconds", "Value": "5000"}], "ValidationError", "'1-4000'"),
        ([{"Key": "routing.http2.enabled", "Value": "yes"}], "ValidationError", "'true, false'"),
        (
            [
                {"Key": "access_logs.s3.enabled", "Value": "true"},
                {"Key": "access_logs.s3.bucket", "Value": "logs"},
            ],
            "InvalidConfigurationRequest",
            "Access Denied for bucket: logs",
        ),
    ]
    for attributes, code, fragment in bad:
        got, message = error(
            lambda attributes=attributes: elb.modify_load_balancer_attributes(  # type: ignore[misc]
                LoadBalancerArn=arn, Attributes=attributes
            )
        )
        assert got == code and fragment in message, message
    assert _attributes(elb, arn)["idle_timeout.timeout_seconds"] == "120"
    code, message = error(lambda: elb.delete_load_balancer(LoadBalancerArn=arn))
    assert code == "OperationNotPermitted" and "deletion protection is enabled" in message
    elb.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}]
    )
    elb.delete_load_balancer(LoadBalancerArn=arn)
    assert elb.describe_load_balancers()["LoadBalancers"] == []


def test_delete_takes_listeners_and_rules_and_frees_target_groups(elb: Any, ec2: Any) -> None:
    lb = create_alb(elb, ec2)
    tg = create_tg(elb, ec2)
    listener = create_listener(elb, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    rule = elb.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=1,
        Conditions=[{"Field": "path-pattern", "Values": ["/a/*"]}],
        Actions=forward(tg["TargetGroupArn"]),
    )["Rules"][0]
    elb.add_tags(ResourceArns=[rule["RuleArn"]], Tags=[{"Key": "k", "Value": "v"}])
    used = elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
    assert [g["TargetGroupArn"] for g in used] == [tg["TargetGroupArn"]]
    assert error(lambda: elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"]))[0] == "ResourceInUse"
    elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    assert (
        error(lambda: elb.describe_listeners(ListenerArns=[listener["ListenerArn"]]))[0] == "ListenerNotFound"
    )
    assert error(lambda: elb.describe_rules(RuleArns=[rule["RuleArn"]]))[0] == "RuleNotFound"
    assert elb.describe_target_groups()["TargetGroups"][0]["LoadBalancerArns"] == []
    elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])  # already gone: still succeeds
    elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])
    assert create_alb(elb, ec2)["LoadBalancerArn"] != lb["LoadBalancerArn"]  # the name is free again


def test_tags(elb: Any, ec2: Any) -> None:
    arn = create_alb(elb, ec2, Tags=[{"Key": "team", "Value": "web"}])["LoadBalancerArn"]
    tg = create_tg(elb, ec2)["TargetGroupArn"]
    elb.add_tags(ResourceArns=[arn, tg], Tags=[{"Key": "env", "Value": "prod"}])
    elb.remove_tags(ResourceArns=[arn], TagKeys=["team"])
    described = elb.describe_tags(ResourceArns=[arn, tg])["TagDescriptions"]
    assert described == [
        {"ResourceArn": arn, "Tags": [{"Key": "env", "Value": "prod"}]},
        {"ResourceArn": tg, "Tags": [{"Key": "env", "Value": "prod"}]},
    ]
    missing = ARN_PREFIX + "targetgroup/gone/0123456789abcdef"
    code, message = error(
        lambda: elb.add_tags(ResourceArns=[arn, missing], Tags=[{"Key": "x", "Value": "1"}])
    )
    assert (code, message) == ("TargetGroupNotFound", "One or more target groups not found")
    assert {t["Key"] for t in elb.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]} == {"env"}
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    assert error(lambda: elb.add_tags(ResourceArns=[arn], Tags=many))[0] == "TooManyTags"


def test_account_limits(elb: Any) -> None:
    limits = {limit["Name"]: limit["Max"] for limit in elb.describe_account_limits()["Limits"]}
    assert limits["application-load-balancers"] == "50"
    assert limits["rules-per-application-load-balancer"] == "100"
    assert limits["targets-per-application-load-balancer"] == "1000"


def test_aws_cli(server: ThreadedServer, ec2: Any) -> None:
    subnets = subnet_ids(ec2)
    code, out, _ = aws_cli(
        server.endpoint, "elbv2", "create-load-balancer", "--name", "cli", "--subnets", *subnets[:2]
    )
    assert code == 0
    lb_arn = out["LoadBalancers"][0]["LoadBalancerArn"]
    code, out, _ = aws_cli(server.endpoint, "elbv2", "describe-load-balancers", "--names", "cli")
    assert code == 0 and out["LoadBalancers"][0]["LoadBalancerArn"] == lb_arn
    code, out, stderr = aws_cli(server.endpoint, "elbv2", "describe-load-balancers", "--names", "nope")
    assert code != 0 and out is None
    assert "LoadBalancerNotFound" in stderr and "Load balancers '[nope]' not found" in stderr
    code, _, _ = aws_cli(server.endpoint, "elbv2", "wait", "load-balancer-available", "--names", "cli")
    assert code == 0


def test_network_settings(elb: Any, ec2: Any) -> None:
    subnets = subnet_ids(ec2)
    arn = create_alb(elb, ec2)["LoadBalancerArn"]
    group = ec2.create_security_group(GroupName="lb", Description="load balancer")["GroupId"]
    assert elb.set_security_groups(LoadBalancerArn=arn, SecurityGroups=[group])["SecurityGroupIds"] == [group]
    code, _ = error(
        lambda: elb.set_security_groups(LoadBalancerArn=arn, SecurityGroups=["sg-0123456789abcdef0"])
    )
    assert code == "InvalidSecurityGroup"
    zones = elb.set_subnets(LoadBalancerArn=arn, Subnets=subnets)["AvailabilityZones"]
    assert [z["SubnetId"] for z in zones] == subnets
    code, _ = error(lambda: elb.set_subnets(LoadBalancerArn=arn, Subnets=subnets[:1]))
    assert code == "InvalidConfigurationRequest"
    code, _ = error(lambda: elb.set_ip_address_type(LoadBalancerArn=arn, IpAddressType="dualstack"))
    assert code == "InvalidConfigurationRequest"
    assert elb.set_ip_address_type(LoadBalancerArn=arn, IpAddressType="ipv4")["IpAddressType"] == "ipv4"
    described = elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    assert described["SecurityGroups"] == [group]
    assert [z["SubnetId"] for z in described["AvailabilityZones"]] == subnets
