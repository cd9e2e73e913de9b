"""`dockyard placement explain`: the request it builds from its flags and the table it prints.

Pure: a fixed explanation (shaped as `POST /_dockyard/placement/explain` answers) is rendered; the
flags are parsed by the real `dockyard` parser. tests/api/test_placement_explain.py covers the
server side.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from dockyard.cli.main import _parser, main
from dockyard.cli.placement import build_request, describe_failure, parse_items, render

ARN = "arn:aws:ecs:us-east-1:123456789012:container-instance/demo/"
A, B, C = (ARN + c * 32 for c in "abc")


def node(arn: str, zone: str, memory: int, **extra: Any) -> dict[str, Any]:
    return {
        "containerInstanceArn": arn,
        "ec2InstanceId": "i-0" + arn[-1] * 16,
        "availabilityZone": zone,
        "instanceType": "t3.micro",
        "status": "ACTIVE",
        "agentConnected": True,
        "remaining": {"cpu": 2048, "memory": memory},
        "runningTasksCount": 0,
        "candidate": True,
        **extra,
    }


def passed(*names: str) -> list[dict[str, Any]]:
    return [{"check": name, "passed": True} for name in names]


MEMORY_FAIL = {
    "check": "memory",
    "passed": False,
    "reason": "RESOURCE:MEMORY",
    "detail": {"required": 512, "remaining": 83},
}
DISTINCT_FAIL = {
    "check": "distinctInstance",
    "passed": False,
    "reason": "DistinctInstance placement constraint unsatisfied.",
    "detail": {"group": "family:web", "tasksOfGroup": 1},
}

REPORT: dict[str, Any] = {
    "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
    "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
    "launchType": "EC2",
    "count": 2,
    "group": "family:web",
    "demand": {"cpu": 0, "memory": 512, "portsTcp": [], "portsUdp": [], "placementConstraints": []},
    "strategies": ["binpack(memory)"],
    "copies": [
        {
            "copy": 1,
            "choice": B,
            "candidates": 3,
            "feasible": 2,
            "best": [B, C],
            "outcome": {"placeable": True},
            "instances": [
                node(A, "us-east-1a", 83, feasible=False, failedCheck="memory", reason="RESOURCE:MEMORY",
                     checks=[*passed("status", "agent"), MEMORY_FAIL, DISTINCT_FAIL]),
                node(B, "us-east-1b", 983, feasible=True, checks=passed("status", "memory"),
                     rank=[{"strategy": "binpack(memory)", "key": 983}]),
                node(C, "us-east-1c", 983, feasible=True, checks=passed("status", "memory"),
                     rank=[{"strategy": "binpack(memory)", "key": 983}]),
            ],
        },
        {
            "copy": 2,
            "choice": None,
            "candidates": 3,
            "feasible": 0,
            "best": [],
            "outcome": {"placeable": False, "reason": "RESOURCE:MEMORY", "closest": C,
                        "filtered": {"memory": 3}},
            "instances": [node(A, "us-east-1a", 83, feasible=False, checks=[MEMORY_FAIL])],
        },
    ],
    "failures": [{"arn": C, "reason": "RESOURCE:MEMORY"}],
}  # fmt: skip


def test_the_table_shows_each_instance_its_checks_and_the_choice() -> None:
    lines = render(REPORT).splitlines()
    assert lines[0] == "Placement of 2 copies of web:3 (EC2) in cluster demo, group family:web"
    assert lines[1] == "Each copy needs: 0 CPU units, 512 MiB"
    assert lines[2] == "Strategies: binpack(memory)"
    assert lines[4] == f"Copy 1 of 2: placed on {'b' * 32} (i-0{'b' * 16}, us-east-1b), " + (
        "chosen at random among 2 tied instances"
    )
    header = lines[5].split()
    assert header == ["instance", "ec2", "instance", "zone", "type", "cpu", "left", "memory", "left", "tasks",
                      "keys", "result"]  # fmt: skip
    rows = {line.split()[1] if line.split()[0] in "*=" else line.split()[0]: line for line in lines[7:10]}
    assert rows["a" * 12].split()[:7] == [
        "a" * 12,
        "i-0" + "a" * 16,
        "us-east-1a",
        "t3.micro",
        "2048",
        "83",
        "0",
    ]
    assert rows["a" * 12].endswith(
        "memory: needs 512 MiB, 83 left [RESOURCE:MEMORY]; distinctInstance: 1 task of its group here"
    )
    assert rows["b" * 12].lstrip().startswith("*") and rows["b" * 12].split()[-2:] == ["983", "fits"]
    assert rows["c" * 12].lstrip().startswith("=")  # tied with the choice
    assert lines[11] == f"Copy 2 of 2: not placed: RESOURCE:MEMORY (closest instance {'c' * 32})"
    assert lines[-2] == "RunTask would place 1 of 2."
    assert lines[-1] == f"  failure: RESOURCE:MEMORY (closest instance {'c' * 32})"


def test_columns_line_up() -> None:
    table = render(REPORT).splitlines()[5:10]
    starts = [line.index("fits") for line in table if line.endswith("fits")]
    assert len(set(starts)) == 1 and len(starts) == 2
    assert len({line.index("us-east-1") for line in table if "us-east-1" in line}) == 1


def test_refusals_and_fargate_are_said_in_words() -> None:
    refused = {
        **REPORT,
        "copies": [{**REPORT["copies"][1], "instances": [], "outcome": {"reason": "No Container Instances "
                    "were found in your cluster.", "closest": None}}],
        "failures": [],
        "runTaskError": {"code": "InvalidParameterException",
                         "message": "No Container Instances were found in your cluster."},
    }  # fmt: skip
    assert render(refused).splitlines()[-1] == (
        "RunTask would fail: InvalidParameterException: No Container Instances were found in your cluster."
    )
    fargate = {
        "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/default",
        "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/hello:1",
        "launchType": "FARGATE",
        "count": 1,
        "group": "family:hello",
        "demand": {"launchType": "FARGATE", "cpu": 256, "memory": 512},
        "copies": [],
        "failures": [],
        "fargate": {"note": "FARGATE tasks have no instance placement.", "subnets": ["subnet-1"],
                    "availabilityZones": ["us-east-1a"]},
    }  # fmt: skip
    text = render(fargate)
    assert (
        text.splitlines()[0]
        == "Placement of 1 copy of hello:1 (FARGATE) in cluster default, group family:hello"
    )
    assert "FARGATE tasks have no instance placement." in text
    assert text.splitlines()[-1] == "Subnets: subnet-1 (zones us-east-1a)"


@pytest.mark.parametrize(
    "check, text",
    [
        ({"check": "cpu", "reason": "RESOURCE:CPU", "detail": {"required": 512, "remaining": 256}},
         "cpu: needs 512, 256 left [RESOURCE:CPU]"),
        ({"check": "ports", "reason": "RESOURCE:PORTS", "detail": {"requested": [80], "inUse": [80]}},
         "tcp ports in use: 80 [RESOURCE:PORTS]"),
        ({"check": "attributes", "reason": "ATTRIBUTE", "detail": {"missing": ["ecs.capability.secrets"]}},
         "missing attributes: ecs.capability.secrets [ATTRIBUTE]"),
        ({"check": "location", "reason": "LOCATION",
          "detail": {"availabilityZone": "us-east-1a", "subnetZones": ["us-east-1b"]}},
         "location: zone us-east-1a is not a subnet's zone (us-east-1b) [LOCATION]"),
        ({"check": "memberOf", "reason": "MemberOf placement constraint unsatisfied.",
          "detail": {"unsatisfied": ["attribute:tier == edge"]}},
         "memberOf unsatisfied: attribute:tier == edge"),
        ({"check": "agent", "reason": "AGENT", "detail": {"agentConnected": False}},
         "agent not connected [AGENT]"),
        ({"check": "status", "reason": "INACTIVE", "detail": {"status": "DRAINING"}},
         "status DRAINING [INACTIVE]"),
    ],
)  # fmt: skip
def test_every_check_reads_with_its_numbers(check: dict[str, Any], text: str) -> None:
    assert describe_failure(check) == text


def test_flags_become_a_run_task_request() -> None:
    args = _parser().parse_args(
        [
            "placement", "explain", "--cluster", "demo", "--task-definition", "web:3", "--count", "3",
            "--placement-strategy", "type=spread,field=attribute:ecs.availability-zone",
            "type=binpack,field=memory",
            "--placement-constraints", "type=memberOf,expression=attribute:tier in [edge, core]",
            "--placement-constraints", '[{"type": "distinctInstance"}]',
            "--overrides", '{"containerOverrides": [{"name": "web", "memory": 256}]}',
            "--subnets", "subnet-1, subnet-2", "--group", "batch",
            "--capacity-provider-strategy", "capacityProvider=asg,weight=2,base=1",
        ]
    )  # fmt: skip
    assert build_request(args) == {
        "cluster": "demo",
        "taskDefinition": "web:3",
        "count": 3,
        "group": "batch",
        "placementStrategy": [
            {"type": "spread", "field": "attribute:ecs.availability-zone"},
            {"type": "binpack", "field": "memory"},
        ],
        "placementConstraints": [
            {"type": "memberOf", "expression": "attribute:tier in [edge, core]"},
            {"type": "distinctInstance"},
        ],
        "overrides": {"containerOverrides": [{"name": "web", "memory": 256}]},
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1", "subnet-2"]}},
        "capacityProviderStrategy": [{"capacityProvider": "asg", "weight": 2, "base": 1}],
    }
    minimal = build_request(_parser().parse_args(["placement", "explain", "--task-definition", "web"]))
    assert minimal == {"taskDefinition": "web", "count": 1}


def test_unreadable_flags_and_an_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError):
        parse_items(["type:binpack"], ("type", "field"))
    assert main(["placement", "explain", "--task-definition", "web", "--placement-strategy", "kind=x"]) == 2
    assert "expected type|field=VALUE pairs, not 'kind=x'" in capsys.readouterr().err
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    assert main(["placement", "explain", "--task-definition", "web", "--endpoint", endpoint]) == 1
    assert f"dockyard: cannot reach the server at {endpoint}" in capsys.readouterr().err
