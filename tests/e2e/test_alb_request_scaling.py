"""End to end: the AWS/ApplicationELB metrics HAProxy's counters become, and scaling on them.

- `test_request_count_reaches_cloudwatch` (HAProxy, no Docker): requests through a real load
  balancer to Python targets on loopback show up in GetMetricStatistics as RequestCount,
  RequestCountPerTarget, HTTPCode_Target_2XX_Count, TargetResponseTime and HealthyHostCount,
  with AWS's dimension values (`app/<name>/<id>`, `targetgroup/<name>/<id>`).
- `test_alb_request_count_per_target_scales_a_service` (Docker): a Fargate service of the hello
  image behind an ALB, with target tracking on ALBRequestCountPerTarget (10 requests per target
  per minute). A load of 10 requests a second scales it out to 3; a trickle of one a second
  (AWS reports no RequestCount without requests, so a trickle is what lets AlarmLow see data)
  brings it back to 1. DescribeScalingActivities explains both.

Both servers run on `ScaledClock(20)`: a CloudWatch minute lasts 3 real seconds, so the data
plane publishes every 3 seconds and a 10 requests/s load is 30 requests per (server) minute.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from dockyard.core.clock import ScaledClock
from dockyard.lb.config import Paths
from dockyard.lb.haproxy import HAProxy
from dockyard.testing.platform import Platform
from dockyard.testing.server import ThreadedServer
from tests.e2e.test_lb_dataplane import Elb, Target, alb, wait_serving
from tests.waiting import until

SCALE = 20.0
HELLO = "dockyard/hello:latest"
REGION = "us-east-1"


class Load:
    """GET requests to `host`:`port` from a thread, `rate` a second (changeable), until closed."""

    def __init__(self, host: str, port: int = 80, *, rate: float) -> None:
        self.host, self.port, self.rate = host, port, rate
        self.statuses: Counter[int | str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
            try:
                connection.request("GET", "/")
                response = connection.getresponse()
                response.read()
                self.statuses[response.status] += 1
            except OSError as exc:
                self.statuses[type(exc).__name__] += 1
            finally:
                connection.close()
            self._stop.wait(max(0.0, 1.0 / self.rate - (time.monotonic() - started)))

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


def statistics(
    cloudwatch: Any, now: float, name: str, dimensions: dict[str, str], statistic: str
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cloudwatch.get_metric_statistics(
        Namespace="AWS/ApplicationELB",
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=dt.datetime.fromtimestamp(now - 3600, dt.UTC),
        EndTime=dt.datetime.fromtimestamp(now + 3600, dt.UTC),
        Period=60,
        Statistics=[statistic],
    )["Datapoints"]
    return found


# -- the metrics, with Python targets ------------------------------------------------------------


@pytest.fixture
def lb_server(tmp_path: Path) -> Iterator[ThreadedServer]:
    (tmp_path / "hosts").write_text("127.0.0.1 localhost\n")
    try:
        with ThreadedServer(
            data_dir=tmp_path, hosts_file=str(tmp_path / "hosts"), clock=ScaledClock(SCALE)
        ) as running:
            yield running
    finally:
        import asyncio

        asyncio.run(HAProxy("haproxy", Paths(tmp_path / "lb", tmp_path / "lb")).stop())


def test_request_count_reaches_cloudwatch(lb_server: ThreadedServer) -> None:
    elb = Elb(lb_server)
    group = elb.target_group("counted")
    backends = [Target(21), Target(22)]
    try:
        lb, _, found = alb(elb, 21, group)
        url = str(found)  # a base URL (whatever alb's annotation says)
        elb.register(group, *backends)
        until(lambda: all(elb.state(group, t) == "healthy" for t in backends), timeout=40, what="healthy")
        wait_serving(url)
        host, port = url.removeprefix("http://").split(":")
        with Load(host, int(port), rate=20):
            time.sleep(8)  # a little more than two (server) minutes of requests
        time.sleep(2 * 60 / SCALE)  # the last minute's datapoints go out when it ends
    finally:
        for target in backends:
            target.close()
    cloudwatch = boto3.client(
        "cloudwatch", endpoint_url=lb_server.endpoint, region_name=REGION,
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="secret",
    )  # fmt: skip
    lb_dim = lb.split(":loadbalancer/", 1)[1]
    tg_dim = group.rsplit(":", 1)[1]
    assert lb_dim.startswith("app/web21/") and tg_dim.startswith("targetgroup/counted/")
    pair = {"LoadBalancer": lb_dim, "TargetGroup": tg_dim}
    served = sum(len(t.hits) for t in backends)

    def counted() -> float:
        now = lb_server.server.clock.now()
        found = statistics(cloudwatch, now, "RequestCount", {"LoadBalancer": lb_dim}, "Sum")
        return float(sum(p["Sum"] for p in found))

    # The last minute's datapoints go out once that (server) minute has ended: wait for them.
    until(lambda: counted() >= served, timeout=60, what=f"all {served} requests to be counted")
    now = lb_server.server.clock.now()
    assert served > 50 and counted() == served  # every request, in some minute, once
    by_group = statistics(cloudwatch, now, "RequestCount", pair, "Sum")
    assert sum(p["Sum"] for p in by_group) == served and all(p["Unit"] == "Count" for p in by_group)
    per_target = statistics(cloudwatch, now, "RequestCountPerTarget", {"TargetGroup": tg_dim}, "Sum")
    assert sum(p["Sum"] for p in per_target) == pytest.approx(served / 2)  # two healthy targets
    codes = statistics(cloudwatch, now, "HTTPCode_Target_2XX_Count", pair, "Sum")
    assert sum(p["Sum"] for p in codes) == served
    times = statistics(cloudwatch, now, "TargetResponseTime", {"LoadBalancer": lb_dim}, "Average")
    assert times and all(0 <= p["Average"] < 1 and p["Unit"] == "Seconds" for p in times)
    hosts = statistics(cloudwatch, now, "HealthyHostCount", pair, "Maximum")
    assert max(p["Maximum"] for p in hosts) == 2
    listed = cloudwatch.list_metrics(Namespace="AWS/ApplicationELB")["Metrics"]
    assert {"RequestCount", "RequestCountPerTarget", "UnHealthyHostCount"} <= {
        m["MetricName"] for m in listed
    }


# -- Application Auto Scaling on ALBRequestCountPerTarget, with Fargate tasks --------------------


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, built_images: None) -> Iterator[Platform]:
    running = Platform(
        tmp_path_factory.mktemp("alb-scaling"),
        server_settings={"clock": ScaledClock(SCALE), "service_healthy_delay": 0.0},
    )
    with running:
        running.aws("ecs", "create-cluster")
        yield running


def desired(platform: Platform) -> int:
    return int(platform.aws("ecs", "describe-services", "--services", "busy")["services"][0]["desiredCount"])


def healthy(platform: Platform, group: str) -> int:
    found = platform.aws("elbv2", "describe-target-health", "--target-group-arn", group)
    return sum(d["TargetHealth"]["State"] == "healthy" for d in found["TargetHealthDescriptions"])


@pytest.mark.docker
def test_alb_request_count_per_target_scales_a_service(platform: Platform) -> None:
    subnets = [platform.subnet(0), platform.subnet(1)]
    balancer = platform.aws("elbv2", "create-load-balancer", "--name", "busy", "--subnets", *subnets)[
        "LoadBalancers"
    ][0]
    vpc = platform.aws("ec2", "describe-vpcs")["Vpcs"][0]["VpcId"]
    group = platform.aws(
        "elbv2", "create-target-group", "--name", "busy", "--protocol", "HTTP", "--port", "80",
        "--vpc-id", vpc, "--target-type", "ip", "--health-check-interval-seconds", "5",
        "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2",
        "--unhealthy-threshold-count", "2",
    )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
    platform.aws(
        "elbv2", "modify-target-group-attributes", "--target-group-arn", group,
        "--attributes", "Key=deregistration_delay.timeout_seconds,Value=5",
    )  # fmt: skip
    platform.aws(
        "elbv2", "create-listener", "--load-balancer-arn", balancer["LoadBalancerArn"], "--protocol", "HTTP",
        "--port", "80", "--default-actions", f"Type=forward,TargetGroupArn={group}",
    )  # fmt: skip
    platform.aws(
        "ecs", "register-task-definition", "--family", "busy", "--requires-compatibilities", "FARGATE",
        "--network-mode", "awsvpc", "--cpu", "256", "--memory", "512",
        "--container-definitions", json.dumps([{
            "name": "web", "image": HELLO, "stopTimeout": 2, "portMappings": [{"containerPort": 80}],
        }]),
    )  # fmt: skip
    platform.aws(
        "ecs", "create-service", "--service-name", "busy", "--task-definition", "busy",
        "--desired-count", "1", "--launch-type", "FARGATE",
        "--network-configuration", f"awsvpcConfiguration={{subnets=[{platform.subnet(0)}]}}",
        "--load-balancers", f"targetGroupArn={group},containerName=web,containerPort=80",
    )  # fmt: skip
    until(lambda: healthy(platform, group) == 1, timeout=90, what="one healthy target")
    platform.aws(
        "application-autoscaling", "register-scalable-target", "--service-namespace", "ecs",
        "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", "service/default/busy",
        "--min-capacity", "1", "--max-capacity", "3",
    )  # fmt: skip
    lb_dim = balancer["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    tg_dim = group.rsplit(":", 1)[1]
    policy = platform.aws(
        "application-autoscaling", "put-scaling-policy", "--service-namespace", "ecs",
        "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", "service/default/busy",
        "--policy-name", "requests10", "--policy-type", "TargetTrackingScaling",
        "--target-tracking-scaling-policy-configuration", json.dumps({
            "TargetValue": 10.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 60,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": f"{lb_dim}/{tg_dim}",
            },
        }),
    )  # fmt: skip
    alarms = platform.aws(
        "cloudwatch", "describe-alarms", "--alarm-names", *[a["AlarmName"] for a in policy["Alarms"]]
    )
    assert {
        (a["Namespace"], a["MetricName"], json.dumps(a["Dimensions"])) for a in alarms["MetricAlarms"]
    } == {
        (
            "AWS/ApplicationELB",
            "RequestCountPerTarget",
            json.dumps([{"Name": "TargetGroup", "Value": tg_dim}]),
        )
    }

    with Load(balancer["DNSName"], rate=10) as load:  # 30 requests per (server) minute, one target
        until(lambda: desired(platform) == 3, timeout=60, what="target tracking to scale out to 3")
        until(lambda: healthy(platform, group) == 3, timeout=90, what="three healthy targets")
        assert platform.server is not None
        now = platform.server.server.clock.now()
        per_target = platform.aws(
            "cloudwatch", "get-metric-statistics", "--namespace", "AWS/ApplicationELB",
            "--metric-name", "RequestCountPerTarget", "--dimensions", f"Name=TargetGroup,Value={tg_dim}",
            "--start-time", dt.datetime.fromtimestamp(now - 3600, dt.UTC).isoformat(),
            "--end-time", dt.datetime.fromtimestamp(now + 3600, dt.UTC).isoformat(),
            "--period", "60", "--statistics", "Sum",
        )["Datapoints"]  # fmt: skip
        assert max(p["Sum"] for p in per_target) > 10.0
        load.rate = 1.0  # 3 requests per (server) minute: 1 per target, below AlarmLow's 9
        until(lambda: desired(platform) == 1, timeout=150, what="target tracking to scale back in")
    assert set(load.statuses) == {200}, load.statuses

    found = platform.aws(
        "application-autoscaling", "describe-scaling-activities", "--service-namespace", "ecs",
        "--resource-id", "service/default/busy",
    )["ScalingActivities"]  # fmt: skip
    causes = [a["Cause"] for a in found]
    assert any("AlarmHigh" in c and "triggered policy requests10" in c for c in causes), causes
    assert any("AlarmLow" in c and "triggered policy requests10" in c for c in causes), causes
    assert any(a["Description"] == "Setting desired count to 3." for a in found)
    assert all(a["StatusCode"] == "Successful" for a in found)
