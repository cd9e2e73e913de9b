"""Capacity provider operations with boto3 (reference §7.1, §7.2): Create/Update/Delete/Describe,
PutClusterCapacityProviders and CreateCluster with Auto Scaling group providers, and the strategy
rules RunTask, CreateService and UpdateService apply, with ECS's errors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from dockyard.testing.server import ThreadedServer
from tests.api.capacity_helpers import AMI, error, user_data_b64
from tests.api.service_helpers import eventually
from tests.api.task_helpers import bridge_td, fargate_td, network, subnets
from tests.conftest import make_client

ACCOUNT = "123456789012"


@pytest.fixture
def autoscaling(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "autoscaling")


@pytest.fixture
def group(server: ThreadedServer, autoscaling: Any) -> Callable[..., str]:
    """Make an Auto Scaling group (desired 0); returns its ARN."""
    ec2 = make_client(server.endpoint, "ec2")
    made: list[str] = []

    def make(name: str = "g", *, protected: bool = False, cluster: str = "cp") -> str:
        if not made:
            ec2.create_launch_template(
                LaunchTemplateName="nodes",
                LaunchTemplateData={
                    "ImageId": AMI,
                    "InstanceType": "t2.micro",
                    "UserData": user_data_b64(cluster),
                },
            )
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateName": "nodes", "Version": "$Latest"},
            MinSize=0,
            MaxSize=4,
            DesiredCapacity=0,
            VPCZoneIdentifier=",".join(subnets()),
            NewInstancesProtectedFromScaleIn=protected,
        )
        made.append(name)
        arn: str = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
            "AutoScalingGroups"
        ][0]["AutoScalingGroupARN"]
        return arn

    return make


def provider(ecs: Any, name: str, group_ref: str, **settings: Any) -> dict[str, Any]:
    found: dict[str, Any] = ecs.create_capacity_provider(
        name=name, autoScalingGroupProvider={"autoScalingGroupArn": group_ref, **settings}
    )["capacityProvider"]
    return found


def describe(ecs: Any, *names: str, **kwargs: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ecs.describe_capacity_providers(capacityProviders=list(names), **kwargs)[
        "capacityProviders"
    ]
    return found


def test_create_and_describe_with_ecs_defaults(ecs: Any, group: Callable[..., str]) -> None:
    arn = group()
    created = provider(ecs, "asg-cp", arn)
    assert created == {
        "capacityProviderArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:capacity-provider/asg-cp",
        "name": "asg-cp",
        "status": "ACTIVE",
        "type": "EC2_AUTOSCALING",
        "autoScalingGroupProvider": {
            "autoScalingGroupArn": arn,
            "managedScaling": {
                "status": "DISABLED",
                "targetCapacity": 100,
                "minimumScalingStepSize": 1,
                "maximumScalingStepSize": 10000,
                "instanceWarmupPeriod": 300,
            },
            "managedTerminationProtection": "DISABLED",
            "managedDraining": "ENABLED",
        },
        "tags": [],
    }
    listed = ecs.describe_capacity_providers()
    assert [p["name"] for p in listed["capacityProviders"]] == ["FARGATE", "FARGATE_SPOT", "asg-cp"]
    assert listed["capacityProviders"][0] == {
        "capacityProviderArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:capacity-provider/FARGATE",
        "name": "FARGATE",
        "status": "ACTIVE",
        "type": "FARGATE",
    }
    by_arn = describe(ecs, created["capacityProviderArn"], "FARGATE_SPOT", "nope")
    assert [p["name"] for p in by_arn] == ["asg-cp", "FARGATE_SPOT"]
    assert ecs.describe_capacity_providers(capacityProviders=["nope"])["failures"] == [
        {"arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:capacity-provider/nope", "reason": "MISSING"}
    ]


def test_group_by_name_tags_and_tagging(ecs: Any, group: Callable[..., str]) -> None:
    arn = group()
    ecs.create_capacity_provider(
        name="tagged",
        autoScalingGroupProvider={"autoScalingGroupArn": "g"},
        tags=[{"key": "team", "value": "a"}],
    )
    assert "tags" not in describe(ecs, "tagged")[0]
    shown = describe(ecs, "tagged", include=["TAGS"])[0]
    assert shown["tags"] == [{"key": "team", "value": "a"}]
    assert shown["autoScalingGroupProvider"]["autoScalingGroupArn"] == arn  # a name resolves to the ARN
    resource = shown["capacityProviderArn"]
    ecs.tag_resource(resourceArn=resource, tags=[{"key": "env", "value": "dev"}])
    ecs.untag_resource(resourceArn=resource, tagKeys=["team"])
    assert ecs.list_tags_for_resource(resourceArn=resource)["tags"] == [{"key": "env", "value": "dev"}]


@pytest.mark.parametrize(
    ("name", "settings", "code", "message"),
    [
        ("aws-cp", {}, "InvalidParameterException", "cannot be prefixed with 'aws', 'ecs', or 'fargate'"),
        ("ECScp", {}, "InvalidParameterException", "cannot be prefixed with"),
        ("Fargate-x", {}, "InvalidParameterException", "cannot be prefixed with"),
        ("bad name", {}, "InvalidParameterException", "can have up to 255 letters"),
        (
            "cp",
            {"managedTerminationProtection": "ENABLED", "managedScaling": {"status": "ENABLED"}},
            "ClientException",
            "The managed termination protection setting for the capacity provider is invalid. To enable "
            "managed termination protection for a capacity provider, the Auto Scaling group must have "
            "instance protection from scale in enabled.",
        ),
        (
            "cp",
            {"managedTerminationProtection": "ENABLED"},
            "ClientException",
            "managed scaling must be enabled",
        ),
        (
            "cp",
            {"managedScaling": {"minimumScalingStepSize": 5, "maximumScalingStepSize": 2}},
            "InvalidParameterException",
            "minimumScalingStepSize must be less than or equal to",
        ),
    ],
)
def test_create_refuses_bad_input_and_stores_nothing(
    ecs: Any, group: Callable[..., str], name: str, settings: dict[str, Any], code: str, message: str
) -> None:
    arn = group()
    got = error(lambda: provider(ecs, name, arn, **settings))
    assert got[0] == code and message in got[1]
    assert [p["name"] for p in ecs.describe_capacity_providers()["capacityProviders"]] == [
        "FARGATE",
        "FARGATE_SPOT",
    ]


def test_create_needs_an_existing_group_of_its_own(ecs: Any, group: Callable[..., str]) -> None:
    assert error(lambda: provider(ecs, "cp", "no-such-group"))[0] == "ClientException"
    wrong = (
        f"arn:aws:autoscaling:us-east-1:{ACCOUNT}:autoScalingGroup:00000000-0000-0000-0000-000000000000"
        ":autoScalingGroupName/g"
    )
    arn = group()
    assert error(lambda: provider(ecs, "cp", wrong))[0] == "ClientException"
    provider(ecs, "cp", arn)
    assert error(lambda: provider(ecs, "cp", arn)) == (
        "ClientException",
        "The specified capacity provider already exists. To change the configuration of an existing "
        "capacity provider, update the capacity provider.",
    )
    assert error(lambda: provider(ecs, "other", arn)) == (
        "ClientException",
        "The specified Auto Scaling group ARN is already being used by another capacity provider. "
        "Specify a unique Auto Scaling group ARN and try again.",
    )
    code, _ = error(
        lambda: ecs.create_capacity_provider(
            name="mi",
            managedInstancesProvider={
                "infrastructureRoleArn": "arn:aws:iam::1:role/x",
                "instanceLaunchTemplate": {
                    "ec2InstanceProfileArn": "arn:aws:iam::1:instance-profile/x",
                    "networkConfiguration": {"subnets": subnets()},
                },
            },
        )
    )
    assert code == "UnsupportedFeatureException"


def test_managed_termination_protection_with_a_protected_group(ecs: Any, group: Callable[..., str]) -> None:
    arn = group(protected=True)
    created = provider(
        ecs,
        "cp",
        arn,
        managedScaling={"status": "ENABLED", "targetCapacity": 90},
        managedTerminationProtection="ENABLED",
    )
    assert created["autoScalingGroupProvider"]["managedTerminationProtection"] == "ENABLED"
    assert created["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"] == 90


def test_pagination(ecs: Any, group: Callable[..., str]) -> None:
    for i in range(6):
        provider(ecs, f"cp{i}", group(f"g{i}"))
    names: list[str] = []
    request: dict[str, Any] = {"maxResults": 3}
    while True:
        page = ecs.describe_capacity_providers(**request)
        assert len(page["capacityProviders"]) <= 3
        names += [p["name"] for p in page["capacityProviders"]]
        if "nextToken" not in page:
            break
        request["nextToken"] = page["nextToken"]
    assert names == ["FARGATE", "FARGATE_SPOT", *[f"cp{i}" for i in range(6)]]
    assert len(ecs.describe_capacity_providers()["capacityProviders"]) == 8  # default page: 10
    assert error(lambda: ecs.describe_capacity_providers(maxResults=11))[0] == "InvalidParameterException"


def test_update_merges_and_completes(ecs: Any, group: Callable[..., str]) -> None:
    provider(ecs, "cp", group(), managedScaling={"status": "ENABLED", "targetCapacity": 80})
    updated = ecs.update_capacity_provider(
        name="cp",
        autoScalingGroupProvider={
            "managedScaling": {"maximumScalingStepSize": 2},
            "managedDraining": "DISABLED",
        },
    )["capacityProvider"]
    assert updated["updateStatus"] == "UPDATE_IN_PROGRESS"
    scaling = updated["autoScalingGroupProvider"]["managedScaling"]
    assert (scaling["status"], scaling["targetCapacity"], scaling["maximumScalingStepSize"]) == (
        "ENABLED",
        80,
        2,
    )
    assert updated["autoScalingGroupProvider"]["managedDraining"] == "DISABLED"
    eventually(lambda: describe(ecs, "cp")[0].get("updateStatus") == "UPDATE_COMPLETE")
    assert error(lambda: ecs.update_capacity_provider(name="FARGATE", autoScalingGroupProvider={}))[0] == (
        "InvalidParameterException"
    )
    assert error(lambda: ecs.update_capacity_provider(name="nope", autoScalingGroupProvider={}))[0] == (
        "InvalidParameterException"
    )
    assert (
        error(
            lambda: ecs.update_capacity_provider(
                name="cp", autoScalingGroupProvider={"managedTerminationProtection": "ENABLED"}
            )
        )[0]
        == "ClientException"
    )  # the group does not protect new instances


def test_put_cluster_capacity_providers(ecs: Any, group: Callable[..., str]) -> None:
    provider(ecs, "cp", group())
    ecs.create_cluster(clusterName="c1")
    cluster = ecs.put_cluster_capacity_providers(
        cluster="c1",
        capacityProviders=["cp", "FARGATE"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "cp", "weight": 1, "base": 1}],
    )["cluster"]
    assert cluster["capacityProviders"] == ["cp", "FARGATE"]
    assert cluster["defaultCapacityProviderStrategy"] == [{"capacityProvider": "cp", "weight": 1, "base": 1}]
    assert [p["name"] for p in ecs.describe_capacity_providers(cluster="c1")["capacityProviders"]] == [
        "cp",
        "FARGATE",
    ]
    mixed = error(
        lambda: ecs.put_cluster_capacity_providers(
            cluster="c1",
            capacityProviders=["cp", "FARGATE"],
            defaultCapacityProviderStrategy=[
                {"capacityProvider": "cp", "weight": 1},
                {"capacityProvider": "FARGATE"},
            ],
        )
    )
    assert mixed == (
        "InvalidParameterException",
        "A capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups "
        "and Fargate providers. Specify one or the other and try again.",
    )
    unknown = error(
        lambda: ecs.put_cluster_capacity_providers(
            cluster="c1", capacityProviders=["ghost"], defaultCapacityProviderStrategy=[]
        )
    )
    assert unknown[0] == "InvalidParameterException" and "'ghost' does not exist" in unknown[1]
    ecs.create_cluster(clusterName="c2")
    taken = error(
        lambda: ecs.put_cluster_capacity_providers(
            cluster="c2", capacityProviders=["cp"], defaultCapacityProviderStrategy=[]
        )
    )
    assert taken[0] == "InvalidParameterException" and "already associated with cluster c1" in taken[1]
    assert (
        error(
            lambda: ecs.put_cluster_capacity_providers(
                cluster="nope", capacityProviders=[], defaultCapacityProviderStrategy=[]
            )
        )[0]
        == "ClusterNotFoundException"
    )
    emptied = ecs.put_cluster_capacity_providers(
        cluster="c1", capacityProviders=[], defaultCapacityProviderStrategy=[]
    )
    assert (
        emptied["cluster"]["capacityProviders"] == []
        and emptied["cluster"]["defaultCapacityProviderStrategy"] == []
    )
    ecs.put_cluster_capacity_providers(
        cluster="c2", capacityProviders=["cp"], defaultCapacityProviderStrategy=[]
    )


def test_create_cluster_with_an_auto_scaling_group_provider(ecs: Any, group: Callable[..., str]) -> None:
    provider(ecs, "cp", group())
    cluster = ecs.create_cluster(
        clusterName="c1",
        capacityProviders=["cp"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "cp", "weight": 1}],
    )["cluster"]
    assert cluster["capacityProviders"] == ["cp"]
    assert cluster["defaultCapacityProviderStrategy"] == [{"capacityProvider": "cp", "weight": 1, "base": 0}]


def test_removing_a_provider_in_use_is_refused(ecs: Any, group: Callable[..., str]) -> None:
    ecs.create_capacity_provider(
        name="cp",
        autoScalingGroupProvider={"autoScalingGroupArn": group(), "managedScaling": {"status": "ENABLED"}},
    )
    ecs.create_cluster(clusterName="cp", capacityProviders=["cp", "FARGATE", "FARGATE_SPOT"])
    fargate_td(ecs)
    ecs.create_service(
        cluster="cp",
        serviceName="spot",
        taskDefinition="web",
        desiredCount=0,
        networkConfiguration=network(),
        capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
    )
    in_use = "The specified capacity provider is in use and cannot be removed."
    assert error(
        lambda: ecs.put_cluster_capacity_providers(
            cluster="cp", capacityProviders=["cp", "FARGATE"], defaultCapacityProviderStrategy=[]
        )
    ) == ("ResourceInUseException", in_use)
    # A task waiting in PROVISIONING for the Auto Scaling group provider (no instance exists).
    bridge_td(ecs, memory=256)
    task = ecs.run_task(
        cluster="cp", taskDefinition="api", capacityProviderStrategy=[{"capacityProvider": "cp", "weight": 1}]
    )["tasks"][0]
    assert task["lastStatus"] == "PROVISIONING" and task["capacityProviderName"] == "cp"
    assert error(
        lambda: ecs.put_cluster_capacity_providers(
            cluster="cp", capacityProviders=["FARGATE", "FARGATE_SPOT"], defaultCapacityProviderStrategy=[]
        )
    ) == ("ResourceInUseException", in_use)
    ecs.stop_task(cluster="cp", task=task["taskArn"])
    eventually(
        lambda: (
            ecs.describe_tasks(cluster="cp", tasks=[task["taskArn"]])["tasks"][0]["lastStatus"] == "STOPPED"
        )
    )
    ecs.put_cluster_capacity_providers(
        cluster="cp", capacityProviders=["FARGATE", "FARGATE_SPOT"], defaultCapacityProviderStrategy=[]
    )


def test_delete(ecs: Any, group: Callable[..., str]) -> None:
    arn = group()
    provider(ecs, "cp", arn)
    ecs.create_cluster(clusterName="c1", capacityProviders=["cp"])
    refused = ecs.delete_capacity_provider(capacityProvider="cp")["capacityProvider"]
    assert refused["status"] == "ACTIVE" and refused["updateStatus"] == "DELETE_FAILED"
    assert refused["updateStatusReason"] == (
        "The capacity provider cannot be deleted because it is associated with cluster: c1. Remove the "
        "capacity provider from the cluster and try again."
    )
    ecs.put_cluster_capacity_providers(cluster="c1", capacityProviders=[], defaultCapacityProviderStrategy=[])
    deleting = ecs.delete_capacity_provider(capacityProvider=refused["capacityProviderArn"])[
        "capacityProvider"
    ]
    assert (deleting["status"], deleting["updateStatus"]) == ("DEPROVISIONING", "DELETE_IN_PROGRESS")
    eventually(lambda: describe(ecs, "cp")[0]["status"] == "INACTIVE")
    assert describe(ecs, "cp")[0]["updateStatus"] == "DELETE_COMPLETE"
    provider(ecs, "cp2", arn)  # the group is free again
    assert (
        error(lambda: ecs.delete_capacity_provider(capacityProvider="FARGATE"))[0]
        == "InvalidParameterException"
    )
    assert (
        error(lambda: ecs.delete_capacity_provider(capacityProvider="nope"))[0] == "InvalidParameterException"
    )
    assert (
        error(
            lambda: ecs.put_cluster_capacity_providers(
                cluster="c1", capacityProviders=["cp"], defaultCapacityProviderStrategy=[]
            )
        )[0]
        == "InvalidParameterException"
    )  # INACTIVE: it no longer exists for a cluster


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (
            [{"capacityProvider": "cp", "weight": 1}, {"capacityProvider": "FARGATE", "weight": 1}],
            "cannot contain a mix of capacity providers using Auto Scaling groups and Fargate providers",
        ),
        ([{"capacityProvider": "FARGATE_SPOT", "weight": 1}], "not associated with the cluster"),
        ([{"capacityProvider": "ghost", "weight": 1}], "not associated with the cluster"),
        (
            [{"capacityProvider": "FARGATE", "base": 1}],
            "must contain at least one capacity provider with a weight value greater than 0",
        ),
        (
            [
                {"capacityProvider": "cp", "weight": 1, "base": 1},
                {"capacityProvider": "cp2", "weight": 1, "base": 2},
            ],
            "a maximum of one capacity provider with a base value greater than 0",
        ),
        (
            [{"capacityProvider": "cp", "weight": 1}, {"capacityProvider": "cp", "weight": 2}],
            "cannot contain duplicate capacity providers",
        ),
    ],
)
def test_strategy_rules(
    ecs: Any, group: Callable[..., str], strategy: list[dict[str, Any]], message: str
) -> None:
    provider(ecs, "cp", group("g1"))
    provider(ecs, "cp2", group("g2"))
    ecs.create_cluster(clusterName="cp", capacityProviders=["cp", "cp2", "FARGATE"])
    ecs.register_task_definition(
        family="both",
        requiresCompatibilities=["EC2", "FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "dockyard/hello:latest"}],
    )
    base = {"cluster": "cp", "taskDefinition": "both", "networkConfiguration": network()}
    for call in (
        lambda: ecs.run_task(**base, capacityProviderStrategy=strategy),
        lambda: ecs.create_service(
            **base, serviceName="s", desiredCount=1, capacityProviderStrategy=strategy
        ),
    ):
        code, text = error(call)
        assert code == "InvalidParameterException" and message in text
    ecs.create_service(**base, serviceName="ok", desiredCount=0, launchType="FARGATE")
    code, text = error(
        lambda: ecs.update_service(cluster="cp", service="ok", capacityProviderStrategy=strategy)
    )
    assert code == "InvalidParameterException" and message in text
    assert ecs.list_tasks(cluster="cp")["taskArns"] == []


def test_run_task_splits_by_base_then_weight(ecs: Any) -> None:
    ecs.create_cluster(clusterName="f", capacityProviders=["FARGATE", "FARGATE_SPOT"])
    fargate_td(ecs)
    tasks = ecs.run_task(
        cluster="f",
        taskDefinition="web",
        count=10,
        networkConfiguration=network(),
        capacityProviderStrategy=[
            {"capacityProvider": "FARGATE", "weight": 1, "base": 2},
            {"capacityProvider": "FARGATE_SPOT", "weight": 3},
        ],
    )["tasks"]
    assert Counter(t["capacityProviderName"] for t in tasks) == {
        "FARGATE": 4,
        "FARGATE_SPOT": 6,
    }  # 2 + 8 by 1:3
    assert {t["launchType"] for t in tasks} == {"FARGATE"}


def test_cluster_default_strategy_applies_when_nothing_is_asked(ecs: Any, group: Callable[..., str]) -> None:
    ecs.create_capacity_provider(
        name="cp",
        autoScalingGroupProvider={"autoScalingGroupArn": group(), "managedScaling": {"status": "ENABLED"}},
    )
    ecs.create_cluster(
        clusterName="cp",
        capacityProviders=["cp"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "cp", "weight": 1}],
    )
    bridge_td(ecs, memory=256)
    task = ecs.run_task(cluster="cp", taskDefinition="api")["tasks"][0]
    assert (task["launchType"], task["capacityProviderName"], task["lastStatus"]) == (
        "EC2",
        "cp",
        "PROVISIONING",
    )
    assert "containerInstanceArn" not in task
    # A launch type overrides the default strategy: EC2 with no instance fails at once.
    assert error(lambda: ecs.run_task(cluster="cp", taskDefinition="api", launchType="EC2")) == (
        "InvalidParameterException",
        "No Container Instances were found in your cluster.",
    )
