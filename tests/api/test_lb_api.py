"""A load balancer made with the ELBv2 API serves traffic: boto3 all the way, HAProxy underneath.

A simulated EC2 instance gets a loopback address (127.1.x.y); an HTTP server on it is the
target, registered by instance id, so no Docker is needed.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dockyard.lb.config import Paths
from dockyard.lb.haproxy import HAProxy
from dockyard.testing.server import ThreadedServer
from tests.conftest import make_client

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="needs HAProxy")


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the http.server interface
        body = b"hello from the instance"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # health checks reset their connection once they have the answer


@pytest.fixture
def lb_server(tmp_path: Path) -> Iterator[ThreadedServer]:
    (tmp_path / "hosts").write_text("")
    with ThreadedServer(
        data_dir=tmp_path, hosts_file=str(tmp_path / "hosts"), simulate_instances=True
    ) as running:
        yield running
    asyncio.run(HAProxy("haproxy", Paths(tmp_path / "lb", tmp_path / "lb")).stop())


def _wait(predicate: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_alb_from_the_api_serves_its_registered_instance(lb_server: ThreadedServer, tmp_path: Path) -> None:
    ec2, elb = make_client(lb_server.endpoint, "ec2"), make_client(lb_server.endpoint, "elbv2")
    subnets = ec2.describe_subnets()["Subnets"]
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro")[
        "Instances"
    ][0]
    target = _Quiet((instance["PrivateIpAddress"], 0), _Hello)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    try:
        lb = elb.create_load_balancer(Name="hello", Subnets=[s["SubnetId"] for s in subnets[:2]])
        lb = lb["LoadBalancers"][0]
        group = elb.create_target_group(
            Name="hello",
            Protocol="HTTP",
            Port=80,
            VpcId=subnets[0]["VpcId"],
            HealthCheckIntervalSeconds=5,
            HealthCheckTimeoutSeconds=2,
            HealthyThresholdCount=2,
        )["TargetGroups"][0]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
        )
        registered = {"Id": instance["InstanceId"], "Port": target.server_address[1]}
        elb.register_targets(TargetGroupArn=group["TargetGroupArn"], Targets=[registered])

        def health() -> dict[str, str]:
            found = elb.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
            return dict(found["TargetHealthDescriptions"][0]["TargetHealth"])

        assert health()["State"] == "initial"
        _wait(lambda: health()["State"] == "healthy", "the instance healthy")

        # The DNS name: in the hosts file for most programs, by Host header on 127.0.0.1 for curl.
        hosts = (tmp_path / "hosts").read_text().splitlines()
        address = next(line.split()[0] for line in hosts if line.endswith(" " + lb["DNSName"]))
        for url, headers in (
            (f"http://{address}:{port}/", {}),
            (f"http://127.0.0.1:{port}/", {"Host": f"{lb['DNSName']}:{port}"}),
        ):
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
                assert response.read() == b"hello from the instance"

        elb.deregister_targets(TargetGroupArn=group["TargetGroupArn"], Targets=[registered])
        assert health() == {
            "State": "draining",
            "Reason": "Target.DeregistrationInProgress",
            "Description": "Target deregistration is in progress",
        }

        def unavailable() -> bool:
            try:
                urllib.request.urlopen(f"http://{address}:{port}/", timeout=10)
            except urllib.error.HTTPError as error:
                return error.code == 503 and error.headers["Server"] == "awselb/2.0"
            return False

        _wait(unavailable, "503 once the only target drains")
    finally:
        target.shutdown()
        target.server_close()
