"""EC2 instances with boto3: RunInstances, DescribeInstances, Stop/Start/Terminate, launch templates.

The server simulates every instance here: each runs a simulated agent that registers with the
cluster its user data names, exactly as a real one would (tests/e2e/test_instances.py runs real
agents)."""

from __future__ import annotations

from typing import Any

from dockyard.core.vpc import default_subnets
from tests.api.capacity_helpers import (  # noqa: F401  (fixtures)
    AMI,
    capacity_server_fixture,
    clean_fixture,
    ec2_fixture,
    ecs_client_fixture,
    error,
    instance,
    user_data,
    user_data_b64,
    wait_for,
    wait_state,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _run(ec2: Any, **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"ImageId": AMI, "InstanceType": "t2.micro", "MinCount": 1, "MaxCount": 1}
    request.update(extra)
    reservation: dict[str, Any] = ec2.run_instances(**request)
    return reservation


def _container_instances(ecs: Any, cluster: str) -> list[dict[str, Any]]:
    arns = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
    if not arns:
        return []
    found: list[dict[str, Any]] = ecs.describe_container_instances(cluster=cluster, containerInstances=arns)[
        "containerInstances"
    ]
    return found


def test_run_instances_registers_with_the_cluster_in_user_data(ec2: Any, ecs_client: Any) -> None:
    ecs_client.create_cluster(clusterName="web")
    reservation = _run(
        ec2,
        UserData=user_data("web"),
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-1"}]}],
    )
    assert reservation["ReservationId"].startswith("r-") and reservation["OwnerId"] == ACCOUNT
    launched = reservation["Instances"][0]
    instance_id = launched["InstanceId"]
    assert instance_id.startswith("i-") and len(instance_id) == 19
    assert launched["State"] == {"Code": 0, "Name": "pending"}
    assert launched["InstanceType"] == "t2.micro" and launched["ImageId"] == AMI
    assert launched["Tags"] == [{"Key": "Name", "Value": "web-1"}]
    running = wait_state(ec2, instance_id, "running")
    assert running["State"] == {"Code": 16, "Name": "running"}
    registered = wait_for(lambda: _container_instances(ecs_client, "web"), what="registration")
    assert len(registered) == 1
    container_instance = registered[0]
    assert container_instance["ec2InstanceId"] == instance_id
    resources = {r["name"]: r.get("integerValue") for r in container_instance["registeredResources"]}
    assert resources["CPU"] == 1024 and resources["MEMORY"] == 983
    attributes = {a["name"]: a.get("value") for a in container_instance["attributes"]}
    assert attributes["ecs.instance-type"] == "t2.micro"
    assert attributes["ecs.ami-id"] == AMI
    assert attributes["ecs.availability-zone"] == running["Placement"]["AvailabilityZone"]
    assert attributes["ecs.vpc-id"] == running["VpcId"]
    assert attributes["ecs.subnet-id"] == running["SubnetId"]
    assert attributes["ecs.os-type"] == "linux" and attributes["ecs.cpu-architecture"] == "x86_64"


def test_instance_shape(ec2: Any) -> None:
    subnet = default_subnets(ACCOUNT, REGION)[2]
    launched = _run(ec2, SubnetId=subnet.subnet_id, InstanceType="t4g.micro")["Instances"][0]
    assert launched["SubnetId"] == subnet.subnet_id and launched["VpcId"] == subnet.vpc_id
    assert launched["Placement"]["AvailabilityZone"] == "us-east-1c"
    assert launched["Architecture"] == "arm64"
    address = launched["PrivateIpAddress"]
    assert launched["PrivateDnsName"] == f"ip-{address.replace('.', '-')}.ec2.internal"
    assert launched["NetworkInterfaces"][0]["PrivateIpAddress"] == address
    assert launched["SecurityGroups"][0]["GroupName"] == "default"
    assert launched["LaunchTime"] is not None and launched["RootDeviceType"] == "ebs"
    described = wait_state(ec2, launched["InstanceId"], "running")
    assert described["PrivateIpAddress"] == address


def test_run_several_spreads_over_zones_and_gets_distinct_addresses(ec2: Any) -> None:
    reservation = _run(ec2, MinCount=3, MaxCount=3)
    instances = reservation["Instances"]
    assert [i["AmiLaunchIndex"] for i in instances] == [0, 1, 2]
    assert len({i["PrivateIpAddress"] for i in instances}) == 3
    assert {i["Placement"]["AvailabilityZone"] for i in instances} == {
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    }
    described = ec2.describe_instances(
        Filters=[{"Name": "reservation-id", "Values": [reservation["ReservationId"]]}]
    )
    assert len(described["Reservations"]) == 1 and len(described["Reservations"][0]["Instances"]) == 3


def test_run_instances_errors(ec2: Any) -> None:
    assert error(lambda: ec2.run_instances(InstanceType="t2.micro", MinCount=1, MaxCount=1)) == (
        "MissingParameter",
        "The request must contain the parameter ImageId",
    )
    assert error(lambda: _run(ec2, ImageId="nope")) == (
        "InvalidAMIID.Malformed",
        'Invalid id: "nope" (expecting "ami-...")',
    )
    assert error(lambda: _run(ec2, SubnetId="subnet-00000000000000000")) == (
        "InvalidSubnetID.NotFound",
        "The subnet ID 'subnet-00000000000000000' does not exist",
    )
    assert error(lambda: _run(ec2, SecurityGroupIds=["sg-00000000000000000"])) == (
        "InvalidGroup.NotFound",
        "The security group 'sg-00000000000000000' does not exist",
    )
    assert error(lambda: _run(ec2, MinCount=3, MaxCount=2))[0] == "InvalidParameterValue"
    assert (
        error(
            lambda: _run(
                ec2,
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "aws:x", "Value": "y"}]}],
            )
        )[0]
        == "InvalidParameterValue"
    )
    subnet = default_subnets(ACCOUNT, REGION)[0]
    code, message = error(
        lambda: _run(ec2, SubnetId=subnet.subnet_id, Placement={"AvailabilityZone": "us-east-1b"})
    )
    assert code == "InvalidParameterValue" and "us-east-1a" in message
    assert ec2.describe_instances()["Reservations"] == []


def test_default_instance_type_is_m1_small(ec2: Any) -> None:
    launched = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]
    assert launched["InstanceType"] == "m1.small"


def test_client_token_is_idempotent(ec2: Any) -> None:
    first = _run(ec2, ClientToken="once")
    again = _run(ec2, ClientToken="once")
    assert again["ReservationId"] == first["ReservationId"]
    assert [i["InstanceId"] for i in again["Instances"]] == [i["InstanceId"] for i in first["Instances"]]
    assert sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"]) == 1


def test_describe_instances_filters(ec2: Any) -> None:
    a = _run(ec2, TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "role", "Value": "web"}]}])
    b = _run(ec2, InstanceType="t3.small")
    a_id, b_id = a["Instances"][0]["InstanceId"], b["Instances"][0]["InstanceId"]

    def ids(filters: list[dict[str, Any]]) -> set[str]:
        found = ec2.describe_instances(Filters=filters)["Reservations"]
        return {i["InstanceId"] for r in found for i in r["Instances"]}

    assert ids([{"Name": "tag:role", "Values": ["web"]}]) == {a_id}
    assert ids([{"Name": "tag-key", "Values": ["role"]}]) == {a_id}
    assert ids([{"Name": "instance-type", "Values": ["t3.*"]}]) == {b_id}
    assert ids([{"Name": "instance-id", "Values": [a_id, b_id]}]) == {a_id, b_id}
    vpc = a["Instances"][0]["VpcId"]
    assert ids([{"Name": "vpc-id", "Values": [vpc]}]) == {a_id, b_id}
    subnet = b["Instances"][0]["SubnetId"]
    assert b_id in ids([{"Name": "subnet-id", "Values": [subnet]}])
    wait_state(ec2, a_id, "running")
    wait_state(ec2, b_id, "running")
    assert ids([{"Name": "instance-state-name", "Values": ["running"]}]) == {a_id, b_id}
    assert ids([{"Name": "instance-state-name", "Values": ["stopped"]}]) == set()
    assert error(lambda: ec2.describe_instances(Filters=[{"Name": "bogus", "Values": ["x"]}])) == (
        "InvalidParameterValue",
        "The filter 'bogus' is invalid",
    )


def test_describe_instances_errors_and_pages(ec2: Any) -> None:
    assert error(lambda: ec2.describe_instances(InstanceIds=["i-0000000000000000a"])) == (
        "InvalidInstanceID.NotFound",
        "The instance ID 'i-0000000000000000a' does not exist",
    )
    assert error(lambda: ec2.describe_instances(InstanceIds=["bad"])) == (
        "InvalidInstanceID.Malformed",
        'Invalid id: "bad" (expecting "i-...")',
    )
    _run(ec2, MinCount=7, MaxCount=7)
    seen: list[str] = []
    token = None
    while True:
        page = ec2.describe_instances(MaxResults=5, **({"NextToken": token} if token else {}))
        seen += [i["InstanceId"] for r in page["Reservations"] for i in r["Instances"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == 7
    assert error(lambda: ec2.describe_instances(InstanceIds=[seen[0]], MaxResults=5)) == (
        "InvalidParameterCombination",
        "The parameter instancesSet cannot be used with the parameter maxResults",
    )


def test_stop_start_terminate(ec2: Any, ecs_client: Any) -> None:
    ecs_client.create_cluster(clusterName="life")
    instance_id = _run(ec2, UserData=user_data("life"))["Instances"][0]["InstanceId"]
    wait_state(ec2, instance_id, "running")
    arn = wait_for(lambda: _container_instances(ecs_client, "life"), what="registration")[0][
        "containerInstanceArn"
    ]
    stopping = ec2.stop_instances(InstanceIds=[instance_id])["StoppingInstances"][0]
    assert stopping["PreviousState"]["Name"] == "running" and stopping["CurrentState"]["Name"] == "stopping"
    stopped = wait_state(ec2, instance_id, "stopped")
    assert stopped["State"]["Code"] == 80
    assert stopped["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    assert stopped["StateTransitionReason"].startswith("User initiated (")
    starting = ec2.start_instances(InstanceIds=[instance_id])["StartingInstances"][0]
    assert starting["PreviousState"]["Name"] == "stopped" and starting["CurrentState"]["Name"] == "pending"
    wait_state(ec2, instance_id, "running")
    # the same identity: the same container instance, connected again
    again = wait_for(
        lambda: [c for c in _container_instances(ecs_client, "life") if c["agentConnected"]], what="reconnect"
    )
    assert [c["containerInstanceArn"] for c in again] == [arn]
    terminating = ec2.terminate_instances(InstanceIds=[instance_id])["TerminatingInstances"][0]
    assert terminating["CurrentState"] == {"Code": 32, "Name": "shutting-down"}
    terminated = wait_state(ec2, instance_id, "terminated")
    assert terminated["State"]["Code"] == 48 and "PrivateIpAddress" not in terminated
    status = ecs_client.describe_container_instances(cluster="life", containerInstances=[arn])[
        "containerInstances"
    ]
    assert status[0]["status"] == "INACTIVE"
    # terminating again reports the same state
    again_terminated = ec2.terminate_instances(InstanceIds=[instance_id])["TerminatingInstances"][0]
    assert again_terminated["PreviousState"]["Name"] == "terminated"
    assert error(lambda: ec2.start_instances(InstanceIds=[instance_id])) == (
        "IncorrectInstanceState",
        f"The instance '{instance_id}' is not in a state from which it can be started.",
    )
    assert error(lambda: ec2.stop_instances(InstanceIds=[instance_id])) == (
        "IncorrectInstanceState",
        f"The instance '{instance_id}' is not in a state from which it can be stopped.",
    )


def test_termination_stops_the_tasks_on_the_instance(ec2: Any, ecs_client: Any) -> None:
    ecs_client.create_cluster(clusterName="tasks")
    instance_id = _run(ec2, UserData=user_data("tasks"))["Instances"][0]["InstanceId"]
    wait_for(lambda: _container_instances(ecs_client, "tasks"), what="registration")
    ecs_client.register_task_definition(
        family="sleep", containerDefinitions=[{"name": "app", "image": "busybox", "memory": 64}]
    )
    task_arn = ecs_client.run_task(cluster="tasks", taskDefinition="sleep", launchType="EC2")["tasks"][0][
        "taskArn"
    ]
    wait_for(
        lambda: (
            ecs_client.describe_tasks(cluster="tasks", tasks=[task_arn])["tasks"][0]["lastStatus"]
            == "RUNNING"
        ),
        what="the task to run",
    )
    ec2.terminate_instances(InstanceIds=[instance_id])
    task = wait_for(
        lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(
            ecs_client.describe_tasks(cluster="tasks", tasks=[task_arn])["tasks"][0]
        ),
        what="the task to stop",
    )
    assert "deregistered" in task["stoppedReason"]


def test_instance_state_errors(ec2: Any) -> None:
    assert error(
        lambda: ec2.terminate_instances(InstanceIds=["i-0000000000000000a", "i-0000000000000000b"])
    ) == (
        "InvalidInstanceID.NotFound",
        "The instance IDs 'i-0000000000000000a, i-0000000000000000b' do not exist",
    )
    protected = _run(ec2, DisableApiTermination=True)["Instances"][0]["InstanceId"]
    code, message = error(lambda: ec2.terminate_instances(InstanceIds=[protected]))
    assert code == "OperationNotPermitted" and "disableApiTermination" in message
    assert (
        error(lambda: ec2.terminate_instances(InstanceIds=[protected], DryRun=True))[0]
        == "OperationNotPermitted"
    )
    other = _run(ec2)["Instances"][0]["InstanceId"]
    assert error(lambda: ec2.terminate_instances(InstanceIds=[other], DryRun=True))[0] == "DryRunOperation"
    assert instance(ec2, other)["State"]["Name"] in ("pending", "running")


def test_instance_tags_through_create_tags(ec2: Any) -> None:
    instance_id = _run(ec2)["Instances"][0]["InstanceId"]
    ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "Name", "Value": "box"}])
    assert instance(ec2, instance_id)["Tags"] == [{"Key": "Name", "Value": "box"}]
    tags = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["instance"]}])["Tags"]
    assert [(t["ResourceId"], t["Key"], t["Value"]) for t in tags] == [(instance_id, "Name", "box")]


# -- launch templates ------------------------------------------------------------------------------


def test_launch_template_lifecycle(ec2: Any) -> None:
    created = ec2.create_launch_template(
        LaunchTemplateName="ecs-nodes",
        VersionDescription="first",
        LaunchTemplateData={
            "ImageId": AMI,
            "InstanceType": "t3.small",
            "UserData": user_data_b64("default"),
            "IamInstanceProfile": {"Name": "ecsInstanceRole"},
        },
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "team", "Value": "a"}]}],
    )["LaunchTemplate"]
    template_id = created["LaunchTemplateId"]
    assert template_id.startswith("lt-")
    assert created["DefaultVersionNumber"] == 1 and created["LatestVersionNumber"] == 1
    assert created["CreatedBy"] == f"arn:aws:iam::{ACCOUNT}:root"
    version = ec2.create_launch_template_version(
        LaunchTemplateId=template_id, SourceVersion="1", LaunchTemplateData={"InstanceType": "c5.large"}
    )["LaunchTemplateVersion"]
    assert version["VersionNumber"] == 2 and version["DefaultVersion"] is False
    assert version["LaunchTemplateData"]["ImageId"] == AMI  # from the source version
    assert version["LaunchTemplateData"]["InstanceType"] == "c5.large"
    versions = ec2.describe_launch_template_versions(LaunchTemplateName="ecs-nodes")["LaunchTemplateVersions"]
    assert [v["VersionNumber"] for v in versions] == [2, 1]
    latest = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=["$Latest"])
    assert [v["VersionNumber"] for v in latest["LaunchTemplateVersions"]] == [2]
    default = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=["$Default"])
    assert default["LaunchTemplateVersions"][0]["LaunchTemplateData"]["UserData"] == user_data_b64("default")
    modified = ec2.modify_launch_template(LaunchTemplateId=template_id, DefaultVersion="2")["LaunchTemplate"]
    assert modified["DefaultVersionNumber"] == 2
    described = ec2.describe_launch_templates(LaunchTemplateNames=["ecs-nodes"])["LaunchTemplates"][0]
    assert described["LatestVersionNumber"] == 2 and described["Tags"] == [{"Key": "team", "Value": "a"}]
    deleted = ec2.delete_launch_template(LaunchTemplateName="ecs-nodes")["LaunchTemplate"]
    assert deleted["LaunchTemplateId"] == template_id
    assert ec2.describe_launch_templates()["LaunchTemplates"] == []


def test_launch_template_errors(ec2: Any) -> None:
    data = {"ImageId": AMI, "InstanceType": "t2.micro"}
    ec2.create_launch_template(LaunchTemplateName="one", LaunchTemplateData=data)
    assert error(lambda: ec2.create_launch_template(LaunchTemplateName="one", LaunchTemplateData=data)) == (
        "InvalidLaunchTemplateName.AlreadyExistsException",
        "Launch template name already in use.",
    )
    assert error(lambda: ec2.describe_launch_templates(LaunchTemplateNames=["two"])) == (
        "InvalidLaunchTemplateName.NotFoundException",
        "At least one of the launch templates specified in the request does not exist.",
    )
    assert error(lambda: ec2.describe_launch_templates(LaunchTemplateIds=["lt-00000000000000000"]))[0] == (
        "InvalidLaunchTemplateId.NotFound"
    )
    assert error(lambda: ec2.delete_launch_template(LaunchTemplateId="lt-00000000000000000")) == (
        "InvalidLaunchTemplateId.NotFound",
        "The specified launch template, with template ID lt-00000000000000000, does not exist.",
    )
    assert error(lambda: ec2.describe_launch_template_versions(LaunchTemplateName="one", Versions=["9"]))[
        0
    ] == ("InvalidLaunchTemplateId.VersionNotFound")
    assert error(
        lambda: ec2.create_launch_template(
            LaunchTemplateName="bad-data", LaunchTemplateData={"ImageId": AMI, "UserData": "not base64!"}
        )
    ) == ("InvalidUserData.Malformed", "Invalid BASE64 encoding of user data.")


def test_run_instances_from_a_launch_template(ec2: Any, ecs_client: Any) -> None:
    ecs_client.create_cluster(clusterName="templated")
    template = ec2.create_launch_template(
        LaunchTemplateName="nodes",
        LaunchTemplateData={
            "ImageId": AMI,
            "InstanceType": "t3.small",
            "UserData": user_data_b64("templated"),
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": [{"Key": "from", "Value": "template"}]}
            ],
        },
    )["LaunchTemplate"]
    launched = ec2.run_instances(
        LaunchTemplate={"LaunchTemplateName": "nodes"},
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "extra", "Value": "request"}]}],
    )["Instances"][0]
    assert launched["InstanceType"] == "t3.small" and launched["ImageId"] == AMI
    tags = {t["Key"]: t["Value"] for t in launched["Tags"]}
    assert tags["from"] == "template" and tags["extra"] == "request"
    assert tags["aws:ec2launchtemplate:id"] == template["LaunchTemplateId"]
    assert tags["aws:ec2launchtemplate:version"] == "1"
    overridden = ec2.run_instances(
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "$Latest"},
        InstanceType="t2.micro",
        MinCount=1,
        MaxCount=1,
    )["Instances"][0]
    assert overridden["InstanceType"] == "t2.micro"
    registered = wait_for(
        lambda: (lambda c: c if len(c) == 2 else None)(_container_instances(ecs_client, "templated")),
        what="two registrations",
    )
    assert {c["ec2InstanceId"] for c in registered} == {launched["InstanceId"], overridden["InstanceId"]}
    assert error(
        lambda: ec2.run_instances(LaunchTemplate={"LaunchTemplateName": "missing"}, MinCount=1, MaxCount=1)
    ) == (
        "InvalidLaunchTemplateName.NotFoundException",
        "The specified launch template, with template name missing, does not exist.",
    )
