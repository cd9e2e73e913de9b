"""End to end: task placement on three real EC2 agents, driven with the real AWS CLI.

Three `dockyard agent` processes register with one cluster, each in its own availability zone:
`big` (t3.small, 1966 MiB, zone a), `small-b` and `small-c` (t3.micro, 983 MiB, zones b and c;
`small-c` carries the custom attribute `tier=edge`). Tasks are bridge-mode copies of the hello
image; each test stops what it started, so every test begins with empty instances.

- binpack(memory) fills the instance with the least memory left before using the next;
- spread(attribute:ecs.availability-zone) puts three tasks in three zones;
- distinctInstance puts no two tasks of a group on one instance, and the fourth copy fails with
  `DistinctInstance placement constraint unsatisfied.` and the closest instance;
- memberOf with a cluster query picks only the instance it matches;
- a task that fits nowhere fails with `RESOURCE:MEMORY` naming the closest instance (the one with
  the most memory left), and `dockyard placement explain` shows every instance's memory check.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.testing.platform import Platform

pytestmark = pytest.mark.docker

HELLO = "dockyard/hello:latest"
CLUSTER = "placement"
DISTINCT = "DistinctInstance placement constraint unsatisfied."


class Fleet:
    def __init__(self, platform: Platform, instances: dict[str, str]) -> None:
        self.platform = platform
        self.instances = instances  # name -> container instance ARN
        self.names = {arn: name for name, arn in instances.items()}

    def aws(self, *args: str) -> Any:
        return self.platform.aws("ecs", *args)

    def run(self, family: str, *args: str) -> dict[str, Any]:
        response: dict[str, Any] = self.aws(
            "run-task", "--cluster", CLUSTER, "--task-definition", family, *args
        )
        for task in response["tasks"]:
            self.platform.wait_for_task(CLUSTER, task["taskArn"], "RUNNING")
        return response

    def where(self, response: dict[str, Any]) -> list[str]:
        return [self.names[t["containerInstanceArn"]] for t in response["tasks"]]

    def running(self) -> list[dict[str, Any]]:
        arns = self.aws("list-tasks", "--cluster", CLUSTER)["taskArns"]
        if not arns:
            return []
        tasks: list[dict[str, Any]] = self.aws("describe-tasks", "--cluster", CLUSTER, "--tasks", *arns)[
            "tasks"
        ]
        return [t for t in tasks if t["lastStatus"] == "RUNNING"]

    def remaining_memory(self, name: str) -> int:
        found = self.aws(
            "describe-container-instances",
            "--cluster",
            CLUSTER,
            "--container-instances",
            self.instances[name],
        )["containerInstances"][0]
        return int(next(r["integerValue"] for r in found["remainingResources"] if r["name"] == "MEMORY"))

    def stop_all(self) -> None:
        ecs = self.platform.ecs()
        arns = ecs.list_tasks(cluster=CLUSTER)["taskArns"]
        for arn in arns:
            ecs.stop_task(cluster=CLUSTER, task=arn, reason="test done")
        for arn in arns:
            self.platform.wait_for_task(CLUSTER, arn, "STOPPED", timeout=30)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, built_images: None) -> Iterator[Platform]:
    with Platform(tmp_path_factory.mktemp("placement"), fargate=False) as running:
        yield running


@pytest.fixture(scope="module")
def fleet(platform: Platform) -> Fleet:
    platform.aws("ecs", "create-cluster", "--cluster-name", CLUSTER)
    _, big = platform.add_instance(CLUSTER, instance_type="t3.small", zone="us-east-1a", name="big")
    _, small_b = platform.add_instance(CLUSTER, instance_type="t3.micro", zone="us-east-1b", name="small-b")
    _, small_c = platform.add_instance(
        CLUSTER, instance_type="t3.micro", zone="us-east-1c", attributes={"tier": "edge"}, name="small-c"
    )
    for family, memory in (("hello-300", 300), ("hello-64", 64), ("hello-huge", 2500)):
        container = {
            "name": "web",
            "image": HELLO,
            "memory": memory,
            "portMappings": [{"containerPort": 80, "hostPort": 0}],
            "stopTimeout": 2,
        }
        platform.aws(
            "ecs",
            "register-task-definition",
            "--family",
            family,
            "--network-mode",
            "bridge",
            "--container-definitions",
            json.dumps([container]),
        )
    return Fleet(platform, {"big": big, "small-b": small_b, "small-c": small_c})


@pytest.fixture
def cluster(fleet: Fleet) -> Iterator[Fleet]:
    try:
        yield fleet
    finally:
        fleet.stop_all()


def test_instances_register_in_their_zones(cluster: Fleet) -> None:
    arns = list(cluster.instances.values())
    described = cluster.aws(
        "describe-container-instances", "--cluster", CLUSTER, "--container-instances", *arns
    )
    zones = {}
    for found in described["containerInstances"]:
        attributes = {a["name"]: a.get("value") for a in found["attributes"]}
        zones[cluster.names[found["containerInstanceArn"]]] = (
            attributes["ecs.availability-zone"],
            attributes["ecs.instance-type"],
            attributes.get("tier"),
        )
    assert zones == {
        "big": ("us-east-1a", "t3.small", None),
        "small-b": ("us-east-1b", "t3.micro", None),
        "small-c": ("us-east-1c", "t3.micro", "edge"),
    }


def test_binpack_memory_fills_one_instance_before_the_next(cluster: Fleet) -> None:
    response = cluster.run("hello-300", "--count", "4", "--placement-strategy", "type=binpack,field=memory")
    assert response["failures"] == []
    placed = Counter(cluster.where(response))
    # three copies (900 MiB of 983) fill one t3.micro; the fourth goes to the other, never to big
    assert sorted(placed.values()) == [1, 3] and "big" not in placed
    full = next(name for name, n in placed.items() if n == 3)
    assert cluster.where(response)[:3] == [full] * 3
    assert cluster.remaining_memory(full) == 983 - 900
    assert cluster.remaining_memory("big") == 1966
    # the tasks are real containers, published on their instance's own address
    task = cluster.platform.wait_for_task(CLUSTER, response["tasks"][3]["taskArn"], "RUNNING")
    binding = task["containers"][0]["networkBindings"][0]
    with urllib.request.urlopen(f"http://{binding['bindIP']}:{binding['hostPort']}/", timeout=5) as answer:
        assert task["taskArn"].rsplit("/", 1)[1] in answer.read().decode()


def test_spread_by_zone_puts_three_tasks_in_three_zones(cluster: Fleet) -> None:
    response = cluster.run(
        "hello-64",
        "--count",
        "3",
        "--placement-strategy",
        "type=spread,field=attribute:ecs.availability-zone",
    )
    assert response["failures"] == []
    assert sorted(t["availabilityZone"] for t in response["tasks"]) == [
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    ]
    assert sorted(cluster.where(response)) == ["big", "small-b", "small-c"]
    assert len(cluster.running()) == 3


def test_distinct_instance_and_the_fourth_copy(cluster: Fleet) -> None:
    response = cluster.run(
        "hello-64", "--count", "4", "--group", "web", "--placement-constraints", "type=distinctInstance"
    )
    assert sorted(cluster.where(response)) == ["big", "small-b", "small-c"]
    (failure,) = response["failures"]
    assert failure["reason"] == DISTINCT and failure["arn"] in cluster.names
    # tasks placed earlier count: one more copy of the group fits nowhere; another group does
    again = cluster.aws(
        "run-task", "--cluster", CLUSTER, "--task-definition", "hello-64", "--group", "web",
        "--placement-constraints", "type=distinctInstance",
    )  # fmt: skip
    assert again["tasks"] == [] and again["failures"][0]["reason"] == DISTINCT
    other = cluster.run("hello-64", "--group", "batch", "--placement-constraints", "type=distinctInstance")
    assert other["failures"] == [] and len(other["tasks"]) == 1


def test_member_of_picks_only_the_matching_instance(cluster: Fleet) -> None:
    expression = "attribute:tier == edge and attribute:ecs.instance-type =~ t3.*"
    response = cluster.run(
        "hello-64",
        "--count",
        "3",
        "--placement-constraints",
        f"type=memberOf,expression={expression}",
    )
    assert response["failures"] == []
    assert cluster.where(response) == ["small-c"] * 3
    none = cluster.aws(
        "run-task", "--cluster", CLUSTER, "--task-definition", "hello-64",
        "--placement-constraints",
        json.dumps([{"type": "memberOf", "expression": "attribute:ecs.availability-zone in [us-east-1d]"}]),
    )  # fmt: skip
    assert none["tasks"] == []
    assert none["failures"][0]["reason"] == "MemberOf placement constraint unsatisfied."


def test_a_task_that_fits_nowhere_names_the_closest_instance(cluster: Fleet) -> None:
    response = cluster.aws("run-task", "--cluster", CLUSTER, "--task-definition", "hello-huge")
    assert response["tasks"] == []
    assert response["failures"] == [{"arn": cluster.instances["big"], "reason": "RESOURCE:MEMORY"}]
    assert cluster.running() == []
    # the explanation a user can ask for says which instance failed which check, with the numbers
    explained = subprocess.run(
        [sys.executable, "-m", "dockyard", "placement", "explain", "--endpoint", cluster.platform.endpoint,
         "--cluster", CLUSTER, "--task-definition", "hello-huge", "--json"],
        capture_output=True, text=True, check=True, env=cluster.platform.env,
    )  # fmt: skip
    report = json.loads(explained.stdout)
    assert report["failures"] == response["failures"]
    (copy,) = report["copies"]
    memory = {
        cluster.names[i["containerInstanceArn"]]: next(c for c in i["checks"] if c["check"] == "memory")
        for i in copy["instances"]
    }
    assert memory["big"]["detail"] == {"required": 2500, "remaining": 1966}
    assert memory["small-b"]["detail"] == {"required": 2500, "remaining": 983}
    assert {m["reason"] for m in memory.values()} == {"RESOURCE:MEMORY"}
    table = subprocess.run(
        [sys.executable, "-m", "dockyard", "placement", "explain", "--endpoint", cluster.platform.endpoint,
         "--cluster", CLUSTER, "--task-definition", "hello-huge"],
        capture_output=True, text=True, check=True, env=cluster.platform.env,
    ).stdout  # fmt: skip
    assert "not placed: RESOURCE:MEMORY" in table
    assert "memory: needs 2500 MiB, 1966 left [RESOURCE:MEMORY]" in table
    assert cluster.running() == []  # nothing was started by the explanation
