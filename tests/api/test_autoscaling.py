"""Auto Scaling API with boto3: groups, launch configurations and tags, and their errors."""

from __future__ import annotations

from typing import Any

from dockyard.core.vpc import default_subnets
from tests.api.capacity_helpers import (  # noqa: F401  (fixtures)
    AMI,
    autoscaling_fixture,
    capacity_server_fixture,
    clean_fixture,
    ec2_fixture,
    error,
    user_data_b64,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
SUBNETS = [s.subnet_id for s in default_subnets(ACCOUNT, REGION)]


def _template(ec2: Any, name: str = "nodes") -> str:
    template_id: str = ec2.create_launch_template(
        LaunchTemplateName=name, LaunchTemplateData={"ImageId": AMI, "InstanceType": "t2.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    return template_id


def _group(autoscaling: Any, name: str = "g") -> dict[str, Any]:
    found: dict[str, Any] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"
    ][0]
    return found


def test_create_and_describe_group_with_launch_template(ec2: Any, autoscaling: Any) -> None:
    template_id = _template(ec2)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="g",
        LaunchTemplate={"LaunchTemplateName": "nodes"},
        MinSize=0,
        MaxSize=4,
        VPCZoneIdentifier=f"{SUBNETS[0]}, {SUBNETS[1]}",
        Tags=[{"Key": "team", "Value": "a", "PropagateAtLaunch": True}],
    )
    group = _group(autoscaling)
    assert group["AutoScalingGroupARN"].startswith(
        f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:"
    ) and group["AutoScalingGroupARN"].endswith(":autoScalingGroupName/g")
    assert group["LaunchTemplate"] == {
        "LaunchTemplateId": template_id,
        "LaunchTemplateName": "nodes",
        "Version": "$Default",
    }
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (0, 4, 0)
    assert group["DefaultCooldown"] == 300 and group["HealthCheckType"] == "EC2"
    assert group["AvailabilityZones"] == ["us-east-1a", "us-east-1b"]
    assert group["VPCZoneIdentifier"] == f"{SUBNETS[0]},{SUBNETS[1]}"
    assert group["TerminationPolicies"] == ["Default"]
    assert group["NewInstancesProtectedFromScaleIn"] is False
    assert group["Instances"] == []
    assert group["Tags"] == [
        {
            "ResourceId": "g",
            "ResourceType": "auto-scaling-group",
            "Key": "team",
            "Value": "a",
            "PropagateAtLaunch": True,
        }
    ]
    assert group["ServiceLinkedRoleARN"].endswith("/AWSServiceRoleForAutoScaling")


def test_group_with_availability_zones_and_launch_configuration(autoscaling: Any) -> None:
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="lc", ImageId=AMI, InstanceType="t2.micro", UserData="#!/bin/bash\necho hi\n"
    )
    config = autoscaling.describe_launch_configurations()["LaunchConfigurations"][0]
    assert config["LaunchConfigurationName"] == "lc" and config["InstanceType"] == "t2.micro"
    assert config["LaunchConfigurationARN"].endswith(":launchConfigurationName/lc")
    assert config["UserData"] == "IyEvYmluL2Jhc2gKZWNobyBoaQo="  # base64, as AWS returns it
    assert config["InstanceMonitoring"] == {"Enabled": True}
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="g",
        LaunchConfigurationName="lc",
        MinSize=1,
        MaxSize=2,
        AvailabilityZones=["us-east-1c"],
    )
    group = _group(autoscaling)
    assert group["LaunchConfigurationName"] == "lc" and group["DesiredCapacity"] == 1
    assert group["AvailabilityZones"] == ["us-east-1c"] and "VPCZoneIdentifier" not in group
    assert error(lambda: autoscaling.delete_launch_configuration(LaunchConfigurationName="lc")) == (
        "ResourceInUse",
        "Cannot delete launch configuration lc because it is attached to AutoScalingGroup g",
    )


def test_create_group_errors(ec2: Any, autoscaling: Any) -> None:
    _template(ec2)
    base: dict[str, Any] = {
        "AutoScalingGroupName": "g",
        "LaunchTemplate": {"LaunchTemplateName": "nodes"},
        "VPCZoneIdentifier": SUBNETS[0],
    }
    assert error(lambda: autoscaling.create_auto_scaling_group(**base, MinSize=2, MaxSize=1)) == (
        "ValidationError",
        "Max bound, 1, must be greater than or equal to min bound, 2",
    )
    assert error(
        lambda: autoscaling.create_auto_scaling_group(**base, MinSize=0, MaxSize=2, DesiredCapacity=3)
    ) == (
        "ValidationError",
        "Desired capacity:3 must be between the specified min size:0 and max size:2",
    )
    no_source = {k: v for k, v in base.items() if k != "LaunchTemplate"}
    assert error(lambda: autoscaling.create_auto_scaling_group(**no_source, MinSize=0, MaxSize=1)) == (
        "ValidationError",
        "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or "
        "MixedInstancesPolicy parameter.",
    )
    assert error(
        lambda: autoscaling.create_auto_scaling_group(
            AutoScalingGroupName="g", LaunchTemplate={"LaunchTemplateName": "nodes"}, MinSize=0, MaxSize=1
        )
    ) == ("ValidationError", "At least one Availability Zone or VPC Subnet is required.")
    code, message = error(
        lambda: autoscaling.create_auto_scaling_group(
            AutoScalingGroupName="g",
            LaunchTemplate={"LaunchTemplateName": "missing"},
            MinSize=0,
            MaxSize=1,
            VPCZoneIdentifier=SUBNETS[0],
        )
    )
    assert code == "ValidationError" and message.startswith(
        "You must use a valid fully-formed launch template."
    )
    assert "missing" in message
    assert error(
        lambda: autoscaling.create_auto_scaling_group(
            AutoScalingGroupName="g",
            LaunchTemplate={"LaunchTemplateName": "nodes"},
            MinSize=0,
            MaxSize=1,
            VPCZoneIdentifier="subnet-00000000000000000",
        )
    ) == ("ValidationError", "The subnet ID 'subnet-00000000000000000' does not exist")
    assert error(
        lambda: autoscaling.create_auto_scaling_group(
            AutoScalingGroupName="g",
            LaunchConfigurationName="nope",
            MinSize=0,
            MaxSize=1,
            VPCZoneIdentifier=SUBNETS[0],
        )
    ) == ("ValidationError", "Launch configuration name not found - Launch configuration nope not found")
    assert error(
        lambda: autoscaling.create_auto_scaling_group(
            **base,
            MinSize=0,
            MaxSize=1,
            TargetGroupARNs=["arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/1"],
        )
    ) == (
        "ValidationError",
        "Provided Target Groups may not be valid. Please ensure they exist and try again.",
    )
    assert autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"] == []
    autoscaling.create_auto_scaling_group(**base, MinSize=0, MaxSize=1)
    assert error(lambda: autoscaling.create_auto_scaling_group(**base, MinSize=0, MaxSize=1)) == (
        "AlreadyExists",
        "AutoScalingGroup by this name already exists - A group with the name g already exists",
    )


def test_update_group(ec2: Any, autoscaling: Any) -> None:
    _template(ec2)
    _template(ec2, "other")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="g",
        LaunchTemplate={"LaunchTemplateName": "nodes"},
        MinSize=0,
        MaxSize=3,
        VPCZoneIdentifier=SUBNETS[0],
    )
    autoscaling.update_auto_scaling_group(
        AutoScalingGroupName="g",
        MaxSize=5,
        DefaultCooldown=60,
        LaunchTemplate={"LaunchTemplateName": "other", "Version": "$Latest"},
        VPCZoneIdentifier=",".join(SUBNETS),
        TerminationPolicies=["OldestInstance"],
        NewInstancesProtectedFromScaleIn=True,
    )
    group = _group(autoscaling)
    assert group["MaxSize"] == 5 and group["DefaultCooldown"] == 60
    assert (
        group["LaunchTemplate"]["LaunchTemplateName"] == "other"
        and group["LaunchTemplate"]["Version"] == "$Latest"
    )
    assert group["AvailabilityZones"] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert group["TerminationPolicies"] == ["OldestInstance"]
    assert group["NewInstancesProtectedFromScaleIn"] is True
    # raising the minimum raises the desired capacity with it
    autoscaling.update_auto_scaling_group(AutoScalingGroupName="g", MinSize=1)
    assert _group(autoscaling)["DesiredCapacity"] == 1
    assert error(lambda: autoscaling.update_auto_scaling_group(AutoScalingGroupName="g", MinSize=6)) == (
        "ValidationError",
        "Max bound, 5, must be greater than or equal to min bound, 6",
    )
    assert error(lambda: autoscaling.update_auto_scaling_group(AutoScalingGroupName="nope", MaxSize=1)) == (
        "ValidationError",
        "AutoScalingGroup name not found - AutoScalingGroup nope not found",
    )
    assert (
        error(
            lambda: autoscaling.update_auto_scaling_group(
                AutoScalingGroupName="g", TerminationPolicies=["Newest"]
            )
        )[0]
        == "ValidationError"
    )


def test_delete_group(ec2: Any, autoscaling: Any) -> None:
    _template(ec2)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="g",
        LaunchTemplate={"LaunchTemplateName": "nodes"},
        MinSize=0,
        MaxSize=1,
        VPCZoneIdentifier=SUBNETS[0],
    )
    autoscaling.delete_auto_scaling_group(AutoScalingGroupName="g")
    assert autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"] == []
    assert error(lambda: autoscaling.delete_auto_scaling_group(AutoScalingGroupName="g")) == (
        "ValidationError",
        "AutoScalingGroup name not found - AutoScalingGroup g not found",
    )


def test_describe_groups_filters_and_pages(ec2: Any, autoscaling: Any) -> None:
    _template(ec2)
    for n in range(5):
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=f"g{n}",
            LaunchTemplate={"LaunchTemplateName": "nodes"},
            MinSize=0,
            MaxSize=1,
            VPCZoneIdentifier=SUBNETS[0],
            Tags=[{"Key": "parity", "Value": "even" if n % 2 == 0 else "odd"}],
        )
    even = autoscaling.describe_auto_scaling_groups(Filters=[{"Name": "tag:parity", "Values": ["even"]}])
    assert [g["AutoScalingGroupName"] for g in even["AutoScalingGroups"]] == ["g0", "g2", "g4"]
    named = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["g1", "missing"])
    assert [g["AutoScalingGroupName"] for g in named["AutoScalingGroups"]] == ["g1"]
    first = autoscaling.describe_auto_scaling_groups(MaxRecords=2)
    second = autoscaling.describe_auto_scaling_groups(MaxRecords=2, NextToken=first["NextToken"])
    third = autoscaling.describe_auto_scaling_groups(MaxRecords=2, NextToken=second["NextToken"])
    names = [g["AutoScalingGroupName"] for page in (first, second, third) for g in page["AutoScalingGroups"]]
    assert names == ["g0", "g1", "g2", "g3", "g4"] and "NextToken" not in third
    assert error(lambda: autoscaling.describe_auto_scaling_groups(NextToken="bogus"))[0] == "InvalidNextToken"


def test_launch_configuration_errors(autoscaling: Any) -> None:
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="lc", ImageId=AMI, InstanceType="t2.micro"
    )
    assert error(
        lambda: autoscaling.create_launch_configuration(
            LaunchConfigurationName="lc", ImageId=AMI, InstanceType="t2.micro"
        )
    ) == (
        "AlreadyExists",
        "Launch Configuration by this name already exists - A launch configuration already exists with "
        "the name lc",
    )
    assert error(lambda: autoscaling.delete_launch_configuration(LaunchConfigurationName="nope")) == (
        "ValidationError",
        "Launch configuration name not found - Launch configuration nope not found",
    )
    named = autoscaling.describe_launch_configurations(LaunchConfigurationNames=["lc", "nope"])
    assert [c["LaunchConfigurationName"] for c in named["LaunchConfigurations"]] == ["lc"]
    autoscaling.delete_launch_configuration(LaunchConfigurationName="lc")
    assert autoscaling.describe_launch_configurations()["LaunchConfigurations"] == []


def test_tags(ec2: Any, autoscaling: Any) -> None:
    _template(ec2)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="g",
        LaunchTemplate={"LaunchTemplateName": "nodes"},
        MinSize=0,
        MaxSize=1,
        VPCZoneIdentifier=SUBNETS[0],
        Tags=[{"Key": "a", "Value": "1"}],
    )
    autoscaling.create_or_update_tags(
        Tags=[
            {
                "ResourceId": "g",
                "ResourceType": "auto-scaling-group",
                "Key": "a",
                "Value": "2",
                "PropagateAtLaunch": True,
            },
            {
                "ResourceId": "g",
                "ResourceType": "auto-scaling-group",
                "Key": "b",
                "Value": "3",
                "PropagateAtLaunch": False,
            },
        ]
    )
    tags = autoscaling.describe_tags()["Tags"]
    assert [(t["ResourceId"], t["Key"], t["Value"], t["PropagateAtLaunch"]) for t in tags] == [
        ("g", "a", "2", True),
        ("g", "b", "3", False),
    ]
    only = autoscaling.describe_tags(Filters=[{"Name": "propagate-at-launch", "Values": ["true"]}])["Tags"]
    assert [t["Key"] for t in only] == ["a"]
    autoscaling.delete_tags(Tags=[{"ResourceId": "g", "ResourceType": "auto-scaling-group", "Key": "a"}])
    assert [t["Key"] for t in _group(autoscaling)["Tags"]] == ["b"]
    assert error(
        lambda: autoscaling.create_or_update_tags(
            Tags=[{"ResourceId": "nope", "ResourceType": "auto-scaling-group", "Key": "a", "Value": "1"}]
        )
    ) == ("ValidationError", "AutoScalingGroup name not found - AutoScalingGroup nope not found")
