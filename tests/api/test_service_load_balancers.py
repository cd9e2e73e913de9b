"""ECS services behind Elastic Load Balancing (ecs.md §4.8): tasks are registered when RUNNING,
count as healthy once their targets are, drain (DEACTIVATING) before they stop, and are replaced
when they fail the target group's health checks.

The agents are played with reports (tests/api/service_helpers.py); the data plane's verdicts are
written the way the load balancer's health observer writes them (kind `elbv2/target-health`),
so these tests run without HAProxy. tests/e2e/ has the same with real traffic.
"""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.store import Key
from dockyard.testing.server import ThreadedServer
from tests.api.service_helpers import describe, eventually, messages, settle, tasks_of
from tests.api.task_helpers import bridge_td, fargate_td, network
from tests.api.test_elbv2_helpers import (
    create_alb,
    create_listener,
    create_tg,
    ec2_fixture,
    elb_fixture,
    error,
)

__all__ = ["ec2_fixture", "elb_fixture"]

ACCOUNT, REGION = "123456789012", "us-east-1"


def balanced_service(ecs: Any, elb: Any, ec2: Any, *, count: int = 2, grace: int = 0) -> str:
    lb = create_alb(elb, ec2)
    group = create_tg(elb, ec2, TargetType="ip", HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2)
    group_arn = str(group["TargetGroupArn"])
    elb.modify_target_group_attributes(
        TargetGroupArn=group_arn, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}]
    )
    create_listener(elb, lb["LoadBalancerArn"], group_arn)
    ecs.create_cluster()
    fargate_td(ecs)
    ecs.create_service(
        serviceName="web",
        taskDefinition="web",
        desiredCount=count,
        launchType="FARGATE",
        networkConfiguration=network(),
        healthCheckGracePeriodSeconds=grace,
        loadBalancers=[{"targetGroupArn": group_arn, "containerName": "app", "containerPort": 80}],
    )
    eventually(lambda: len(tasks_of(ecs, "web")) == count, message="tasks launched")
    return group_arn


def targets(elb: Any, group: str) -> dict[str, str]:
    found = elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    return {f"{d['Target']['Id']}:{d['Target']['Port']}": d["TargetHealth"]["State"] for d in found}


def task_ip(task: dict[str, Any]) -> str:
    details = task["attachments"][0]["details"]
    return next(str(d["value"]) for d in details if d["name"] == "privateIPv4Address")


def verdict(server: ThreadedServer, group: str, states: dict[str, dict[str, str]]) -> None:
    """What the load balancer's health checks see (the data plane writes this document)."""
    key = Key(ACCOUNT, REGION, "elbv2/target-health", group)
    server.run(server.server.store.put(key, {"Targets": states}))


def test_running_tasks_are_registered_and_count_when_healthy(
    ecs: Any, elb: Any, ec2: Any, server: ThreadedServer
) -> None:
    group = balanced_service(ecs, elb, ec2)
    settle(server, ecs, "web")
    tasks = tasks_of(ecs, "web")
    expected = {f"{task_ip(t)}:80" for t in tasks}
    eventually(lambda: set(targets(elb, group)) == expected, message="targets registered")
    assert set(targets(elb, group).values()) == {"initial"}
    registered = [
        int(m.split(" registered ")[1].split()[0])
        for m in messages(ecs, "web")
        if m.startswith("(service web) registered ") and m.endswith(f"targets in (target-group {group})")
    ]
    assert sum(registered) == 2
    deployment = describe(ecs, "web")["deployments"][0]
    assert deployment["rolloutState"] == "IN_PROGRESS"  # running, but not healthy behind the load balancer
    verdict(server, group, {target: {"State": "healthy"} for target in expected})
    eventually(
        lambda: describe(ecs, "web")["deployments"][0]["rolloutState"] == "COMPLETED",
        message="the deployment completes once the targets are healthy",
    )


def test_a_stopping_task_drains_first(ecs: Any, elb: Any, ec2: Any, server: ThreadedServer) -> None:
    group = balanced_service(ecs, elb, ec2, count=1)
    settle(server, ecs, "web")
    (task,) = tasks_of(ecs, "web")
    target = f"{task_ip(task)}:80"
    eventually(lambda: target in targets(elb, group), message="registered")
    elb.modify_target_group_attributes(
        TargetGroupArn=group, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "300"}]
    )
    ecs.stop_task(task=task["taskArn"], reason="draining test")
    stopping = eventually(
        lambda: (lambda t: t if t["lastStatus"] == "DEACTIVATING" else None)(
            ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]
        ),
        message="DEACTIVATING",
    )
    assert stopping["desiredStatus"] == "STOPPED"
    assert targets(elb, group)[target] == "draining"
    # The agent is still told to run it while its connections drain.
    from tests.api.task_helpers import poll

    item = next(i for i in poll(server.endpoint, "fargate")["tasks"] if i["taskArn"] == task["taskArn"])
    assert item["desiredStatus"] == "RUNNING"
    # The delay over (here: shortened by a deregistration that ELB ends at once), the agent stops it.
    elb.modify_target_group_attributes(
        TargetGroupArn=group, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}]
    )
    elb.deregister_targets(TargetGroupArn=group, Targets=[{"Id": task_ip(task), "Port": 80}])
    eventually(
        lambda: (
            next(i for i in poll(server.endpoint, "fargate")["tasks"] if i["taskArn"] == task["taskArn"])[
                "desiredStatus"
            ]
            == "STOPPED"
        ),
        message="the agent told to stop it",
    )
    assert any(f"deregistered 1 targets in (target-group {group})" in m for m in messages(ecs, "web"))


def test_failing_elb_health_checks_replace_the_task(
    ecs: Any, elb: Any, ec2: Any, server: ThreadedServer
) -> None:
    group = balanced_service(ecs, elb, ec2, count=1)
    settle(server, ecs, "web")
    (task,) = tasks_of(ecs, "web")
    target = f"{task_ip(task)}:80"
    eventually(lambda: target in targets(elb, group), message="registered")
    verdict(
        server,
        group,
        {
            target: {
                "State": "unhealthy",
                "Reason": "Target.ResponseCodeMismatch",
                "Description": "Health checks failed with these codes: [502]",
            }
        },
    )
    stopped = eventually(
        lambda: (lambda t: t if t["desiredStatus"] == "STOPPED" else None)(
            ecs.describe_tasks(tasks=[task["taskArn"]])["tasks"][0]
        ),
        message="the unhealthy task stopped",
    )
    assert stopped["stoppedReason"] == f"Task failed ELB health checks in (target-group {group})"
    assert stopped["stopCode"] == "ServiceSchedulerInitiated"
    assert (
        f"(service web) (task {task['taskArn'].rsplit('/', 1)[-1]}) is unhealthy in (target-group {group}) "
        "due to (reason Health checks failed with these codes: [502])."
    ) in messages(ecs, "web")
    eventually(lambda: len(tasks_of(ecs, "web")) == 2, message="a replacement")


@pytest.mark.parametrize(
    ("target_type", "network_mode", "message"),
    [
        (
            "instance",
            "awsvpc",
            "The provided target group {arn} has target type instance, which is incompatible with the "
            "awsvpc network mode specified in the task definition.",
        ),
        (
            "ip",
            "bridge",
            "The provided target group {arn} has target type ip, which is incompatible with the "
            "bridge network mode specified in the task definition.",
        ),
    ],
)
def test_target_type_must_match_the_network_mode(
    ecs: Any, elb: Any, ec2: Any, target_type: str, network_mode: str, message: str
) -> None:
    lb = create_alb(elb, ec2)
    group = create_tg(elb, ec2, TargetType=target_type)["TargetGroupArn"]
    create_listener(elb, lb["LoadBalancerArn"], group)
    ecs.create_cluster()
    if network_mode == "awsvpc":
        fargate_td(ecs, family="td")
        extra: dict[str, Any] = {"launchType": "FARGATE", "networkConfiguration": network()}
    else:
        bridge_td(ecs, family="td")
        extra = {}
    code, text = error(
        lambda: ecs.create_service(
            serviceName="web",
            taskDefinition="td",
            desiredCount=1,
            loadBalancers=[{"targetGroupArn": group, "containerName": "app", "containerPort": 80}],
            **extra,
        )  # fmt: skip
    )
    assert (code, text) == ("InvalidParameterException", message.format(arn=group))
    assert ecs.list_services()["serviceArns"] == []


def test_target_group_without_a_load_balancer_is_refused(ecs: Any, elb: Any, ec2: Any) -> None:
    group = create_tg(elb, ec2, TargetType="ip")["TargetGroupArn"]
    ecs.create_cluster()
    fargate_td(ecs)
    code, text = error(
        lambda: ecs.create_service(
            serviceName="web",
            taskDefinition="web",
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration=network(),
            loadBalancers=[{"targetGroupArn": group, "containerName": "app", "containerPort": 80}],
        )  # fmt: skip
    )
    assert (code, text) == (
        "InvalidParameterException",
        f"The target group with targetGroupArn {group} does not have an associated load balancer.",
    )
