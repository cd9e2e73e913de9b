"""EC2 API with boto3: the default VPC, subnets, zones, account attributes, instance types, security
groups and tags."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from dockyard.core.vpc import default_subnets, default_vpc_id
from dockyard.services.ecs.networking import default_subnets as ecs_subnets
from tests.api.capacity_helpers import (  # noqa: F401  (fixtures)
    autoscaling_fixture,
    capacity_server_fixture,
    clean_fixture,
    ec2_fixture,
    error,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"


# -- the default VPC -------------------------------------------------------------------------------


def test_default_vpc_and_subnets_are_the_ones_ecs_uses(ec2: Any) -> None:
    vpcs = ec2.describe_vpcs()["Vpcs"]
    assert len(vpcs) == 1
    vpc = vpcs[0]
    assert vpc["VpcId"] == default_vpc_id(ACCOUNT, REGION)
    assert vpc["CidrBlock"] == "172.31.0.0/16" and vpc["IsDefault"] is True and vpc["State"] == "available"
    subnets = {s["SubnetId"]: s for s in ec2.describe_subnets()["Subnets"]}
    assert set(subnets) == {s.subnet_id for s in ecs_subnets(ACCOUNT, REGION)}
    by_zone = {s["AvailabilityZone"]: s for s in subnets.values()}
    assert sorted(by_zone) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert by_zone["us-east-1a"]["CidrBlock"] == "172.31.0.0/20"
    assert by_zone["us-east-1b"]["CidrBlock"] == "172.31.16.0/20"
    assert by_zone["us-east-1c"]["CidrBlock"] == "172.31.32.0/20"
    assert all(s["DefaultForAz"] and s["VpcId"] == vpc["VpcId"] for s in subnets.values())
    assert by_zone["us-east-1a"]["AvailableIpAddressCount"] == 4091


def test_describe_subnets_filters_and_ids(ec2: Any) -> None:
    first = default_subnets(ACCOUNT, REGION)[1]
    found = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1b"]}])["Subnets"]
    assert [s["SubnetId"] for s in found] == [first.subnet_id]
    found = ec2.describe_subnets(SubnetIds=[first.subnet_id])["Subnets"]
    assert [s["AvailabilityZone"] for s in found] == ["us-east-1b"]
    wild = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1?"]}])["Subnets"]
    assert len(wild) == 3
    assert ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["false"]}])["Subnets"] == []


def test_unknown_subnet_vpc_and_filter(ec2: Any) -> None:
    assert error(lambda: ec2.describe_subnets(SubnetIds=["subnet-0000000000000000a"])) == (
        "InvalidSubnetID.NotFound",
        "The subnet ID 'subnet-0000000000000000a' does not exist",
    )
    assert error(lambda: ec2.describe_vpcs(VpcIds=["vpc-1", "vpc-2"])) == (
        "InvalidVpcID.NotFound",
        "The vpc IDs 'vpc-1, vpc-2' do not exist",
    )
    assert error(lambda: ec2.describe_vpcs(VpcIds=["nope"])) == (
        "InvalidVpcID.Malformed",
        'Invalid id: "nope" (expecting "vpc-...")',
    )
    assert error(lambda: ec2.describe_subnets(Filters=[{"Name": "colour", "Values": ["red"]}])) == (
        "InvalidParameterValue",
        "The filter 'colour' is invalid",
    )


def test_pagination_of_subnets(ec2: Any, clean: Any) -> None:
    first = ec2.describe_subnets(MaxResults=5)
    assert len(first["Subnets"]) == 3 and "NextToken" not in first
    unchecked = boto3.client(
        "ec2",
        endpoint_url=clean.endpoint,
        region_name=REGION,
        aws_access_key_id="AKIATESTKEY",
        aws_secret_access_key="secret",
        config=Config(parameter_validation=False),
    )
    code, message = error(lambda: unchecked.describe_subnets(MaxResults=2))
    assert code == "InvalidParameterValue"
    assert "maxResults" in message
    assert (
        error(lambda: ec2.describe_subnets(MaxResults=5, NextToken="garbage!"))[0] == "InvalidPaginationToken"
    )


def test_availability_zones(ec2: Any) -> None:
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [(z["ZoneName"], z["ZoneId"], z["State"]) for z in zones] == [
        ("us-east-1a", "use1-az1", "available"),
        ("us-east-1b", "use1-az2", "available"),
        ("us-east-1c", "use1-az3", "available"),
    ]
    assert zones[0]["RegionName"] == "us-east-1" and zones[0]["ZoneType"] == "availability-zone"
    one = ec2.describe_availability_zones(ZoneNames=["us-east-1c"])["AvailabilityZones"]
    assert [z["ZoneId"] for z in one] == ["use1-az3"]
    assert error(lambda: ec2.describe_availability_zones(ZoneNames=["us-east-1z"])) == (
        "InvalidParameterValue",
        "The zone 'us-east-1z' does not exist.",
    )


def test_other_regions_have_their_own_default_vpc(clean: Any) -> None:
    from tests.conftest import make_client

    west = make_client(clean.endpoint, "ec2", "eu-west-1")
    assert west.describe_vpcs()["Vpcs"][0]["VpcId"] == default_vpc_id(ACCOUNT, "eu-west-1")
    zones = [z["ZoneId"] for z in west.describe_availability_zones()["AvailabilityZones"]]
    assert zones == ["euw1-az1", "euw1-az2", "euw1-az3"]


def test_account_attributes(ec2: Any) -> None:
    attributes = {
        a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
        for a in ec2.describe_account_attributes()["AccountAttributes"]
    }
    assert attributes["default-vpc"] == [default_vpc_id(ACCOUNT, REGION)]
    assert attributes["supported-platforms"] == ["VPC"]
    only = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    assert [a["AttributeName"] for a in only] == ["default-vpc"]


def test_dry_run(ec2: Any) -> None:
    assert error(lambda: ec2.describe_vpcs(DryRun=True)) == (
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
    )
    assert error(lambda: ec2.create_security_group(GroupName="x", Description="x", DryRun=True))[0] == (
        "DryRunOperation"
    )
    assert [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]] == ["default"]


# -- instance types --------------------------------------------------------------------------------


def test_describe_instance_types(ec2: Any) -> None:
    info = ec2.describe_instance_types(InstanceTypes=["t2.micro", "c5.xlarge"])["InstanceTypes"]
    by_name = {i["InstanceType"]: i for i in info}
    assert by_name["t2.micro"]["VCpuInfo"]["DefaultVCpus"] == 1
    assert by_name["t2.micro"]["MemoryInfo"]["SizeInMiB"] == 1024
    assert by_name["t2.micro"]["FreeTierEligible"] is True
    assert by_name["t2.micro"]["BurstablePerformanceSupported"] is True
    assert by_name["c5.xlarge"]["VCpuInfo"]["DefaultVCpus"] == 4
    assert by_name["c5.xlarge"]["ProcessorInfo"]["SupportedArchitectures"] == ["x86_64"]
    arm = ec2.describe_instance_types(
        Filters=[{"Name": "processor-info.supported-architecture", "Values": ["arm64"]}]
    )["InstanceTypes"]
    assert {i["InstanceType"] for i in arm} == {"t4g.micro", "t4g.small", "t4g.medium", "m6g.large"}
    assert error(lambda: ec2.describe_instance_types(InstanceTypes=["p4d.24xlarge"])) == (
        "InvalidInstanceType",
        "The following supplied instance types do not exist: [p4d.24xlarge]",
    )
    assert error(lambda: ec2.describe_instance_types(InstanceTypes=["x9.huge"]))[0] == "InvalidParameterValue"


def test_instance_types_page(ec2: Any) -> None:
    seen: list[str] = []
    token = None
    while True:
        page = ec2.describe_instance_types(MaxResults=10, **({"NextToken": token} if token else {}))
        seen += [i["InstanceType"] for i in page["InstanceTypes"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == len(ec2.describe_instance_types()["InstanceTypes"])


# -- security groups -------------------------------------------------------------------------------


def test_default_security_group(ec2: Any) -> None:
    groups = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"]
    assert len(groups) == 1
    group = groups[0]
    assert group["VpcId"] == default_vpc_id(ACCOUNT, REGION)
    assert group["IpPermissions"][0]["IpProtocol"] == "-1"
    assert group["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == group["GroupId"]
    assert group["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    assert error(lambda: ec2.delete_security_group(GroupId=group["GroupId"])) == (
        "CannotDelete",
        f'the specified group: "{group["GroupId"]}" name: "default" cannot be deleted by a user',
    )


def test_create_authorize_describe_delete_security_group(ec2: Any) -> None:
    created = ec2.create_security_group(
        GroupName="web",
        Description="web servers",
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "team", "Value": "a"}]}],
    )
    group_id = created["GroupId"]
    assert group_id.startswith("sg-") and created["Tags"] == [{"Key": "team", "Value": "a"}]
    rules = ec2.authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    assert rules["Return"] is True
    assert rules["SecurityGroupRules"][0]["CidrIpv4"] == "0.0.0.0/0"
    assert rules["SecurityGroupRules"][0]["SecurityGroupRuleId"].startswith("sgr-")
    ec2.authorize_security_group_ingress(
        GroupName="web", IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="10.0.0.0/8"
    )
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert group["GroupName"] == "web" and group["Description"] == "web servers"
    assert sorted((p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in group["IpPermissions"]) == [
        (22, "10.0.0.0/8"),
        (80, "0.0.0.0/0"),
    ]
    assert group["IpPermissionsEgress"][0]["IpProtocol"] == "-1"
    assert group["Tags"] == [{"Key": "team", "Value": "a"}]
    by_filter = ec2.describe_security_groups(Filters=[{"Name": "tag:team", "Values": ["a"]}])[
        "SecurityGroups"
    ]
    assert [g["GroupId"] for g in by_filter] == [group_id]
    code, message = error(
        lambda: ec2.authorize_security_group_ingress(
            GroupId=group_id,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            ],
        )
    )
    assert code == "InvalidPermission.Duplicate"
    assert (
        message
        == 'the specified rule "peer: 0.0.0.0/0, TCP, from port: 80, to port: 80, ALLOW" already exists'
    )
    revoked = ec2.revoke_security_group_ingress(
        GroupId=group_id, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="10.0.0.0/8"
    )
    assert revoked["Return"] is True
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert [p["FromPort"] for p in group["IpPermissions"]] == [80]
    assert ec2.delete_security_group(GroupId=group_id)["Return"] is True
    assert error(lambda: ec2.describe_security_groups(GroupIds=[group_id])) == (
        "InvalidGroup.NotFound",
        f"The security group '{group_id}' does not exist",
    )
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [group_id]}])["Tags"] == []


def test_security_group_errors(ec2: Any) -> None:
    ec2.create_security_group(GroupName="db", Description="db")
    vpc = default_vpc_id(ACCOUNT, REGION)
    assert error(lambda: ec2.create_security_group(GroupName="db", Description="again")) == (
        "InvalidGroup.Duplicate",
        f"The security group 'db' already exists for VPC '{vpc}'",
    )
    assert (
        error(lambda: ec2.create_security_group(GroupName="default", Description="x"))[0]
        == "InvalidGroup.Reserved"
    )
    assert error(
        lambda: ec2.create_security_group(GroupName="x", Description="x", VpcId="vpc-0000000000000000f")
    ) == (
        "InvalidVpcID.NotFound",
        "The vpc ID 'vpc-0000000000000000f' does not exist",
    )
    assert error(lambda: ec2.describe_security_groups(GroupNames=["nope"])) == (
        "InvalidGroup.NotFound",
        f"The security group 'nope' does not exist in default VPC '{vpc}'",
    )
    assert error(lambda: ec2.describe_security_groups(GroupIds=["nope"])) == (
        "InvalidGroupId.Malformed",
        'Invalid id: "nope" (expecting "sg-...")',
    )
    assert error(lambda: ec2.delete_security_group(GroupName="nope"))[0] == "InvalidGroup.NotFound"


def test_security_group_in_use_cannot_be_deleted(ec2: Any) -> None:
    group_id = ec2.create_security_group(GroupName="app", Description="app")["GroupId"]
    reservation = ec2.run_instances(
        ImageId="ami-0123456789abcdef0",
        InstanceType="t2.micro",
        MinCount=1,
        MaxCount=1,
        SecurityGroupIds=[group_id],
    )
    assert reservation["Instances"][0]["SecurityGroups"] == [{"GroupId": group_id, "GroupName": "app"}]
    assert error(lambda: ec2.delete_security_group(GroupId=group_id)) == (
        "DependencyViolation",
        f"resource {group_id} has a dependent object",
    )


# -- tags ------------------------------------------------------------------------------------------


def test_create_describe_delete_tags(ec2: Any) -> None:
    vpc = default_vpc_id(ACCOUNT, REGION)
    subnet = default_subnets(ACCOUNT, REGION)[0].subnet_id
    ec2.create_tags(
        Resources=[vpc, subnet], Tags=[{"Key": "env", "Value": "dev"}, {"Key": "owner", "Value": "me"}]
    )
    tags = ec2.describe_tags()["Tags"]
    assert {(t["ResourceId"], t["ResourceType"], t["Key"], t["Value"]) for t in tags} == {
        (vpc, "vpc", "env", "dev"),
        (vpc, "vpc", "owner", "me"),
        (subnet, "subnet", "env", "dev"),
        (subnet, "subnet", "owner", "me"),
    }
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:env", "Values": ["dev"]}])["Vpcs"][0]["Tags"]
    only_vpc = ec2.describe_tags(
        Filters=[{"Name": "resource-type", "Values": ["vpc"]}, {"Name": "key", "Values": ["env"]}]
    )
    assert [(t["ResourceId"], t["Key"]) for t in only_vpc["Tags"]] == [(vpc, "env")]
    ec2.delete_tags(Resources=[vpc], Tags=[{"Key": "env", "Value": "other"}])  # value differs: kept
    assert len(ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vpc]}])["Tags"]) == 2
    ec2.delete_tags(Resources=[vpc], Tags=[{"Key": "env"}])
    assert [
        t["Key"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vpc]}])["Tags"]
    ] == ["owner"]
    ec2.delete_tags(Resources=[subnet])
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [subnet]}])["Tags"] == []


def test_tag_errors(ec2: Any) -> None:
    vpc = default_vpc_id(ACCOUNT, REGION)
    assert error(
        lambda: ec2.create_tags(Resources=["i-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "b"}])
    ) == (
        "InvalidInstanceID.NotFound",
        "The instance ID 'i-0123456789abcdef0' does not exist",
    )
    assert error(lambda: ec2.create_tags(Resources=["vol-1"], Tags=[{"Key": "a", "Value": "b"}])) == (
        "InvalidID",
        "The ID 'vol-1' is not valid",
    )
    code, message = error(lambda: ec2.create_tags(Resources=[vpc], Tags=[{"Key": "aws:x", "Value": "b"}]))
    assert code == "InvalidParameterValue"
    assert "Tag keys starting with 'aws:' are reserved for internal use" in message
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert error(lambda: ec2.create_tags(Resources=[vpc], Tags=too_many))[0] == "TagLimitExceeded"
    assert ec2.describe_tags()["Tags"] == []
    assert (
        error(lambda: ec2.describe_tags(Filters=[{"Name": "nope", "Values": ["x"]}]))[0]
        == "InvalidParameterValue"
    )


def test_describe_tags_pages(ec2: Any) -> None:
    vpc = default_vpc_id(ACCOUNT, REGION)
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(12)])
    first = ec2.describe_tags(MaxResults=5)
    second = ec2.describe_tags(MaxResults=5, NextToken=first["NextToken"])
    third = ec2.describe_tags(MaxResults=5, NextToken=second["NextToken"])
    keys = [t["Key"] for page in (first, second, third) for t in page["Tags"]]
    assert keys == [f"k{i:02d}" for i in range(12)] and "NextToken" not in third
