"""Auto Scaling groups at work (boto3): desired capacity, zone balance, scale-in protection and the
termination policy, TerminateInstanceInAutoScalingGroup, replacement of lost instances, forced
deletion and scaling activities. Instances are simulated agents that register with ECS."""

from __future__ import annotations

from typing import Any

from dockyard.core.vpc import default_subnets
from tests.api.capacity_helpers import (  # noqa: F401  (fixtures)
    AMI,
    autoscaling_fixture,
    capacity_server_fixture,
    clean_fixture,
    ec2_fixture,
    ecs_client_fixture,
    error,
    instance,
    user_data_b64,
    wait_for,
    wait_state,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
SUBNETS = [s.subnet_id for s in default_subnets(ACCOUNT, REGION)]


def _group(autoscaling: Any, name: str = "g") -> dict[str, Any]:
    found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return found[0] if found else {}


def _settled(autoscaling: Any, count: int, name: str = "g") -> dict[str, Any]:
    """The group once it has `count` instances, all InService."""

    def check() -> dict[str, Any] | None:
        group = _group(autoscaling, name)
        instances = group.get("Instances", [])
        if len(instances) == count and all(i["LifecycleState"] == "InService" for i in instances):
            return group
        return None

    return wait_for(check, what=f"{count} instances in service")


def _create(
    ec2: Any, autoscaling: Any, *, cluster: str = "asg", subnets: list[str] | None = None, **extra: Any
) -> None:
    ec2.create_launch_template(
        LaunchTemplateName="nodes",
        LaunchTemplateData={"ImageId": AMI, "InstanceType": "t2.micro", "UserData": user_data_b64(cluster)},
    )
    request: dict[str, Any] = {
        "AutoScalingGroupName": "g",
        "LaunchTemplate": {"LaunchTemplateName": "nodes", "Version": "$Latest"},
        "MinSize": 0,
        "MaxSize": 6,
        "DesiredCapacity": 0,
        "VPCZoneIdentifier": ",".join(subnets or SUBNETS),
    }
    request.update(extra)
    autoscaling.create_auto_scaling_group(**request)


def test_scale_out_balances_zones_and_registers_with_ecs(ec2: Any, autoscaling: Any, ecs_client: Any) -> None:
    ecs_client.create_cluster(clusterName="asg")
    _create(
        ec2,
        autoscaling,
        Tags=[{"Key": "team", "Value": "a", "PropagateAtLaunch": True}, {"Key": "x", "Value": "y"}],
    )
    autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=3)
    group = _settled(autoscaling, 3)
    assert sorted(i["AvailabilityZone"] for i in group["Instances"]) == [
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    ]
    member = group["Instances"][0]
    assert member["HealthStatus"] == "Healthy" and member["ProtectedFromScaleIn"] is False
    assert (
        member["LaunchTemplate"]["LaunchTemplateName"] == "nodes"
        and member["LaunchTemplate"]["Version"] == "1"
    )
    ids = {i["InstanceId"] for i in group["Instances"]}
    launched = instance(ec2, member["InstanceId"])
    tags = {t["Key"]: t["Value"] for t in launched["Tags"]}
    assert tags["aws:autoscaling:groupName"] == "g" and tags["team"] == "a" and "x" not in tags
    registered = wait_for(
        lambda: (lambda arns: arns if len(arns) == 3 else None)(
            ecs_client.list_container_instances(cluster="asg")["containerInstanceArns"]
        ),
        what="three container instances",
    )
    described = ecs_client.describe_container_instances(cluster="asg", containerInstances=registered)
    assert {c["ec2InstanceId"] for c in described["containerInstances"]} == ids
    activities = autoscaling.describe_scaling_activities(AutoScalingGroupName="g")["Activities"]
    assert len(activities) == 3
    assert all(a["Description"].startswith("Launching a new EC2 instance: i-") for a in activities)
    assert all(a["StatusCode"] == "Successful" and a["Progress"] == 100 for a in activities)
    causes = sorted(a["Cause"] for a in activities)
    assert all(
        "a user request explicitly set group desired capacity changing the desired capacity from 0 to 3.  At "
        in c
        for c in causes
    )
    assert any("increasing the capacity from 0 to 1." in c for c in causes)
    assert any("increasing the capacity from 2 to 3." in c for c in causes)
    assert '"Subnet ID":"subnet-' in activities[0]["Details"]
    instances = autoscaling.describe_auto_scaling_instances()["AutoScalingInstances"]
    assert {i["InstanceId"] for i in instances} == ids
    assert instances[0]["HealthStatus"] == "HEALTHY" and instances[0]["AutoScalingGroupName"] == "g"


def test_set_desired_capacity_errors_and_cooldown(ec2: Any, autoscaling: Any) -> None:
    _create(ec2, autoscaling, MaxSize=2)
    assert error(lambda: autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=3)) == (
        "ValidationError",
        "New SetDesiredCapacity value 3 is above max value 2 for the AutoScalingGroup.",
    )
    autoscaling.update_auto_scaling_group(AutoScalingGroupName="g", MinSize=1)
    assert error(lambda: autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=0)) == (
        "ValidationError",
        "New SetDesiredCapacity value 0 is below min value 1 for the AutoScalingGroup.",
    )
    assert error(
        lambda: autoscaling.set_desired_capacity(AutoScalingGroupName="nope", DesiredCapacity=0)
    ) == (
        "ValidationError",
        "AutoScalingGroup name not found - AutoScalingGroup nope not found",
    )
    _settled(autoscaling, 1)
    code, message = error(
        lambda: autoscaling.set_desired_capacity(
            AutoScalingGroupName="g", DesiredCapacity=2, HonorCooldown=True
        )
    )
    assert code == "ScalingActivityInProgress"
    assert message.startswith("Scaling activity ") and message.endswith(
        " is in progress and blocks this action"
    )
    autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=2)  # without: allowed
    _settled(autoscaling, 2)


def test_scale_in_respects_protection_and_zone_balance(ec2: Any, autoscaling: Any) -> None:
    _create(ec2, autoscaling, subnets=SUBNETS[:2], DesiredCapacity=3)
    group = _settled(autoscaling, 3)
    zone_a = [i["InstanceId"] for i in group["Instances"] if i["AvailabilityZone"] == "us-east-1a"]
    zone_b = [i["InstanceId"] for i in group["Instances"] if i["AvailabilityZone"] == "us-east-1b"]
    assert len(zone_a) == 2 and len(zone_b) == 1
    # the zone with the most instances loses one first
    autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=2)
    group = _settled(autoscaling, 2)
    assert sorted(i["AvailabilityZone"] for i in group["Instances"]) == ["us-east-1a", "us-east-1b"]
    # a protected instance is never chosen: the other one goes, then nothing more can
    autoscaling.set_instance_protection(
        AutoScalingGroupName="g", InstanceIds=zone_b, ProtectedFromScaleIn=True
    )
    autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=0)
    group = _settled(autoscaling, 1)
    assert [i["InstanceId"] for i in group["Instances"]] == zone_b
    assert group["Instances"][0]["ProtectedFromScaleIn"] is True
    assert group["DesiredCapacity"] == 0
    terminating = autoscaling.describe_scaling_activities(AutoScalingGroupName="g")["Activities"][0]
    assert terminating["Description"].startswith("Terminating EC2 instance: ")
    assert "shrinking the capacity from 2 to 1." in terminating["Cause"]
    assert terminating["Cause"].endswith("was selected for termination.")
    assert error(
        lambda: autoscaling.set_instance_protection(
            AutoScalingGroupName="g", InstanceIds=["i-0000000000000000a"], ProtectedFromScaleIn=True
        )
    ) == ("ValidationError", "The instance i-0000000000000000a is not part of Auto Scaling group g.")


def test_new_instances_protected_from_scale_in(ec2: Any, autoscaling: Any) -> None:
    _create(ec2, autoscaling, DesiredCapacity=1, NewInstancesProtectedFromScaleIn=True)
    group = _settled(autoscaling, 1)
    assert group["Instances"][0]["ProtectedFromScaleIn"] is True
    autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=0)
    assert len(_settled(autoscaling, 1)["Instances"]) == 1


def test_instances_on_an_older_launch_template_go_first(ec2: Any, autoscaling: Any) -> None:
    _create(ec2, autoscaling, subnets=SUBNETS[:1], DesiredCapacity=1)
    old = _settled(autoscaling, 1)["Instances"][0]["InstanceId"]
    ec2.create_launch_template_version(
        LaunchTemplateName="nodes", SourceVersion="1", LaunchTemplateData={"InstanceType": "t3.micro"}
    )
    autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=2)
    group = _settled(autoscaling, 2)
    new = next(i for i in group["Instances"] if i["InstanceId"] != old)
    assert new["LaunchTemplate"]["Version"] == "2" and new["InstanceType"] == "t3.micro"
    autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=1)
    remaining = _settled(autoscaling, 1)["Instances"]
    assert [i["InstanceId"] for i in remaining] == [new["InstanceId"]]


def test_terminate_instance_in_group(ec2: Any, autoscaling: Any) -> None:
    _create(ec2, autoscaling, MinSize=1, DesiredCapacity=2)
    first, second = sorted(i["InstanceId"] for i in _settled(autoscaling, 2)["Instances"])
    activity = autoscaling.terminate_instance_in_auto_scaling_group(
        InstanceId=first, ShouldDecrementDesiredCapacity=True
    )["Activity"]
    assert activity["Description"] == f"Terminating EC2 instance: {first}"
    assert activity["StatusCode"] == "InProgress"
    assert activity["Cause"].endswith(
        f"instance {first} was taken out of service in response to a user request, shrinking the "
        "capacity from 2 to 1."
    )
    group = _settled(autoscaling, 1)
    assert group["DesiredCapacity"] == 1 and [i["InstanceId"] for i in group["Instances"]] == [second]
    wait_state(ec2, first, "terminated")
    assert error(
        lambda: autoscaling.terminate_instance_in_auto_scaling_group(
            InstanceId=second, ShouldDecrementDesiredCapacity=True
        )
    ) == (
        "ValidationError",
        "Currently, desiredSize equals minSize (1). Terminating instance without replacement will "
        "violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false "
        "or lower group's min size.",
    )
    autoscaling.terminate_instance_in_auto_scaling_group(
        InstanceId=second, ShouldDecrementDesiredCapacity=False
    )
    replaced = wait_for(
        lambda: (
            lambda g: (
                g
                if len(g["Instances"]) == 1
                and g["Instances"][0]["InstanceId"] != second
                and g["Instances"][0]["LifecycleState"] == "InService"
                else None
            )
        )(_group(autoscaling)),
        what="a replacement",
    )
    assert replaced["DesiredCapacity"] == 1
    assert error(
        lambda: autoscaling.terminate_instance_in_auto_scaling_group(
            InstanceId="i-0000000000000000a", ShouldDecrementDesiredCapacity=False
        )
    ) == (
        "ValidationError",
        "Instance Id not found - No managed instance found for instance ID: i-0000000000000000a",
    )


def test_an_instance_terminated_outside_the_group_is_replaced(ec2: Any, autoscaling: Any) -> None:
    _create(ec2, autoscaling, DesiredCapacity=1)
    lost = _settled(autoscaling, 1)["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[lost])
    replaced = wait_for(
        lambda: (
            lambda g: (
                g
                if len(g["Instances"]) == 1
                and g["Instances"][0]["InstanceId"] != lost
                and g["Instances"][0]["LifecycleState"] == "InService"
                else None
            )
        )(_group(autoscaling)),
        what="a replacement",
    )
    assert replaced["DesiredCapacity"] == 1
    causes = [
        a["Cause"] for a in autoscaling.describe_scaling_activities(AutoScalingGroupName="g")["Activities"]
    ]
    assert any(
        "an instance was taken out of service in response to an EC2 health check indicating it has "
        "been terminated or stopped." in c
        for c in causes
    )


def test_delete_with_instances_and_force_delete(ec2: Any, autoscaling: Any) -> None:
    _create(ec2, autoscaling, DesiredCapacity=2, NewInstancesProtectedFromScaleIn=True)
    ids = [i["InstanceId"] for i in _settled(autoscaling, 2)["Instances"]]
    assert error(lambda: autoscaling.delete_auto_scaling_group(AutoScalingGroupName="g")) == (
        "ResourceInUse",
        "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance "
        "request(s) still in the group.",
    )
    autoscaling.delete_auto_scaling_group(AutoScalingGroupName="g", ForceDelete=True)
    wait_for(
        lambda: not autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"], what="the group to go"
    )
    for instance_id in ids:
        wait_state(ec2, instance_id, "terminated")
    kept = autoscaling.describe_scaling_activities(AutoScalingGroupName="g", IncludeDeletedGroups=True)[
        "Activities"
    ]
    assert len(kept) == 4
    assert autoscaling.describe_scaling_activities(AutoScalingGroupName="g")["Activities"] == []


def test_a_refused_launch_is_a_failed_activity(ec2: Any, autoscaling: Any) -> None:
    _create(ec2, autoscaling)
    ec2.delete_launch_template(LaunchTemplateName="nodes")
    autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=1)
    failed = wait_for(
        lambda: autoscaling.describe_scaling_activities(AutoScalingGroupName="g")["Activities"],
        what="an activity",
    )[0]
    assert failed["StatusCode"] == "Failed"
    assert failed["Description"].startswith("Launching a new EC2 instance.  Status Reason: ")
    assert failed["Description"].endswith("Launching EC2 instance failed.")
    assert "does not exist" in failed["StatusMessage"]
    assert _group(autoscaling)["Instances"] == []


def test_group_from_launch_configuration_launches_its_settings(
    autoscaling: Any, ec2: Any, ecs_client: Any
) -> None:
    ecs_client.create_cluster(clusterName="lc-cluster")
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="lc",
        ImageId=AMI,
        InstanceType="c5.large",
        UserData="#!/bin/bash\necho ECS_CLUSTER=lc-cluster >> /etc/ecs/ecs.config\n",
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="g",
        LaunchConfigurationName="lc",
        MinSize=1,
        MaxSize=1,
        AvailabilityZones=["us-east-1b"],
    )
    member = _settled(autoscaling, 1)["Instances"][0]
    assert member["LaunchConfigurationName"] == "lc" and member["InstanceType"] == "c5.large"
    assert member["AvailabilityZone"] == "us-east-1b"
    arns = wait_for(
        lambda: ecs_client.list_container_instances(cluster="lc-cluster")["containerInstanceArns"],
        what="registration",
    )
    described = ecs_client.describe_container_instances(cluster="lc-cluster", containerInstances=arns)
    cpu = {
        r["name"]: r.get("integerValue") for r in described["containerInstances"][0]["registeredResources"]
    }
    assert cpu["CPU"] == 2048


def test_scaling_activities_pages(ec2: Any, autoscaling: Any) -> None:
    _create(ec2, autoscaling, DesiredCapacity=5)
    _settled(autoscaling, 5)
    first = autoscaling.describe_scaling_activities(AutoScalingGroupName="g", MaxRecords=2)
    assert len(first["Activities"]) == 2 and "NextToken" in first
    rest = autoscaling.describe_scaling_activities(AutoScalingGroupName="g", NextToken=first["NextToken"])
    ids = [a["ActivityId"] for a in first["Activities"] + rest["Activities"]]
    assert len(ids) == len(set(ids)) == 5
    one = autoscaling.describe_scaling_activities(ActivityIds=[ids[3]])["Activities"]
    assert [a["ActivityId"] for a in one] == [ids[3]]
