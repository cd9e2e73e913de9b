"""HTTPS listeners end to end: an ACM certificate served by real HAProxy, and HTTP -> HTTPS.

The certificate is imported through ACM's API (boto3, as a user would); the load balancer
documents are written into the store as in test_lb_dataplane.py. A Python HTTP target on
loopback answers; the client trusts only the imported certificate and checks the DNS name.
No Docker.
"""

# ruff: noqa: F811  (the fixtures imported from test_lb_dataplane are parameters here)

from __future__ import annotations

import http.client
import json
import socket
import ssl
import stat
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from tests.api.acm_helpers import make_certificate
from tests.conftest import make_client
from tests.e2e.test_lb_dataplane import (  # noqa: F401  (fixtures)
    LB_ADDRESS,
    Elb,
    NoRedirect,
    Target,
    data_dir,
    elb,
    forward,
    free_port,
    pytestmark,
    server,
    targets,
    until,
)


class _Tls(http.client.HTTPSConnection):
    """HTTPS to an address, with SNI and certificate checks for `name` (no DNS needed)."""

    def __init__(self, address: str, port: int, name: str, trusted: bytes) -> None:
        context = ssl.create_default_context(cadata=trusted.decode())
        super().__init__(name, port, context=context, timeout=10)
        self._address, self._name, self._context = address, name, context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), timeout=10)
        self.sock = self._context.wrap_socket(raw, server_hostname=self._name)


def _https_get(
    address: str, port: int, name: str, trusted: bytes, path: str
) -> tuple[int, dict[str, Any], str]:
    connection = _Tls(address, port, name, trusted)
    try:
        connection.request("GET", path, headers={"Host": name})
        response = connection.getresponse()
        body = response.read().decode()
        peer = connection.sock.getpeercert() if connection.sock is not None else None
        assert peer is not None
        return response.status, dict(peer), body
    finally:
        connection.close()


def _https_listener(elb: Elb, lb: str, port: int, default: list[dict[str, Any]], certificate: str) -> str:
    arn = elb.listener(lb, port, default, protocol="HTTPS")
    doc = elb.get("elbv2/listener", arn)
    assert doc is not None
    doc.update({"Certificates": [{"CertificateArn": certificate}], "SslPolicy": "ELBSecurityPolicy-2016-08"})
    elb.put("elbv2/listener", arn, doc, lb=lb)
    return arn


def test_https_listener_serves_the_imported_certificate_and_http_redirects_to_it(
    elb: Elb, targets: Callable[[int], Target]
) -> None:
    target = targets(60)
    group = elb.target_group("secure")
    elb.register(group, target)
    lb = elb.load_balancer("secure", 60)
    lb_doc = elb.get("elbv2/load-balancer", lb)
    assert lb_doc is not None
    name, address = str(lb_doc["DNSName"]), LB_ADDRESS.format(60)
    cert, key = make_certificate(name)
    acm = make_client(elb.server.endpoint, "acm")
    certificate = acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
    https_port, http_port = free_port(address), free_port(address)
    _https_listener(elb, lb, https_port, forward(group), certificate)
    redirect = {"Protocol": "HTTPS", "Port": str(https_port), "StatusCode": "HTTP_301"}
    elb.listener(lb, http_port, [{"Type": "redirect", "RedirectConfig": redirect}])
    until(lambda: elb.state(group, target) == "healthy", what="the target to be healthy")

    def answered() -> tuple[int, dict[str, Any], str] | None:
        try:
            return _https_get(address, https_port, name, cert, "/hello?x=1")
        except OSError:
            return None

    status, peer, body = until(answered, what="the HTTPS listener to answer")
    assert status == 200
    assert dict(item[0] for item in peer["subject"])["commonName"] == name
    seen = json.loads(body)
    assert (seen["target"], seen["path"]) == ("t60", "/hello?x=1")
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-port"] == str(https_port)

    # The key is on disk only for HAProxy: owner-only, under <data dir>/lb/certs/.
    certs = list((elb.server.settings.data_dir / "lb" / "certs").glob("*.pem"))  # type: ignore[operator]
    assert len(certs) == 1 and stat.S_IMODE(certs[0].stat().st_mode) == 0o600

    # HTTP -> HTTPS: the redirect names the HTTPS listener, which then answers over TLS.
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(f"http://{address}:{http_port}/moved?y=2", headers={"Host": name})
    try:
        opener.open(request, timeout=10)
        raise AssertionError("no redirect")
    except urllib.error.HTTPError as answer:
        assert answer.code == 301
        location = answer.headers["Location"]
    assert location == f"https://{name}:{https_port}/moved?y=2"
    status, _, body = _https_get(address, https_port, name, cert, "/moved?y=2")
    assert status == 200 and json.loads(body)["path"] == "/moved?y=2"

    # A re-imported certificate is served after the reload it causes.
    new_cert, new_key = make_certificate(name, alternative=("again.example.com",))
    acm.import_certificate(CertificateArn=certificate, Certificate=new_cert, PrivateKey=new_key)

    def renewed() -> bool:
        try:
            _https_get(address, https_port, name, new_cert, "/")
        except (OSError, ssl.SSLError):
            return False
        return True

    until(renewed, what="the re-imported certificate to be served")
