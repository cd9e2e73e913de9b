"""End to end: ECS services behind Application Load Balancers, real Docker, HAProxy and the AWS CLI.

- The console lab: a Fargate service of the hello image behind an ALB with one task, scaled to
  three; requests to the load balancer's DNS name are answered by all three tasks in turn.
- Two bridge-mode copies of a task (containerPort 80, no host port) on one EC2 instance, both
  registered on their dynamic host ports and both serving.
- A rolling deployment of a 4-task service from revision 1 to 2 under a continuous, bounded load
  on loopback: no request fails, and afterwards only revision 2 answers. Then a revision whose
  image does not exist: the circuit breaker rolls back, and the load still sees no failure.
- Path- and host-based rules to two services behind one listener, a fixed response, a redirect.

Target groups check every 5 seconds and count a target healthy after 2 checks (AWS's minimums)
and drain for 5 seconds, so a task takes about 10 seconds to take traffic.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from dockyard.testing.platform import Platform
from tests.waiting import until

pytestmark = pytest.mark.docker

HELLO = "dockyard/hello:latest"
MISSING = "dockyard/does-not-exist:latest"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, built_images: None) -> Iterator[Platform]:
    with Platform(
        tmp_path_factory.mktemp("balancing"), server_settings={"service_healthy_delay": 0.0}
    ) as running:
        running.aws("ecs", "create-cluster")
        yield running


def get(host: str, path: str = "/", *, header_host: str | None = None) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection(host, 80, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": header_host} if header_host else {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
    finally:
        connection.close()


def field_of(body: str, name: str) -> str:
    for line in body.splitlines():
        if line.startswith(f"{name}: "):
            return line.split(": ", 1)[1]
    raise AssertionError(f"no {name} in {body!r}")


@dataclass
class Balancer:
    arn: str
    dns: str
    listener: str
    groups: dict[str, str] = field(default_factory=dict)


def load_balancer(platform: Platform, name: str) -> Balancer:
    subnets = [platform.subnet(0), platform.subnet(1)]
    lb = platform.aws("elbv2", "create-load-balancer", "--name", name, "--subnets", *subnets)[
        "LoadBalancers"
    ][0]
    return Balancer(lb["LoadBalancerArn"], lb["DNSName"], "")


def target_group(platform: Platform, name: str, target_type: str) -> str:
    vpc = platform.aws("ec2", "describe-vpcs")["Vpcs"][0]["VpcId"]
    group = platform.aws(
        "elbv2", "create-target-group", "--name", name, "--protocol", "HTTP", "--port", "80",
        "--vpc-id", vpc, "--target-type", target_type, "--health-check-interval-seconds", "5",
        "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2",
        "--unhealthy-threshold-count", "2",
    )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
    platform.aws(
        "elbv2", "modify-target-group-attributes", "--target-group-arn", group,
        "--attributes", "Key=deregistration_delay.timeout_seconds,Value=5",
    )  # fmt: skip
    return str(group)


def listen(platform: Platform, balancer: Balancer, group: str) -> None:
    balancer.listener = platform.aws(
        "elbv2", "create-listener", "--load-balancer-arn", balancer.arn, "--protocol", "HTTP", "--port", "80",
        "--default-actions", f"Type=forward,TargetGroupArn={group}",
    )["Listeners"][0]["ListenerArn"]  # fmt: skip


def fargate_family(platform: Platform, family: str, *, image: str = HELLO, version: str = "1") -> str:
    container = {
        "name": "web", "image": image, "stopTimeout": 2, "portMappings": [{"containerPort": 80}],
        "environment": [{"name": "VERSION", "value": version}],
    }  # fmt: skip
    registered = platform.aws(
        "ecs", "register-task-definition", "--family", family, "--requires-compatibilities", "FARGATE",
        "--network-mode", "awsvpc", "--cpu", "256", "--memory", "512",
        "--container-definitions", json.dumps([container]),
    )  # fmt: skip
    return str(registered["taskDefinition"]["taskDefinitionArn"])


def fargate_service(
    platform: Platform, name: str, family: str, group: str, count: int, *, deployment: str | None = None
) -> None:
    extra = ["--deployment-configuration", deployment] if deployment else []
    platform.aws(
        "ecs", "create-service", "--service-name", name, "--task-definition", family,
        "--desired-count", str(count), "--launch-type", "FARGATE",
        "--network-configuration", f"awsvpcConfiguration={{subnets=[{platform.subnet(0)}]}}",
        "--load-balancers", f"targetGroupArn={group},containerName=web,containerPort=80", *extra,
    )  # fmt: skip


def healthy_targets(platform: Platform, group: str) -> list[dict[str, Any]]:
    found = platform.aws("elbv2", "describe-target-health", "--target-group-arn", group)[
        "TargetHealthDescriptions"
    ]
    return [d for d in found if d["TargetHealth"]["State"] == "healthy"]


def service_of(platform: Platform, name: str) -> dict[str, Any]:
    found: dict[str, Any] = platform.aws("ecs", "describe-services", "--services", name)["services"][0]
    return found


def settled(platform: Platform, name: str, revision: str) -> bool:
    """One deployment, COMPLETED, of `revision`."""
    found = service_of(platform, name)
    deployments = found["deployments"]
    return (
        len(deployments) == 1
        and deployments[0]["rolloutState"] == "COMPLETED"
        and found["taskDefinition"] == revision
    )


def test_console_lab_three_tasks_answer_in_turn(platform: Platform) -> None:
    balancer = load_balancer(platform, "lab")
    group = target_group(platform, "lab", "ip")
    listen(platform, balancer, group)
    fargate_family(platform, "lab")
    fargate_service(platform, "lab", "lab", group, 1)
    until(lambda: len(healthy_targets(platform, group)) == 1, timeout=60, what="one healthy target")
    status, headers, body = get(balancer.dns)
    assert status == 200 and body.startswith("Hello from Dockyard!")
    platform.aws("ecs", "update-service", "--service", "lab", "--desired-count", "3")
    until(lambda: len(healthy_targets(platform, group)) == 3, timeout=90, what="three healthy targets")
    answered = Counter(field_of(get(balancer.dns)[2], "Task ID") for _ in range(9))
    tasks = platform.aws("ecs", "list-tasks", "--service-name", "lab")["taskArns"]
    assert set(answered) == {arn.rsplit("/", 1)[-1] for arn in tasks}  # all three, in turn
    assert sorted(answered.values()) == [3, 3, 3]
    events = [e["message"] for e in service_of(platform, "lab")["events"]]
    assert any("registered" in m and f"(target-group {group})" in m for m in events)


def test_two_bridge_copies_on_one_instance_both_serve(platform: Platform) -> None:
    # An EC2 instance (ELB registers instance targets only for instances EC2 knows).
    user_data = "#!/bin/bash\necho ECS_CLUSTER=default >> /etc/ecs/ecs.config\n"
    launched = platform.aws(
        "ec2", "run-instances", "--image-id", "ami-0a1b2c3d4e5f67890", "--instance-type", "t3.small",
        "--count", "1", "--user-data", user_data,
    )["Instances"][0]  # fmt: skip
    ec2_id = launched["InstanceId"]
    instance = until(
        lambda: platform.aws("ecs", "list-container-instances")["containerInstanceArns"],
        timeout=60,
        what="the instance to register",
    )[0]
    balancer = load_balancer(platform, "bridge")
    group = target_group(platform, "bridge", "instance")
    listen(platform, balancer, group)
    platform.aws(
        "ecs", "register-task-definition", "--family", "bridge", "--requires-compatibilities", "EC2",
        "--container-definitions", json.dumps([{
            "name": "web", "image": HELLO, "memory": 64, "stopTimeout": 2,
            "portMappings": [{"containerPort": 80}],
        }]),
    )  # fmt: skip
    platform.aws(
        "ecs", "create-service", "--service-name", "bridge", "--task-definition", "bridge",
        "--desired-count", "2", "--launch-type", "EC2",
        "--load-balancers", f"targetGroupArn={group},containerName=web,containerPort=80",
    )  # fmt: skip
    targets = until(
        lambda: (lambda t: t if len(t) == 2 else None)(healthy_targets(platform, group)),
        timeout=90,
        what="two healthy targets",
    )
    registered = platform.aws("ecs", "describe-container-instances", "--container-instances", instance)
    assert registered["containerInstances"][0]["ec2InstanceId"] == ec2_id
    assert {t["Target"]["Id"] for t in targets} == {ec2_id}
    ports = {t["Target"]["Port"] for t in targets}
    assert len(ports) == 2 and all(p >= 1024 and p != 80 for p in ports)  # two dynamic host ports
    tasks = platform.aws(
        "ecs",
        "describe-tasks",
        "--tasks",
        *platform.aws("ecs", "list-tasks", "--service-name", "bridge")["taskArns"],
    )["tasks"]
    bound = {t["containers"][0]["networkBindings"][0]["hostPort"] for t in tasks}
    assert bound == ports
    answered = {field_of(get(balancer.dns)[2], "Task ID") for _ in range(6)}
    assert answered == {t["taskArn"].rsplit("/", 1)[-1] for t in tasks}
    platform.aws("ecs", "delete-service", "--service", "bridge", "--force")
    platform.aws("ec2", "terminate-instances", "--instance-ids", ec2_id)


class Load:
    """A continuous, bounded load: sequential requests from two threads until stopped (or 600 s)."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.failures: list[str] = []
        self.versions: Counter[str] = Counter()
        self.count = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(2)]

    def _run(self) -> None:
        deadline = time.monotonic() + 600
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                status, _, body = get(self.host)
                outcome = field_of(body, "Version") if status == 200 else f"HTTP {status}"
            except Exception as exc:  # a failed request is what this counts
                outcome = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.count += 1
                if outcome.startswith(("HTTP", "ConnectionError")) or ":" in outcome:
                    self.failures.append(outcome)
                else:
                    self.versions[outcome] += 1
            time.sleep(0.02)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)


def test_rolling_deployment_and_rollback_under_load_fail_no_request(platform: Platform) -> None:
    balancer = load_balancer(platform, "roll")
    group = target_group(platform, "roll", "ip")
    listen(platform, balancer, group)
    fargate_family(platform, "roll", version="1")
    fargate_service(
        platform, "roll", "roll", group, 4,
        deployment="minimumHealthyPercent=100,maximumPercent=150,"
        "deploymentCircuitBreaker={enable=true,rollback=true}",
    )  # fmt: skip
    until(lambda: len(healthy_targets(platform, group)) == 4, timeout=120, what="four healthy targets")
    until(
        lambda: service_of(platform, "roll")["deployments"][0]["rolloutState"] == "COMPLETED",
        timeout=60,
        what="the first deployment",
    )

    revision2 = fargate_family(platform, "roll", version="2")
    with Load(balancer.dns) as load:
        time.sleep(1)
        platform.aws("ecs", "update-service", "--service", "roll", "--task-definition", revision2)
        until(lambda: settled(platform, "roll", revision2), timeout=240, what="the rolling deployment")
        until(
            lambda: all(
                d["TargetHealth"]["State"] != "draining"
                for d in platform.aws("elbv2", "describe-target-health", "--target-group-arn", group)[
                    "TargetHealthDescriptions"
                ]
            ),
            timeout=30,
            what="draining to end",
        )
        time.sleep(1)
    assert load.failures == [], load.failures[:5]
    assert load.versions["1"] > 0 and load.versions["2"] > 0
    after = Counter(field_of(get(balancer.dns)[2], "Version") for _ in range(8))
    assert after == {"2": 8}

    broken = fargate_family(platform, "roll", image=MISSING, version="3")
    with Load(balancer.dns) as load:
        platform.aws("ecs", "update-service", "--service", "roll", "--task-definition", broken)
        until(lambda: settled(platform, "roll", revision2), timeout=240, what="the rollback")
    assert load.failures == [], load.failures[:5]
    assert set(load.versions) == {"2"} and load.count > 0
    messages = [e["message"] for e in service_of(platform, "roll")["events"]]
    assert any("rolling back" in m for m in messages)


def test_path_and_host_rules_fixed_response_and_redirect(platform: Platform) -> None:
    balancer = load_balancer(platform, "rules")
    web = target_group(platform, "rules-web", "ip")
    api = target_group(platform, "rules-api", "ip")
    listen(platform, balancer, web)

    def rule(priority: int, conditions: list[dict[str, Any]], actions: list[dict[str, Any]]) -> None:
        platform.aws(
            "elbv2", "create-rule", "--listener-arn", balancer.listener, "--priority", str(priority),
            "--conditions", json.dumps(conditions), "--actions", json.dumps(actions),
        )  # fmt: skip

    rule(10, [{"Field": "path-pattern", "Values": ["/api/*"]}], [{"Type": "forward", "TargetGroupArn": api}])
    rule(
        20,
        [{"Field": "host-header", "Values": ["api.example.test"]}],
        [{"Type": "forward", "TargetGroupArn": api}],
    )
    rule(30, [{"Field": "path-pattern", "Values": ["/ping"]}], [{
        "Type": "fixed-response",
        "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain", "MessageBody": "pong"},
    }])  # fmt: skip
    rule(40, [{"Field": "path-pattern", "Values": ["/old/*"]}], [{
        "Type": "redirect",
        "RedirectConfig": {"Path": "/new/#{path}", "StatusCode": "HTTP_301", "Port": "#{port}",
                           "Protocol": "#{protocol}", "Host": "#{host}", "Query": "#{query}"},
    }])  # fmt: skip
    fargate_family(platform, "rules-web", version="web")
    fargate_family(platform, "rules-api", version="api")
    fargate_service(platform, "rules-web", "rules-web", web, 1)
    fargate_service(platform, "rules-api", "rules-api", api, 1)
    until(
        lambda: healthy_targets(platform, web) and healthy_targets(platform, api),
        timeout=90,
        what="both services healthy",
    )

    assert field_of(get(balancer.dns, "/")[2], "Version") == "web"
    assert field_of(get(balancer.dns, "/api/users")[2], "Version") == "api"
    assert field_of(get(balancer.dns, "/", header_host="api.example.test")[2], "Version") == "api"
    status, _, body = get(balancer.dns, "/ping")
    assert (status, body) == (200, "pong")
    status, headers, _ = get(balancer.dns, "/old/page")
    location = {k.lower(): v for k, v in headers.items()}["location"]
    assert status == 301 and location == f"http://{balancer.dns}:80/new/old/page", location
