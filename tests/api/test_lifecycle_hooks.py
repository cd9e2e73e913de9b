"""Auto Scaling lifecycle hooks (boto3, simulated instances): PutLifecycleHook and its checks,
instances held in Pending:Wait / Terminating:Wait until CompleteLifecycleAction, heartbeats, and
heartbeat timeouts taking the default result."""

from __future__ import annotations

from typing import Any

from dockyard.core.vpc import default_subnets
from dockyard.services.autoscaling.lifecycle_hooks import (
    LAUNCHING,
    TERMINATING,
    enter_wait,
    expire,
    next_deadline,
)
from tests.api.capacity_helpers import (  # noqa: F401  (fixtures)
    AMI,
    autoscaling_fixture,
    capacity_server_fixture,
    clean_fixture,
    ec2_fixture,
    error,
    user_data_b64,
    wait_for,
    wait_state,
)

SUBNETS = [s.subnet_id for s in default_subnets("123456789012", "us-east-1")]


def _group(ec2: Any, autoscaling: Any, desired: int = 0) -> None:
    ec2.create_launch_template(
        LaunchTemplateName="nodes",
        LaunchTemplateData={"ImageId": AMI, "InstanceType": "t2.micro", "UserData": user_data_b64("hooks")},
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="g",
        LaunchTemplate={"LaunchTemplateName": "nodes", "Version": "$Latest"},
        MinSize=0,
        MaxSize=3,
        DesiredCapacity=desired,
        VPCZoneIdentifier=",".join(SUBNETS),
    )


def _members(autoscaling: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["g"])[
        "AutoScalingGroups"
    ][0]["Instances"]
    return found


def _in_state(autoscaling: Any, state: str) -> list[dict[str, Any]] | None:
    members = _members(autoscaling)
    return members if members and all(m["LifecycleState"] == state for m in members) else None


def test_put_describe_delete_and_checks(ec2: Any, autoscaling: Any) -> None:
    _group(ec2, autoscaling)
    autoscaling.put_lifecycle_hook(
        AutoScalingGroupName="g",
        LifecycleHookName="drain",
        LifecycleTransition=TERMINATING,
        HeartbeatTimeout=120,
    )
    assert autoscaling.describe_lifecycle_hooks(AutoScalingGroupName="g")["LifecycleHooks"] == [
        {
            "LifecycleHookName": "drain",
            "AutoScalingGroupName": "g",
            "LifecycleTransition": TERMINATING,
            "HeartbeatTimeout": 120,
            "GlobalTimeout": 12000,
            "DefaultResult": "ABANDON",
        }
    ]
    autoscaling.put_lifecycle_hook(
        AutoScalingGroupName="g", LifecycleHookName="drain", DefaultResult="CONTINUE"
    )
    hook = autoscaling.describe_lifecycle_hooks(AutoScalingGroupName="g", LifecycleHookNames=["drain"])[
        "LifecycleHooks"
    ][0]
    assert (hook["DefaultResult"], hook["HeartbeatTimeout"], hook["LifecycleTransition"]) == (
        "CONTINUE",
        120,
        TERMINATING,
    )
    assert (
        error(lambda: autoscaling.put_lifecycle_hook(AutoScalingGroupName="g", LifecycleHookName="new"))[0]
        == "ValidationError"
    )
    assert (
        error(
            lambda: autoscaling.put_lifecycle_hook(
                AutoScalingGroupName="g",
                LifecycleHookName="x",
                LifecycleTransition="autoscaling:EC2_INSTANCE_LOST",
            )
        )[0]
        == "ValidationError"
    )
    assert (
        error(
            lambda: autoscaling.put_lifecycle_hook(
                AutoScalingGroupName="g",
                LifecycleHookName="x",
                LifecycleTransition=LAUNCHING,
                HeartbeatTimeout=10,
            )
        )[0]
        == "ValidationError"
    )
    assert error(
        lambda: autoscaling.put_lifecycle_hook(
            AutoScalingGroupName="nope", LifecycleHookName="x", LifecycleTransition=LAUNCHING
        )
    ) == ("ValidationError", "AutoScalingGroup name not found - AutoScalingGroup nope not found")
    autoscaling.delete_lifecycle_hook(AutoScalingGroupName="g", LifecycleHookName="drain")
    assert autoscaling.describe_lifecycle_hooks(AutoScalingGroupName="g")["LifecycleHooks"] == []
    assert (
        error(lambda: autoscaling.delete_lifecycle_hook(AutoScalingGroupName="g", LifecycleHookName="drain"))[
            0
        ]
        == "ValidationError"
    )


def test_a_terminating_instance_waits_for_its_hook(ec2: Any, autoscaling: Any) -> None:
    _group(ec2, autoscaling, desired=1)
    instance_id = wait_for(lambda: _in_state(autoscaling, "InService"), what="an instance")[0]["InstanceId"]
    autoscaling.put_lifecycle_hook(
        AutoScalingGroupName="g", LifecycleHookName="drain", LifecycleTransition=TERMINATING
    )
    assert error(
        lambda: autoscaling.complete_lifecycle_action(
            AutoScalingGroupName="g",
            LifecycleHookName="drain",
            InstanceId=instance_id,
            LifecycleActionResult="CONTINUE",
        )
    ) == ("ValidationError", f"No active Lifecycle Action found with instance ID {instance_id}")
    autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=0)
    wait_for(lambda: _in_state(autoscaling, "Terminating:Wait"), what="Terminating:Wait")
    assert wait_state(ec2, instance_id, "running")  # held: not terminated yet
    autoscaling.record_lifecycle_action_heartbeat(
        AutoScalingGroupName="g", LifecycleHookName="drain", InstanceId=instance_id
    )
    autoscaling.complete_lifecycle_action(
        AutoScalingGroupName="g",
        LifecycleHookName="drain",
        InstanceId=instance_id,
        LifecycleActionResult="CONTINUE",
    )
    wait_state(ec2, instance_id, "terminated")
    wait_for(lambda: not _members(autoscaling) or None, what="the group to empty")


def test_terminate_instance_in_group_waits_too(ec2: Any, autoscaling: Any) -> None:
    _group(ec2, autoscaling, desired=1)
    instance_id = wait_for(lambda: _in_state(autoscaling, "InService"), what="an instance")[0]["InstanceId"]
    autoscaling.put_lifecycle_hook(
        AutoScalingGroupName="g", LifecycleHookName="drain", LifecycleTransition=TERMINATING
    )
    autoscaling.terminate_instance_in_auto_scaling_group(
        InstanceId=instance_id, ShouldDecrementDesiredCapacity=True
    )
    assert _members(autoscaling)[0]["LifecycleState"] == "Terminating:Wait"
    autoscaling.complete_lifecycle_action(
        AutoScalingGroupName="g",
        LifecycleHookName="drain",
        InstanceId=instance_id,
        LifecycleActionResult="ABANDON",
    )
    wait_state(ec2, instance_id, "terminated")  # a terminating instance goes either way


def test_launch_hooks_continue_or_abandon(ec2: Any, autoscaling: Any) -> None:
    _group(ec2, autoscaling)
    autoscaling.put_lifecycle_hook(
        AutoScalingGroupName="g", LifecycleHookName="warm", LifecycleTransition=LAUNCHING
    )
    autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=1)
    first = wait_for(lambda: _in_state(autoscaling, "Pending:Wait"), what="Pending:Wait")[0]["InstanceId"]
    autoscaling.complete_lifecycle_action(
        AutoScalingGroupName="g", LifecycleHookName="warm", InstanceId=first, LifecycleActionResult="ABANDON"
    )
    wait_state(ec2, first, "terminated")  # abandoned: terminated and replaced
    second = wait_for(
        lambda: [
            m
            for m in _members(autoscaling)
            if m["InstanceId"] != first and m["LifecycleState"] == "Pending:Wait"
        ],
        what="a replacement waiting",
    )[0]["InstanceId"]
    autoscaling.complete_lifecycle_action(
        AutoScalingGroupName="g",
        LifecycleHookName="warm",
        InstanceId=second,
        LifecycleActionResult="CONTINUE",
    )
    wait_for(lambda: _in_state(autoscaling, "InService"), what="InService after CONTINUE")


def test_heartbeat_timeouts_take_the_default_result() -> None:
    member: dict[str, Any] = {"LifecycleState": "Terminating", "dockyard": {}}
    hooks = [
        {
            "LifecycleHookName": "a",
            "LifecycleTransition": TERMINATING,
            "HeartbeatTimeout": 30,
            "DefaultResult": "CONTINUE",
        },
        {
            "LifecycleHookName": "b",
            "LifecycleTransition": TERMINATING,
            "HeartbeatTimeout": 60,
            "DefaultResult": "ABANDON",
        },
    ]
    assert enter_wait(member, hooks, now=100.0, token="t")
    assert member["LifecycleState"] == "Terminating:Wait" and next_deadline(member) == 130.0
    assert not expire(member, 129.0)
    assert expire(member, 130.0) and member["LifecycleState"] == "Terminating:Wait"  # "b" is still open
    assert next_deadline(member) == 160.0
    assert expire(member, 200.0) and member["LifecycleState"] == "Terminating:Proceed"
    launching: dict[str, Any] = {"LifecycleState": "Pending", "dockyard": {}}
    enter_wait(launching, [{**hooks[1], "LifecycleTransition": LAUNCHING}], now=0.0, token="t")
    assert expire(launching, 60.0)
    assert (
        launching["LifecycleState"] == "Pending:Proceed"
        and launching["dockyard"]["lifecycle"]["result"] == "ABANDON"
    )
    assert not enter_wait({"LifecycleState": "Pending", "dockyard": {}}, [], now=0.0, token="t")
