"""The load balancer data plane end to end: real HAProxy, Python HTTP targets on loopback.

The ELBv2 documents are written straight into the server's store, in the shapes the ELBv2 API
writes them (so health checks can run every second, below the API's 5-second minimum), and the
requests go through HAProxy like a user's would. No Docker: every address is on loopback.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dockyard.lb.config import Paths
from dockyard.lb.haproxy import HAProxy
from dockyard.store import Key, Put
from dockyard.testing.server import ThreadedServer
from tests.waiting import until

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="needs HAProxy")

ACCOUNT, REGION = "123456789012", "us-east-1"
PREFIX = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
LB_ADDRESS = "127.0.199.{}"
TARGET_ADDRESS = "127.0.198.{}"


# -- targets -------------------------------------------------------------------------------------


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # health checks close their connection with a reset once they have the answer


class Target:
    """An HTTP server on a loopback address that says who it is and what it received."""

    def __init__(self, index: int, *, port: int = 0) -> None:
        self.name = f"t{index}"
        self.health_status = 200
        self.hits: list[str] = []
        self.checks = 0
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                if self.headers.get("User-Agent") == "ELB-HealthChecker/2.0":
                    target.checks += 1
                    self._send(target.health_status, b"health")
                    return
                target.hits.append(self.path)
                if self.path.startswith("/slow"):
                    time.sleep(float(self.path.split("=", 1)[1]) if "=" in self.path else 2.0)
                body = json.dumps({"target": target.name, "path": self.path, "headers": dict(self.headers)})
                self._send(200, body.encode())

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Quiet((TARGET_ADDRESS.format(index), port), Handler)
        self.server.daemon_threads = True
        self.address, self.port = self.server.server_address[:2]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def targets() -> Iterator[Callable[[int], Target]]:
    made: list[Target] = []

    def make(index: int) -> Target:
        made.append(Target(index))
        return made[-1]

    yield make
    for target in made:
        target.close()


# -- the server and its documents ----------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("lb")
    (path / "hosts").write_text("127.0.0.1 localhost\n")
    yield path
    import asyncio

    asyncio.run(HAProxy("haproxy", Paths(path / "lb", path / "lb")).stop())


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[ThreadedServer]:
    with ThreadedServer(data_dir=data_dir, hosts_file=str(data_dir / "hosts")) as running:
        yield running


@pytest.fixture
def elb(server: ThreadedServer) -> Iterator[Elb]:
    urllib.request.urlopen(urllib.request.Request(f"{server.endpoint}/_dockyard/reset", data=b"")).read()
    yield Elb(server)


def free_port(address: str) -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


class Elb:
    """Writes ELBv2 documents the way the ELBv2 API stores them."""

    def __init__(self, server: ThreadedServer) -> None:
        self.server = server
        self.store = server.server.store
        self._n = 0

    def _id(self) -> str:
        self._n += 1
        return f"{self._n:016x}"

    def put(self, kind: str, name: str, value: dict[str, Any], **labels: str) -> None:
        self.server.run(self.store.commit([Put(Key(ACCOUNT, REGION, kind, name), value, labels=labels)]))

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        found = self.server.run(self.store.get(Key(ACCOUNT, REGION, kind, name)))
        return None if found is None else dict(found.value)

    def load_balancer(self, name: str, index: int, *, kind: str = "application", **attributes: str) -> str:
        lb_id = self._id()
        arn = f"{PREFIX}:loadbalancer/{'app' if kind == 'application' else 'net'}/{name}/{lb_id}"
        self.put(
            "elbv2/load-balancer",
            arn,
            {
                "LoadBalancerArn": arn,
                "LoadBalancerName": name,
                "DNSName": f"{name}-{lb_id}.{REGION}.elb.localhost",
                "Type": kind,
                "State": {"Code": "active"},
                "dockyard": {"Address": LB_ADDRESS.format(index), "Attributes": attributes},
            },
        )
        return arn

    def target_group(self, name: str, *, delay: int = 300, **fields: Any) -> str:
        arn = f"{PREFIX}:targetgroup/{name}/{self._id()}"
        attributes = {"deregistration_delay.timeout_seconds": str(delay)}
        attributes.update(fields.pop("attributes", {}))
        doc = {
            "TargetGroupArn": arn,
            "TargetGroupName": name,
            "Protocol": "HTTP",
            "Port": 80,
            "TargetType": "ip",
            "HealthCheckEnabled": True,
            "HealthCheckProtocol": "HTTP",
            "HealthCheckPort": "traffic-port",
            "HealthCheckPath": "/health",
            "HealthCheckIntervalSeconds": 1,
            "HealthCheckTimeoutSeconds": 3,  # generous: the targets are Python threads on a busy machine
            "HealthyThresholdCount": 2,
            "UnhealthyThresholdCount": 3,
            "Matcher": {"HttpCode": "200"},
            "dockyard": {"Attributes": attributes},
            **fields,
        }
        self.put("elbv2/target-group", arn, doc)
        self.put("elbv2/targets", arn, {"TargetGroupArn": arn, "Targets": []})
        return arn

    def listener(self, lb: str, port: int, default: list[dict[str, Any]], protocol: str = "HTTP") -> str:
        arn = lb.replace(":loadbalancer/", ":listener/") + "/" + self._id()
        self.put(
            "elbv2/listener",
            arn,
            {
                "ListenerArn": arn,
                "LoadBalancerArn": lb,
                "Port": port,
                "Protocol": protocol,
                "DefaultActions": default,
            },
            lb=lb,
        )
        rule = arn.replace(":listener/", ":listener-rule/") + "/" + self._id()
        self.put(
            "elbv2/rule",
            rule,
            {
                "RuleArn": rule,
                "Priority": "default",
                "Conditions": [],
                "Actions": default,
                "IsDefault": True,
                "dockyard": {"ListenerArn": arn, "LoadBalancerArn": lb},
            },
            listener=arn,
            lb=lb,
        )
        return arn

    def rule(
        self, listener: str, priority: int, conditions: list[dict[str, Any]], actions: list[dict[str, Any]]
    ) -> str:
        arn = listener.replace(":listener/", ":listener-rule/") + "/" + self._id()
        self.put(
            "elbv2/rule",
            arn,
            {
                "RuleArn": arn,
                "Priority": str(priority),
                "Conditions": conditions,
                "Actions": actions,
                "IsDefault": False,
                "dockyard": {"ListenerArn": listener},
            },
            listener=listener,
        )
        return arn

    def register(self, group: str, *found: Target, draining: tuple[Target, ...] = ()) -> None:
        now = time.time()
        entries = [
            {
                "Id": t.address,
                "Port": t.port,
                "Address": t.address,
                "RegisteredAt": now,
                "AvailabilityZone": "all",
            }
            for t in found
        ]
        entries += [
            {
                "Id": t.address,
                "Port": t.port,
                "Address": t.address,
                "RegisteredAt": now,
                "DeregisteredAt": now,
            }
            for t in draining
        ]
        self.put("elbv2/targets", group, {"TargetGroupArn": group, "Targets": entries})

    def health(self, group: str) -> dict[str, dict[str, str]]:
        doc = self.get("elbv2/target-health", group) or {}
        return dict(doc.get("Targets") or {})

    def state(self, group: str, target: Target) -> str | None:
        return self.health(group).get(f"{target.address}:{target.port}", {}).get("State")


def forward(group: str) -> list[dict[str, Any]]:
    return [{"Type": "forward", "TargetGroupArn": group}]


def get(url: str, *, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


def served_by(url: str) -> str:
    status, _, body = get(url)
    assert status == 200, body
    return str(json.loads(body)["target"])


def alb(elb: Elb, index: int, group: str) -> tuple[str, str, int]:
    """A load balancer with one listener forwarding to `group`: (its ARN, listener ARN, base URL)."""
    lb = elb.load_balancer(f"web{index}", index)
    port = free_port(LB_ADDRESS.format(index))
    listener = elb.listener(lb, port, forward(group))
    return lb, listener, f"http://{LB_ADDRESS.format(index)}:{port}"


def wait_serving(url: str) -> None:
    def answered() -> bool:
        try:
            get(url + "/")
        except OSError:
            return False
        return True

    until(answered, what=f"{url} to answer")


# -- tests ---------------------------------------------------------------------------------------


def test_round_robin_across_three_healthy_targets(elb: Elb, targets: Callable[[int], Target]) -> None:
    group = elb.target_group("rr")
    backends = [targets(i) for i in (1, 2, 3)]
    _, _, url = alb(elb, 1, group)
    elb.register(group, *backends)
    until(lambda: all(elb.state(group, t) == "healthy" for t in backends), what="three healthy targets")
    seen = [served_by(f"{url}/r{i}") for i in range(30)]
    assert {name: seen.count(name) for name in set(seen)} == {"t1": 10, "t2": 10, "t3": 10}


def test_no_targets_answers_503_like_alb(elb: Elb) -> None:
    group = elb.target_group("empty")
    _, _, url = alb(elb, 2, group)
    wait_serving(url)
    status, headers, body = get(url + "/")
    assert status == 503
    assert headers["server"] == "awselb/2.0"
    assert b"<title>503 Service Temporarily Unavailable</title>" in body


def test_new_target_is_initial_until_its_first_check_then_healthy(
    elb: Elb, targets: Callable[[int], Target]
) -> None:
    group = elb.target_group("fresh", HealthCheckIntervalSeconds=2, HealthyThresholdCount=3)
    first = targets(4)
    _, _, url = alb(elb, 3, group)
    elb.register(group, first)
    assert until(lambda: elb.health(group).get(f"{first.address}:{first.port}"), what="a report")[
        "State"
    ] in (
        "initial",
        "healthy",
    )
    until(lambda: elb.state(group, first) == "healthy", what="healthy after one passing check")
    assert first.checks <= 2  # one passing check is enough for a new target (not HealthyThresholdCount)
    assert served_by(url + "/") == "t4"


def test_failing_target_goes_unhealthy_with_alb_reason_and_gets_no_traffic(
    elb: Elb, targets: Callable[[int], Target]
) -> None:
    group = elb.target_group("failing")
    good, bad = targets(5), targets(6)
    _, _, url = alb(elb, 4, group)
    elb.register(group, good, bad)
    until(lambda: elb.state(group, good) == elb.state(group, bad) == "healthy", what="both healthy")
    bad.health_status = 503
    until(lambda: elb.state(group, bad) == "unhealthy", what="the failing target unhealthy")
    assert elb.health(group)[f"{bad.address}:{bad.port}"] == {
        "State": "unhealthy",
        "Reason": "Target.ResponseCodeMismatch",
        "Description": "Health checks failed with these codes: [503]",
    }
    assert {served_by(f"{url}/{i}") for i in range(10)} == {"t5"}
    bad.health_status = 200  # back after HealthyThresholdCount passing checks
    until(lambda: elb.state(group, bad) == "healthy", what="the target healthy again")
    assert {served_by(f"{url}/{i}") for i in range(10)} == {"t5", "t6"}


def test_every_target_unhealthy_fails_open(elb: Elb, targets: Callable[[int], Target]) -> None:
    group = elb.target_group("open")
    backends = [targets(7), targets(8)]
    _, _, url = alb(elb, 5, group)
    elb.register(group, *backends)
    until(lambda: all(elb.state(group, t) == "healthy" for t in backends), what="healthy targets")
    for target in backends:
        target.health_status = 500
    until(lambda: all(elb.state(group, t) == "unhealthy" for t in backends), what="every target unhealthy")
    assert {served_by(f"{url}/{i}") for i in range(10)} == {"t7", "t8"}


def test_path_and_host_rules_route_to_two_groups(elb: Elb, targets: Callable[[int], Target]) -> None:
    api, web = elb.target_group("api"), elb.target_group("web")
    api_target, web_target = targets(9), targets(10)
    _, listener, url = alb(elb, 6, web)
    elb.rule(
        listener, 10, [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}], forward(api)
    )
    elb.rule(
        listener,
        20,
        [{"Field": "host-header", "HostHeaderConfig": {"Values": ["*.api.example"]}}],
        forward(api),
    )
    elb.register(api, api_target)
    elb.register(web, web_target)
    until(
        lambda: elb.state(api, api_target) == elb.state(web, web_target) == "healthy", what="healthy targets"
    )
    assert served_by(url + "/api/v1/items?x=1") == "t9"
    assert served_by(url + "/apiary") == "t10"
    assert served_by(url + "/") == "t10"
    status, _, body = get(url + "/", headers={"Host": "eu.API.example:8080"})
    assert status == 200 and json.loads(body)["target"] == "t9"
    status, _, body = get(url + "/", headers={"Host": "api.example"})
    assert json.loads(body)["target"] == "t10"


def test_fixed_response_and_redirect(elb: Elb, targets: Callable[[int], Target]) -> None:
    group = elb.target_group("fixed")
    _, listener, url = alb(elb, 7, group)
    body = 'down for "maintenance" at 100% $HOME'
    fixed = {"StatusCode": "418", "ContentType": "application/json", "MessageBody": body}
    elb.rule(
        listener,
        5,
        [
            {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}},
            {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "mode", "Value": "maint*"}]}},
        ],
        [{"Type": "fixed-response", "FixedResponseConfig": fixed}],
    )
    redirect = {"Protocol": "HTTPS", "Port": "443", "Path": "/new/#{path}", "StatusCode": "HTTP_302"}
    elb.rule(
        listener,
        6,
        [{"Field": "path-pattern", "Values": ["/old/*"]}],
        [{"Type": "redirect", "RedirectConfig": redirect}],
    )
    wait_serving(url)
    status, headers, answer = get(url + "/x?a=1&MODE=Maintenance")
    assert (status, headers["content-type"], headers["server"], answer.decode()) == (
        418,
        "application/json",
        "awselb/2.0",
        body,
    )
    opener = urllib.request.build_opener(NoRedirect)
    host = "shop.example:" + url.rsplit(":", 1)[1]
    for path, location in (
        ("/old/a/b?q=1", "https://shop.example:443/new/old/a/b?q=1"),
        ("/old/c", "https://shop.example:443/new/old/c"),
    ):
        try:
            opener.open(urllib.request.Request(url + path, headers={"Host": host}), timeout=10)
        except urllib.error.HTTPError as error:
            assert (error.code, error.headers["Location"], error.headers["Server"]) == (
                302,
                location,
                "awselb/2.0",
            )
        else:
            raise AssertionError("no redirect")


def test_forwarded_headers(elb: Elb, targets: Callable[[int], Target]) -> None:
    group = elb.target_group("headers")
    target = targets(11)
    _, _, url = alb(elb, 8, group)
    elb.register(group, target)
    until(lambda: elb.state(group, target) == "healthy", what="a healthy target")
    status, _, body = get(url + "/h", headers={"X-Forwarded-For": "203.0.113.7, 198.51.100.1"})
    received = {k.lower(): v for k, v in json.loads(body)["headers"].items()}
    assert received["x-forwarded-for"] == "203.0.113.7, 198.51.100.1, 127.0.0.1"
    assert received["x-forwarded-proto"] == "http"
    assert received["x-forwarded-port"] == url.rsplit(":", 1)[1]
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", received["x-amzn-trace-id"])
    assert received["host"] == url.split("//", 1)[1]
    _, _, body = get(url + "/h")
    received = {k.lower(): v for k, v in json.loads(body)["headers"].items()}
    assert received["x-forwarded-for"] == "127.0.0.1"


def test_draining_finishes_in_flight_requests_and_sends_no_new_ones(
    elb: Elb, targets: Callable[[int], Target]
) -> None:
    group = elb.target_group("drain", delay=2)
    leaving, staying = targets(12), targets(13)
    _, _, url = alb(elb, 9, group)
    elb.register(group, leaving, staying)
    until(lambda: elb.state(group, leaving) == elb.state(group, staying) == "healthy", what="healthy targets")
    results: list[tuple[int, str]] = []

    def slow() -> None:
        for _ in range(4):  # round robin: at least one of them lands on `leaving`
            status, _, body = get(url + "/slow=1.5")
            results.append((status, json.loads(body)["target"] if status == 200 else body.decode()[:80]))

    workers = [threading.Thread(target=slow) for _ in range(2)]
    for worker in workers:
        worker.start()
    until(lambda: "/slow=1.5" in leaving.hits, what="a slow request on the leaving target")
    elb.register(group, staying, draining=(leaving,))
    until(lambda: elb.state(group, leaving) == "draining", what="draining reported")
    until(lambda: {served_by(f"{url}/settle{i}") for i in range(4)} == {"t13"}, what="the drain applied")
    hits_before = len(leaving.hits)
    assert {served_by(f"{url}/after{i}") for i in range(10)} == {"t13"}
    for worker in workers:
        worker.join(30)
    assert all(status == 200 for status, _ in results), results
    assert "/slow=1.5" in leaving.hits and len(leaving.hits) == hits_before
    # the ELBv2 controller removes it once the delay has passed; then the data plane forgets it
    until(lambda: f"{leaving.address}:{leaving.port}" not in elb.health(group), what="the target removed")


def test_no_failed_request_while_targets_come_and_go(elb: Elb, targets: Callable[[int], Target]) -> None:
    group = elb.target_group("churn", delay=3)
    first, second, third = targets(14), targets(15), targets(16)
    _, _, url = alb(elb, 10, group)
    elb.register(group, first)
    until(lambda: elb.state(group, first) == "healthy", what="a healthy target")
    host, port = url.split("//", 1)[1].split(":")
    failures: list[str] = []
    served: list[str] = []
    stop = threading.Event()

    def client() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        for i in range(3000):  # bounded; keep-alive, as a browser would
            if stop.is_set():
                break
            try:
                connection.request("GET", f"/c{i}")
                response = connection.getresponse()
                body = response.read()
                if response.status != 200:
                    failures.append(f"{response.status}: {body[:80]!r}")
                else:
                    served.append(json.loads(body)["target"])
            except (OSError, http.client.HTTPException) as exc:
                failures.append(repr(exc))
                connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.close()

    workers = [threading.Thread(target=client) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        elb.register(group, first, second, third)
        until(
            lambda: elb.state(group, second) == elb.state(group, third) == "healthy",
            what="new targets healthy",
        )
        until(lambda: {"t15", "t16"} <= set(served[-50:]), what="traffic on the new targets")
        elb.register(group, third, draining=(first, second))
        until(
            lambda: first.address + ":" + str(first.port) not in elb.health(group),
            what="drained targets removed",
        )
        count = len(served)
        until(lambda: len(served) > count + 50, what="more requests")
        assert set(served[count + 10 :]) == {"t16"}
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    assert not failures, failures[:5]
    assert len(served) > 100


def test_rule_changes_reload_without_failing_requests(elb: Elb, targets: Callable[[int], Target]) -> None:
    group, other = elb.target_group("reload"), elb.target_group("other")
    target, other_target = targets(17), targets(18)
    _, listener, url = alb(elb, 11, group)
    elb.register(group, target)
    elb.register(other, other_target)
    until(lambda: elb.state(group, target) == "healthy", what="a healthy target")
    failures: list[str] = []
    stop = threading.Event()

    def client() -> None:
        for i in range(2000):  # bounded; one connection per request
            if stop.is_set():
                break
            status, _, body = get(f"{url}/p{i}")
            if status != 200:
                failures.append(f"{status} {body[:60]!r}")

    worker = threading.Thread(target=client)
    worker.start()
    try:
        for priority in range(1, 6):  # each new rule is a structural change: a hitless reload
            condition = {"Field": "path-pattern", "Values": [f"/other{priority}/*"]}
            elb.rule(listener, priority, [condition], forward(other))
            until(lambda p=priority: served_by(f"{url}/other{p}/x") == "t18", what="the new rule applied")
    finally:
        stop.set()
        worker.join(60)
    assert not failures, failures[:5]
    assert elb.state(group, target) == "healthy"  # a reload keeps what the checks found


def test_curl_reaches_the_dns_name_and_the_hosts_file_has_it(
    elb: Elb, targets: Callable[[int], Target], data_dir: Path
) -> None:
    group = elb.target_group("dns")
    target = targets(19)
    lb, _, url = alb(elb, 12, group)
    elb.register(group, target)
    until(lambda: elb.state(group, target) == "healthy", what="a healthy target")
    name = str((elb.get("elbv2/load-balancer", lb) or {})["DNSName"])
    assert f"{LB_ADDRESS.format(12)} {name}" in (data_dir / "hosts").read_text().splitlines()
    port = url.rsplit(":", 1)[1]
    if shutil.which("curl") is not None:  # curl resolves *.localhost to 127.0.0.1 by itself
        import subprocess

        out = subprocess.run(
            ["curl", "-s", "--max-time", "10", f"http://{name}:{port}/via-curl"],
            capture_output=True,
            check=True,
        )
        answer = json.loads(out.stdout)
        assert answer["target"] == "t19"
        assert answer["headers"]["x-forwarded-for"] == "127.0.0.1"
    elb.server.run(elb.store.delete(Key(ACCOUNT, REGION, "elbv2/load-balancer", lb)))
    until(lambda: name not in (data_dir / "hosts").read_text(), what="the name removed")
    assert (data_dir / "hosts").read_text() == "127.0.0.1 localhost\n"


def _cookies(headers: Any) -> dict[str, str]:
    out = {}
    for header in headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        out[name] = rest.split(";", 1)[0]
    return out


def _fetch(url: str, cookie: str = "") -> tuple[str, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["target"]), _cookies(response.headers)


def test_weighted_forward_splits_by_weight_and_group_stickiness_holds(
    elb: Elb, targets: Callable[[int], Target]
) -> None:
    blue, green, unused = elb.target_group("blue"), elb.target_group("green"), elb.target_group("unused")
    blue_target, green_target, unused_target = targets(24), targets(25), targets(26)
    _, listener, url = alb(elb, 13, blue)
    split = {
        "TargetGroups": [
            {"TargetGroupArn": blue, "Weight": 1},
            {"TargetGroupArn": green, "Weight": 3},
            {"TargetGroupArn": unused, "Weight": 0},
        ]
    }
    elb.rule(
        listener,
        1,
        [{"Field": "path-pattern", "Values": ["/split*"]}],
        [{"Type": "forward", "ForwardConfig": split}],
    )
    sticky = {**split, "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300}}
    elb.rule(
        listener,
        2,
        [{"Field": "path-pattern", "Values": ["/sticky*"]}],
        [{"Type": "forward", "ForwardConfig": sticky}],
    )
    for group, target in ((blue, blue_target), (green, green_target), (unused, unused_target)):
        elb.register(group, target)
    until(
        lambda: all(elb.state(g, t) == "healthy" for g, t in ((blue, blue_target), (green, green_target))),
        what="healthy targets",
    )
    seen = [served_by(f"{url}/split{i}") for i in range(200)]
    assert 20 <= seen.count("t24") <= 80 and seen.count("t26") == 0  # weights 1:3 (0 gets nothing)
    first, cookies = _fetch(url + "/sticky")
    assert set(cookies) == {"AWSALBTG", "AWSALBTGCORS"}
    again = {_fetch(f"{url}/sticky{i}", f"AWSALBTG={cookies['AWSALBTG']}")[0] for i in range(20)}
    assert again == {first}


def test_lb_cookie_stickiness_keeps_a_client_on_its_target(
    elb: Elb, targets: Callable[[int], Target]
) -> None:
    attributes = {"stickiness.enabled": "true", "stickiness.type": "lb_cookie"}
    group = elb.target_group("sticky", attributes=attributes)
    backends = [targets(27), targets(28)]
    _, _, url = alb(elb, 14, group)
    elb.register(group, *backends)
    until(lambda: all(elb.state(group, t) == "healthy" for t in backends), what="healthy targets")
    first, cookies = _fetch(url + "/")
    assert set(cookies) == {"AWSALB", "AWSALBCORS"}
    assert {_fetch(f"{url}/{i}", f"AWSALB={cookies['AWSALB']}")[0] for i in range(10)} == {first}
    assert {_fetch(f"{url}/{i}")[0] for i in range(10)} == {"t27", "t28"}  # without it: round robin


def test_network_load_balancer_forwards_tcp_with_tcp_checks(
    elb: Elb, targets: Callable[[int], Target]
) -> None:
    group = elb.target_group("tcp", Protocol="TCP", HealthCheckProtocol="TCP")
    backends = [targets(29), targets(30)]
    lb = elb.load_balancer("tcp", 15, kind="network")
    port = free_port(LB_ADDRESS.format(15))
    elb.listener(lb, port, forward(group), protocol="TCP")
    elb.register(group, *backends)
    until(lambda: all(elb.state(group, t) == "healthy" for t in backends), what="healthy targets")
    url = f"http://{LB_ADDRESS.format(15)}:{port}"
    assert {served_by(f"{url}/{i}") for i in range(6)} == {"t29", "t30"}  # a connection each
    _, _, body = get(url + "/plain")
    assert "x-forwarded-for" not in {k.lower() for k in json.loads(body)["headers"]}  # bytes pass through
