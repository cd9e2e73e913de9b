"""AWS Certificate Manager through boto3: import, describe, list, get, tags, delete, errors."""

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
from tests.conftest import aws_cli, make_client


@pytest.fixture
def acm(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "acm")


def _import(acm: Any, domain: str = "www.example.com", **kwargs: Any) -> str:
    cert, key = make_certificate(domain, **kwargs)
    return str(acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"])


def test_import_and_describe(acm: Any) -> None:
    cert, key = make_certificate("www.example.com", alternative=("api.example.com",))
    arn = acm.import_certificate(Certificate=cert, PrivateKey=key, Tags=[{"Key": "team", "Value": "web"}])[
        "CertificateArn"
    ]
    assert arn.startswith("arn:aws:acm:us-east-1:123456789012:certificate/")
    detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert detail["DomainName"] == "www.example.com"
    assert detail["SubjectAlternativeNames"] == ["www.example.com", "api.example.com"]
    assert detail["Type"] == "IMPORTED"
    assert detail["Status"] == "ISSUED"
    assert detail["KeyAlgorithm"] == "RSA_2048"
    assert detail["SignatureAlgorithm"] == "SHA256WITHRSA"
    assert detail["Issuer"] == "Dockyard Tests"
    assert detail["InUseBy"] == []
    assert detail["NotBefore"] < detail["NotAfter"]
    assert ":" in detail["Serial"]
    got = acm.get_certificate(CertificateArn=arn)
    assert got["Certificate"].strip() == cert.decode().strip()
    assert "PRIVATE KEY" not in str(got)
    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == [{"Key": "team", "Value": "web"}]


def test_private_key_is_sealed_at_rest(acm: Any, server: ThreadedServer) -> None:
    cert, key = make_certificate()
    arn = acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
    from dockyard.services.acm import CERTIFICATE
    from dockyard.store import Key

    stored = server.run(server.server.store.get(Key("123456789012", "us-east-1", CERTIFICATE, arn)))
    assert stored is not None
    text = str(stored.value)
    assert "PRIVATE KEY" not in text and key.decode().splitlines()[1] not in text


def test_reimport_keeps_arn_and_tags(acm: Any) -> None:
    cert, key = make_certificate("old.example.com")
    arn = acm.import_certificate(Certificate=cert, PrivateKey=key, Tags=[{"Key": "k"}])["CertificateArn"]
    new_cert, new_key = make_certificate("new.example.com", curve=True)
    assert (
        acm.import_certificate(CertificateArn=arn, Certificate=new_cert, PrivateKey=new_key)["CertificateArn"]
        == arn
    )
    detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert (detail["DomainName"], detail["KeyAlgorithm"]) == ("new.example.com", "EC_prime256v1")
    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == [{"Key": "k"}]
    code, message = error(
        lambda: acm.import_certificate(
            CertificateArn=arn, Certificate=cert, PrivateKey=key, Tags=[{"Key": "x"}]
        )
    )
    assert (code, message) == ("ValidationException", "You cannot apply tags when reimporting a certificate.")
    missing = arn[:-4] + "0000"
    assert error(lambda: acm.import_certificate(CertificateArn=missing, Certificate=cert, PrivateKey=key))[
        0
    ] == ("ResourceNotFoundException")


def test_bad_imports_store_nothing(acm: Any) -> None:
    cert, key = make_certificate()
    other_cert, other_key = make_certificate("other.example.com")
    cases = [
        (
            b"not a certificate",
            key,
            "Unable to parse certificate. Please ensure the certificate is in PEM format.",
        ),
        (
            cert + other_cert,
            key,
            "The certificate field contains more than one certificate. "
            "You can specify only one certificate in this field.",
        ),
        (
            cert,
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "The private key is not supported.",
        ),
        (cert, other_key, "The private key does not match the public key in the certificate."),
    ]
    for certificate, private_key, message in cases:
        assert error(partial(acm.import_certificate, Certificate=certificate, PrivateKey=private_key)) == (
            "ValidationException",
            message,
        )
    assert acm.list_certificates()["CertificateSummaryList"] == []


def test_list_paginates_and_filters(acm: Any) -> None:
    arns = [_import(acm, f"site{i}.example.com") for i in range(3)]
    _import(acm, "ec.example.com", curve=True)
    expired = _import(acm, "old.example.com", days=-1, start_days_ago=10)
    listed = acm.list_certificates()["CertificateSummaryList"]
    assert [c["CertificateArn"] for c in listed] == [*arns, expired]  # RSA_2048 by default
    page = acm.list_certificates(MaxItems=2)
    assert len(page["CertificateSummaryList"]) == 2
    rest = acm.list_certificates(MaxItems=2, NextToken=page["NextToken"])
    assert [c["CertificateArn"] for c in page["CertificateSummaryList"] + rest["CertificateSummaryList"]] == [
        *arns,
        expired,
    ]
    assert "NextToken" not in rest
    only_expired = acm.list_certificates(CertificateStatuses=["EXPIRED"])["CertificateSummaryList"]
    assert [(c["CertificateArn"], c["Status"]) for c in only_expired] == [(expired, "EXPIRED")]
    ec = acm.list_certificates(Includes={"keyTypes": ["EC_prime256v1"]})["CertificateSummaryList"]
    assert [c["DomainName"] for c in ec] == ["ec.example.com"]
    paginator = acm.get_paginator("list_certificates")
    assert (
        sum(len(p["CertificateSummaryList"]) for p in paginator.paginate(PaginationConfig={"PageSize": 1}))
        == 4
    )


def test_tags(acm: Any) -> None:
    arn = _import(acm)
    acm.add_tags_to_certificate(CertificateArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b"}])
    acm.add_tags_to_certificate(CertificateArn=arn, Tags=[{"Key": "a", "Value": "2"}])
    acm.remove_tags_from_certificate(CertificateArn=arn, Tags=[{"Key": "b", "Value": "nope"}])
    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == [
        {"Key": "a", "Value": "2"},
        {"Key": "b"},
    ]
    acm.remove_tags_from_certificate(CertificateArn=arn, Tags=[{"Key": "b"}])
    assert acm.list_tags_for_certificate(CertificateArn=arn)["Tags"] == [{"Key": "a", "Value": "2"}]
    code, _ = error(lambda: acm.add_tags_to_certificate(CertificateArn=arn, Tags=[{"Key": "aws:x"}]))
    assert code == "InvalidTagException"


def test_unknown_and_malformed_arns(acm: Any) -> None:
    missing = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    assert error(lambda: acm.describe_certificate(CertificateArn=missing)) == (
        "ResourceNotFoundException",
        f"Could not find certificate {missing}.",
    )
    assert (
        error(lambda: acm.delete_certificate(CertificateArn="arn:aws:acm:us-east-1:nope:x"))[0]
        == "ValidationException"  # the model's ARN pattern
    )


def test_in_use_by_a_listener_cannot_be_deleted(acm: Any, elb: Any, ec2: Any) -> None:
    arn = _import(acm)
    lb = create_alb(elb, ec2)["LoadBalancerArn"]
    tg = create_tg(elb, ec2)["TargetGroupArn"]
    listener = elb.create_listener(
        LoadBalancerArn=lb,
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": arn}],
        DefaultActions=forward(tg),
    )["Listeners"][0]
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"] == [lb]
    assert acm.list_certificates()["CertificateSummaryList"][0]["InUse"] is True
    code, message = error(lambda: acm.delete_certificate(CertificateArn=arn))
    assert (code, message) == ("ResourceInUseException", f"Certificate {arn} in use by {lb}")
    elb.delete_listener(ListenerArn=listener["ListenerArn"])
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"] == []
    acm.delete_certificate(CertificateArn=arn)
    assert error(lambda: acm.get_certificate(CertificateArn=arn))[0] == "ResourceNotFoundException"


def test_the_aws_cli_imports_with_fileb(acm: Any, server: ThreadedServer, tmp_path: Any) -> None:
    cert, key = make_certificate("cli.example.com")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    code, out, stderr = aws_cli(
        server.endpoint,
        "acm",
        "import-certificate",
        "--certificate",
        f"fileb://{tmp_path / 'cert.pem'}",
        "--private-key",
        f"fileb://{tmp_path / 'key.pem'}",
    )
    assert code == 0, stderr
    detail = acm.describe_certificate(CertificateArn=out["CertificateArn"])["Certificate"]
    assert detail["DomainName"] == "cli.example.com"
