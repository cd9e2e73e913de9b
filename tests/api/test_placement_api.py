"""RunTask placement through boto3: strategies, constraints, required attributes, reserved ports,
several copies in one call, the failures a user sees, and every refusal of a bad request.

Instances register as the agent does (RegisterContainerInstance with an identity document, the
agent's built-in attributes and capabilities, optional custom attributes).
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.agent.identity import registration_attributes
from dockyard.store import Key, Put
from dockyard.testing.server import ThreadedServer
from tests.api.instance_helpers import ACCOUNT, REGION, RESOURCES, identity, register
from tests.api.task_helpers import bridge_td, network, subnets

MEMBER_OF = "MemberOf placement constraint unsatisfied."
DISTINCT = "DistinctInstance placement constraint unsatisfied."


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def resources(cpu: int = 2048, memory: int = 3767) -> list[dict[str, Any]]:
    out = copy.deepcopy(RESOURCES)
    out[0]["integerValue"] = cpu
    out[1]["integerValue"] = memory
    return out


def instance(
    ecs: Any,
    number: int,
    *,
    zone: str = "us-east-1a",
    instance_type: str = "t3.medium",
    memory: int = 3767,
    cpu: int = 2048,
    custom: dict[str, str] | None = None,
    attributes: list[dict[str, Any]] | None = None,
) -> str:
    """Register an EC2 container instance the way the agent does; returns its ARN."""
    if attributes is None:
        attributes = registration_attributes(
            instance_type=None,
            zone=None,
            external=False,
            log_drivers=("json-file", "awslogs"),
            custom=custom or {},
        )
    found = register(
        ecs,
        instanceIdentityDocument=identity(
            f"i-{number:017x}",
            availabilityZone=zone,
            instanceType=instance_type,
            privateIp=f"127.0.0.{number + 1}",
        ),
        attributes=attributes,
        totalResources=resources(cpu, memory),
    )
    arn: str = found["containerInstanceArn"]
    return arn


def remaining(ecs: Any, arn: str) -> dict[str, Any]:
    found = ecs.describe_container_instances(containerInstances=[arn])["containerInstances"][0]
    return {
        r["name"]: r.get("integerValue")
        if r["type"] == "INTEGER"
        else sorted(r.get("stringSetValue", []), key=int)
        for r in found["remainingResources"]
    }


def placed_on(response: dict[str, Any]) -> list[str]:
    return [t["containerInstanceArn"] for t in response["tasks"]]


def test_binpack_memory_on_three_instances(ecs: Any) -> None:
    ecs.create_cluster()
    big = instance(ecs, 1, memory=8000)
    tight = instance(ecs, 2, memory=1100)
    mid = instance(ecs, 3, memory=2000)
    bridge_td(ecs, "api", memory=512, cpu=128)
    strategy = [{"type": "binpack", "field": "memory"}]
    first = ecs.run_task(taskDefinition="api", count=2, placementStrategy=strategy)
    assert placed_on(first) == [tight, tight]
    second = ecs.run_task(taskDefinition="api", count=4, placementStrategy=strategy)
    assert placed_on(second) == [mid, mid, mid, big]  # each copy sees the ones before it
    assert remaining(ecs, tight)["MEMORY"] == 1100 - 2 * 512
    assert remaining(ecs, mid)["MEMORY"] == 2000 - 3 * 512
    assert remaining(ecs, big)["MEMORY"] == 8000 - 512
    assert remaining(ecs, big)["CPU"] == 2048 - 128


def test_binpack_field_is_case_insensitive_and_cpu_works(ecs: Any) -> None:
    ecs.create_cluster()
    instance(ecs, 1, cpu=4096)
    small = instance(ecs, 2, cpu=1024)
    bridge_td(ecs, "api", cpu=512)
    for field in ("CPU", "cpu"):
        response = ecs.run_task(taskDefinition="api", placementStrategy=[{"type": "binpack", "field": field}])
        assert placed_on(response) == [small]


def test_spread_over_zones_then_binpack_memory(ecs: Any) -> None:
    ecs.create_cluster()
    a_small = instance(ecs, 1, zone="us-east-1a", memory=1024)
    instance(ecs, 2, zone="us-east-1a", memory=3000)
    b_small = instance(ecs, 3, zone="us-east-1b", memory=1024)
    instance(ecs, 4, zone="us-east-1b", memory=3000)
    c_small = instance(ecs, 5, zone="us-east-1c", memory=1024)
    bridge_td(ecs, "api", memory=256)
    response = ecs.run_task(
        taskDefinition="api",
        count=6,
        placementStrategy=[
            {"type": "spread", "field": "attribute:ecs.availability-zone"},
            {"type": "binpack", "field": "memory"},
        ],
    )
    assert response["failures"] == []
    assert Counter(t["availabilityZone"] for t in response["tasks"]) == {
        "us-east-1a": 2,
        "us-east-1b": 2,
        "us-east-1c": 2,
    }
    assert Counter(placed_on(response)) == {a_small: 2, b_small: 2, c_small: 2}


def test_spread_by_instance_counts_only_the_same_group(ecs: Any) -> None:
    ecs.create_cluster()
    first = instance(ecs, 1)
    second = instance(ecs, 2)
    bridge_td(ecs, "api")
    ecs.run_task(
        taskDefinition="api",
        count=3,
        group="other",
        placementStrategy=[{"type": "binpack", "field": "memory"}],
    )
    spread = [{"type": "spread", "field": "host"}]
    response = ecs.run_task(taskDefinition="api", count=4, placementStrategy=spread)
    assert Counter(placed_on(response)) == {first: 2, second: 2}
    assert {t["group"] for t in response["tasks"]} == {"family:api"}


def test_distinct_instance(ecs: Any) -> None:
    ecs.create_cluster()
    first = instance(ecs, 1)
    second = instance(ecs, 2)
    bridge_td(ecs, "api")
    distinct = [{"type": "distinctInstance"}]
    response = ecs.run_task(taskDefinition="api", count=3, placementConstraints=distinct)
    assert sorted(placed_on(response)) == sorted([first, second])
    (failure,) = response["failures"]
    assert failure["reason"] == DISTINCT and failure["arn"] in (first, second)
    # Tasks placed by earlier calls count; another group does not collide.
    again = ecs.run_task(taskDefinition="api", placementConstraints=distinct)
    assert again["tasks"] == [] and again["failures"][0]["reason"] == DISTINCT
    other = ecs.run_task(taskDefinition="api", group="batch", count=2, placementConstraints=distinct)
    assert sorted(placed_on(other)) == sorted([first, second])


def test_distinct_instance_frees_up_when_a_task_stops(ecs: Any) -> None:
    ecs.create_cluster()
    only = instance(ecs, 1)
    bridge_td(ecs, "api")
    distinct = [{"type": "distinctInstance"}]
    task = ecs.run_task(taskDefinition="api", placementConstraints=distinct)["tasks"][0]["taskArn"]
    assert ecs.run_task(taskDefinition="api", placementConstraints=distinct)["failures"] == [
        {"arn": only, "reason": DISTINCT}
    ]
    ecs.submit_task_state_change(cluster="default", task=task, status="STOPPED")
    assert placed_on(ecs.run_task(taskDefinition="api", placementConstraints=distinct)) == [only]


def test_member_of_with_attributes(ecs: Any) -> None:
    ecs.create_cluster()
    prod = instance(ecs, 1, instance_type="m5.large", custom={"stack": "prod"})
    staging = instance(ecs, 2, instance_type="t3.medium", custom={"stack": "staging"})
    bridge_td(ecs, "api")

    def run(expression: str, count: int = 2) -> dict[str, Any]:
        response: dict[str, Any] = ecs.run_task(
            taskDefinition="api",
            count=count,
            placementConstraints=[{"type": "memberOf", "expression": expression}],
        )
        return response

    assert placed_on(run("attribute:stack == prod")) == [prod, prod]
    assert placed_on(run("attribute:ecs.instance-type =~ t3.*")) == [staging, staging]
    assert placed_on(
        run("attribute:ecs.availability-zone in [us-east-1a, us-east-1b] and attribute:stack != prod")
    ) == [
        staging,
        staging,
    ]
    nothing = run("attribute:ecs.instance-type == c5.large", count=1)
    assert nothing["tasks"] == []
    assert nothing["failures"][0]["reason"] == MEMBER_OF
    assert nothing["failures"][0]["arn"] in (prod, staging)
    # A custom attribute added later with PutAttributes is seen by the next placement.
    ecs.put_attributes(attributes=[{"name": "gpu", "targetId": staging}])
    assert placed_on(run("attribute:gpu exists", count=1)) == [staging]


def test_member_of_task_group_and_task_definition_constraints_are_anded(ecs: Any) -> None:
    ecs.create_cluster()
    with_db = instance(ecs, 1, custom={"stack": "prod"})
    without_db = instance(ecs, 2, custom={"stack": "prod"})
    instance(ecs, 3, custom={"stack": "staging"})
    bridge_td(ecs, "db")
    ecs.start_task(taskDefinition="db", containerInstances=[with_db], group="service:db")
    ecs.register_task_definition(
        family="app",
        containerDefinitions=[{"name": "app", "image": "dockyard/hello:latest", "memory": 64}],
        placementConstraints=[{"type": "memberOf", "expression": "attribute:stack == prod"}],
    )
    near = ecs.run_task(
        taskDefinition="app",
        count=2,
        placementConstraints=[{"type": "memberOf", "expression": "task:group == service:db"}],
    )
    assert placed_on(near) == [with_db, with_db]
    away = ecs.run_task(
        taskDefinition="app",
        count=2,
        placementConstraints=[{"type": "memberOf", "expression": "not(task:group == service:db)"}],
    )
    assert placed_on(away) == [without_db, without_db]


def test_required_attributes_of_the_task_definition(ecs: Any) -> None:
    ecs.create_cluster()
    bare = instance(ecs, 1, attributes=[{"name": "ecs.os-type", "value": "linux"}])
    ecs.register_task_definition(
        family="logged",
        containerDefinitions=[
            {
                "name": "app",
                "image": "dockyard/hello:latest",
                "memory": 64,
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": "g", "awslogs-region": "us-east-1"},
                },
            }
        ],
    )
    assert ecs.run_task(taskDefinition="logged")["failures"] == [{"arn": bare, "reason": "ATTRIBUTE"}]
    assert ecs.start_task(taskDefinition="logged", containerInstances=[bare])["failures"] == [
        {"arn": bare, "reason": "ATTRIBUTE"}
    ]
    capable = instance(ecs, 2)
    assert placed_on(ecs.run_task(taskDefinition="logged", count=2)) == [capable, capable]


def test_static_ports_and_reserved_ports_across_instances(ecs: Any) -> None:
    ecs.create_cluster()
    first = instance(ecs, 1)
    second = instance(ecs, 2)
    bridge_td(ecs, "web", host_port=8080)
    response = ecs.run_task(taskDefinition="web", count=3)
    assert sorted(placed_on(response)) == sorted([first, second])
    assert response["failures"][0]["reason"] == "RESOURCE:PORTS"
    assert "8080" in remaining(ecs, first)["PORTS"] and "8080" in remaining(ecs, second)["PORTS"]
    bridge_td(ecs, "agent-port", host_port=51678)
    assert {f["reason"] for f in ecs.run_task(taskDefinition="agent-port")["failures"]} == {"RESOURCE:PORTS"}
    ecs.register_task_definition(
        family="dns",
        containerDefinitions=[
            {
                "name": "dns",
                "image": "dockyard/hello:latest",
                "memory": 64,
                "portMappings": [{"containerPort": 53, "hostPort": 53, "protocol": "udp"}],
            }
        ],
    )
    dns = ecs.run_task(taskDefinition="dns", count=3)
    assert len(dns["tasks"]) == 2 and dns["failures"][0]["reason"] == "RESOURCE:PORTS_UDP"
    assert remaining(ecs, first)["PORTS_UDP"] == ["53"]


def test_disconnected_agent_and_draining_instance(ecs: Any, server: ThreadedServer) -> None:
    ecs.create_cluster()
    off = instance(ecs, 1)
    key = Key(ACCOUNT, REGION, "ecs:container-instance", "default/" + off.rsplit("/", 1)[1])
    doc = server.run(server.server.store.get(key))
    assert doc is not None
    server.run(server.server.store.commit([Put(key, {**doc.value, "agentConnected": False})]))
    bridge_td(ecs, "api")
    assert ecs.run_task(taskDefinition="api")["failures"] == [{"arn": off, "reason": "AGENT"}]
    draining = instance(ecs, 2)
    ecs.update_container_instances_state(containerInstances=[draining], status="DRAINING")
    # Status is checked before the agent: the ACTIVE instance without an agent is the closer one.
    assert ecs.run_task(taskDefinition="api")["failures"] == [{"arn": off, "reason": "AGENT"}]
    fine = instance(ecs, 3)
    assert placed_on(ecs.run_task(taskDefinition="api", count=2)) == [fine, fine]


def test_awsvpc_on_ec2_needs_an_instance_in_a_subnet_zone(ecs: Any) -> None:
    ecs.create_cluster()
    zone_a = instance(ecs, 1, zone="us-east-1a")
    ecs.register_task_definition(
        family="vpc",
        networkMode="awsvpc",
        requiresCompatibilities=["EC2"],
        containerDefinitions=[{"name": "app", "image": "dockyard/hello:latest", "memory": 64}],
    )
    zone_b_subnet = subnets()[1]
    refused = ecs.run_task(taskDefinition="vpc", networkConfiguration=network([zone_b_subnet]))
    assert refused["failures"] == [{"arn": zone_a, "reason": "LOCATION"}]
    zone_b = instance(ecs, 2, zone="us-east-1b")
    task = ecs.run_task(taskDefinition="vpc", networkConfiguration=network([zone_b_subnet]))["tasks"][0]
    assert task["containerInstanceArn"] == zone_b and task["availabilityZone"] == "us-east-1b"


def test_external_instances_honour_constraints(ecs: Any) -> None:
    ecs.create_cluster()
    attributes = registration_attributes(
        instance_type=None, zone=None, external=True, log_drivers=("json-file",), custom={"site": "lab"}
    )
    lab = register(ecs, attributes=attributes)["containerInstanceArn"]
    other = register(ecs, attributes=[a for a in attributes if a["name"] != "site"])["containerInstanceArn"]
    bridge_td(ecs, "api")
    response = ecs.run_task(
        taskDefinition="api",
        launchType="EXTERNAL",
        count=2,
        placementConstraints=[{"type": "memberOf", "expression": "attribute:site == lab"}],
    )
    assert placed_on(response) == [lab, lab]
    assert other not in placed_on(response)


def test_placement_is_recorded_on_the_task(ecs: Any) -> None:
    ecs.create_cluster()
    instance(ecs, 1)
    bridge_td(ecs, "api")
    task = ecs.run_task(
        taskDefinition="api",
        group="batch:nightly",
        placementStrategy=[{"type": "random"}],
        placementConstraints=[{"type": "distinctInstance"}],
    )["tasks"][0]
    assert task["group"] == "batch:nightly"
    described = ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]
    assert described["group"] == "batch:nightly"
    assert "dockyard" not in described


# refusals ----------------------------------------------------------------------------------------

MEMBER = {"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        (
            {"placementConstraints": [{"type": "distinctInstance", "expression": "attribute:a == b"}]},
            "InvalidParameterException",
            "distinctInstance expression should not be specified.",
        ),
        (
            {"placementConstraints": [{"type": "distinctInstance", "expression": ""}]},
            "InvalidParameterException",
            "distinctInstance expression should not be specified.",
        ),
        (
            {"placementConstraints": [{"type": "memberOf"}]},
            "InvalidParameterException",
            "Placement constraint of type memberOf must have an expression.",
        ),
        (
            {"placementConstraints": [{"type": "memberOf", "expression": "attribute:a =="}]},
            "InvalidParameterException",
            "Invalid placement constraint expression: The expression ended where a value was expected.",
        ),
        (
            {"placementConstraints": [{"type": "memberOf", "expression": "attribute:a == " + "b" * 2000}]},
            "InvalidParameterException",
            "Placement constraint expression must be 2000 characters or fewer.",
        ),
        (
            {"placementConstraints": [MEMBER] * 11},
            "InvalidParameterException",
            "The maximum number of placement constraints is 10.",
        ),
        (
            {"placementConstraints": [{"type": "sometimes"}]},
            "ValidationException",
            None,
        ),
        (
            {"placementStrategy": [{"type": "binpack"}]},
            "InvalidParameterException",
            "Placement strategy of type binpack must have a field. Valid fields are cpu and memory.",
        ),
        (
            {"placementStrategy": [{"type": "binpack", "field": "disk"}]},
            "InvalidParameterException",
            "Invalid field 'disk' for placement strategy of type binpack. Valid fields are cpu and memory.",
        ),
        (
            {"placementStrategy": [{"type": "spread"}]},
            "InvalidParameterException",
            "Placement strategy of type spread must have a field. "
            "Valid fields are instanceId, host and attribute:<name>.",
        ),
        (
            {"placementStrategy": [{"type": "spread", "field": "cpu"}]},
            "InvalidParameterException",
            "Invalid field 'cpu' for placement strategy of type spread. "
            "Valid fields are instanceId, host and attribute:<name>.",
        ),
        (
            {"placementStrategy": [{"type": "random", "field": "memory"}]},
            "InvalidParameterException",
            "Placement strategy of type random does not take a field.",
        ),
        (
            {"placementStrategy": [{"type": "random"}] * 6},
            "InvalidParameterException",
            "The maximum number of placement strategies is 5.",
        ),
        (
            {"placementStrategy": [{"type": "sideways"}]},
            "ValidationException",
            None,
        ),
    ],
)
def test_placement_refusals_store_nothing(
    ecs: Any, kwargs: dict[str, Any], code: str, message: str | None
) -> None:
    ecs.create_cluster()
    instance(ecs, 1)
    bridge_td(ecs, "api")
    with pytest.raises(ClientError) as caught:
        ecs.run_task(taskDefinition="api", **kwargs)
    got_code, got_message = error(caught)
    assert got_code == code
    if message is not None:
        assert got_message == message
    assert ecs.list_tasks()["taskArns"] == []


def test_task_definition_constraints_count_toward_the_limit(ecs: Any) -> None:
    ecs.create_cluster()
    instance(ecs, 1)
    ecs.register_task_definition(
        family="constrained",
        containerDefinitions=[{"name": "app", "image": "dockyard/hello:latest", "memory": 64}],
        placementConstraints=[MEMBER] * 6,
    )
    assert len(ecs.run_task(taskDefinition="constrained", placementConstraints=[MEMBER] * 4)["tasks"]) == 1
    with pytest.raises(ClientError) as caught:
        ecs.run_task(taskDefinition="constrained", placementConstraints=[MEMBER] * 5)
    assert error(caught) == (
        "InvalidParameterException",
        "The maximum number of placement constraints is 10.",
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"placementConstraints": [MEMBER]},
            "Placement constraints are not supported with FARGATE launch type.",
        ),
        (
            {"placementStrategy": [{"type": "spread", "field": "instanceId"}]},
            "Placement strategies are not supported with FARGATE launch type.",
        ),
    ],
)
def test_fargate_refuses_placement(ecs: Any, kwargs: dict[str, Any], message: str) -> None:
    from tests.api.task_helpers import fargate_td

    ecs.create_cluster()
    fargate_td(ecs)
    with pytest.raises(ClientError) as caught:
        ecs.run_task(taskDefinition="web", launchType="FARGATE", networkConfiguration=network(), **kwargs)
    assert error(caught) == ("InvalidParameterException", message)
    empty = ecs.run_task(
        taskDefinition="web",
        launchType="FARGATE",
        networkConfiguration=network(),
        placementConstraints=[],
        placementStrategy=[],
    )
    assert len(empty["tasks"]) == 1
