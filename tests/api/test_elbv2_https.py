"""HTTPS listeners through boto3: an ACM certificate, an SSL policy, and what goes wrong."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from dockyard.testing.server import ThreadedServer
from tests.api.acm_helpers import make_certificate
from tests.api.test_elbv2_helpers import (  # noqa: F401  (fixtures)
    create_alb,
    create_tg,
    ec2_fixture,
    elb_fixture,
    error,
    forward,
)
from tests.conftest import make_client


@pytest.fixture
def certificate(server: ThreadedServer) -> str:
    cert, key = make_certificate("www.example.com")
    acm = make_client(server.endpoint, "acm")
    return str(acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"])


def test_https_listener_carries_certificate_and_default_policy(elb: Any, ec2: Any, certificate: str) -> None:
    lb = create_alb(elb, ec2)["LoadBalancerArn"]
    tg = create_tg(elb, ec2)["TargetGroupArn"]
    created = elb.create_listener(
        LoadBalancerArn=lb,
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=forward(tg),
    )["Listeners"][0]
    assert created["Certificates"] == [{"CertificateArn": certificate}]
    assert created["SslPolicy"] == "ELBSecurityPolicy-2016-08"
    described = elb.describe_listeners(ListenerArns=[created["ListenerArn"]])["Listeners"][0]
    assert (described["Protocol"], described["SslPolicy"]) == ("HTTPS", "ELBSecurityPolicy-2016-08")
    assert described["Certificates"] == [{"CertificateArn": certificate}]

    modified = elb.modify_listener(
        ListenerArn=created["ListenerArn"], SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06"
    )["Listeners"][0]
    assert modified["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert modified["Certificates"] == [{"CertificateArn": certificate}]  # kept
    plain = elb.modify_listener(ListenerArn=created["ListenerArn"], Protocol="HTTP", Port=80)["Listeners"][0]
    assert "Certificates" not in plain and "SslPolicy" not in plain


def test_http_listener_becomes_https(elb: Any, ec2: Any, certificate: str) -> None:
    lb = create_alb(elb, ec2)["LoadBalancerArn"]
    tg = create_tg(elb, ec2)["TargetGroupArn"]
    arn = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=forward(tg))[
        "Listeners"
    ][0]["ListenerArn"]
    assert error(lambda: elb.modify_listener(ListenerArn=arn, Protocol="HTTPS")) == (
        "ValidationError",
        "A certificate must be specified for HTTPS listeners",
    )
    https = elb.modify_listener(
        ListenerArn=arn, Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": certificate}]
    )["Listeners"][0]
    assert (https["Protocol"], https["SslPolicy"]) == ("HTTPS", "ELBSecurityPolicy-2016-08")


def test_bad_https_listeners_create_nothing(elb: Any, ec2: Any, certificate: str) -> None:
    lb = create_alb(elb, ec2)["LoadBalancerArn"]
    tg = create_tg(elb, ec2)["TargetGroupArn"]
    missing = certificate[:-12] + "000000000000"
    base: dict[str, Any] = {
        "LoadBalancerArn": lb,
        "Protocol": "HTTPS",
        "Port": 443,
        "DefaultActions": forward(tg),
    }
    cases: list[tuple[dict[str, Any], tuple[str, str]]] = [
        ({}, ("ValidationError", "A certificate must be specified for HTTPS listeners")),
        (
            {"Certificates": [{"CertificateArn": missing}]},
            ("CertificateNotFound", f"Certificate '{missing}' not found"),
        ),
        (
            {"Certificates": [{"CertificateArn": "not-an-arn"}]},
            ("ValidationError", "Certificate ARN 'not-an-arn' is not valid"),
        ),
        (
            {"Certificates": [{"CertificateArn": certificate.replace("us-east-1", "eu-west-1")}]},
            (
                "CertificateNotFound",
                f"Certificate '{certificate.replace('us-east-1', 'eu-west-1')}' not found",
            ),
        ),
        (
            {"Certificates": [{"CertificateArn": certificate}], "SslPolicy": "ELBSecurityPolicy-Nope"},
            ("SSLPolicyNotFound", "SSL policy 'ELBSecurityPolicy-Nope' not found"),
        ),
    ]
    for extra, expected in cases:
        assert error(partial(elb.create_listener, **base, **extra)) == expected, extra
    assert error(
        lambda: elb.create_listener(
            **{**base, "Protocol": "HTTP", "Port": 80, "Certificates": [{"CertificateArn": certificate}]}
        )
    ) == ("ValidationError", "You cannot specify certificates for a listener with the 'HTTP' protocol")
    assert elb.describe_listeners(LoadBalancerArn=lb)["Listeners"] == []


def test_a_deleted_certificate_cannot_be_used(elb: Any, ec2: Any, server: ThreadedServer) -> None:
    acm = make_client(server.endpoint, "acm")
    cert, key = make_certificate()
    arn = acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
    acm.delete_certificate(CertificateArn=arn)
    lb = create_alb(elb, ec2)["LoadBalancerArn"]
    tg = create_tg(elb, ec2)["TargetGroupArn"]
    code, _ = error(
        lambda: elb.create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTPS",
            Port=443,
            Certificates=[{"CertificateArn": arn}],
            DefaultActions=forward(tg),
        )
    )
    assert code == "CertificateNotFound"
