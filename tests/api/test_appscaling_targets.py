"""Application Auto Scaling scalable targets, tags and scheduled actions through boto3: what a user
sees, including AWS's errors and messages."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.api.service_helpers import eventually
from tests.api.task_helpers import fargate_td, network
from tests.conftest import make_client

SERVICE = "service/default/web"
DIMENSION = "ecs:service:DesiredCount"


@pytest.fixture
def aas(server: ThreadedServer, ecs: Any) -> Any:
    ecs.create_cluster()
    fargate_td(ecs)
    ecs.create_service(
        serviceName="web",
        taskDefinition="web",
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network(),
    )
    return make_client(server.endpoint, "application-autoscaling")


def target(**extra: Any) -> dict[str, Any]:
    return {"ServiceNamespace": "ecs", "ResourceId": SERVICE, "ScalableDimension": DIMENSION, **extra}


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def desired(ecs: Any) -> int:
    return int(ecs.describe_services(services=["web"])["services"][0]["desiredCount"])


def test_register_describe_update_and_deregister(aas: Any, ecs: Any) -> None:
    arn = aas.register_scalable_target(**target(MinCapacity=1, MaxCapacity=4))["ScalableTargetARN"]
    assert arn.startswith("arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/")
    [found] = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert found["ResourceId"] == SERVICE and found["ScalableTargetARN"] == arn
    assert (found["MinCapacity"], found["MaxCapacity"]) == (1, 4)
    assert found["RoleARN"] == (
        "arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_ECSService"
    )
    assert found["SuspendedState"] == {
        "DynamicScalingInSuspended": False,
        "DynamicScalingOutSuspended": False,
        "ScheduledScalingSuspended": False,
    }
    # registering again changes only what is given, and keeps the ARN
    again = aas.register_scalable_target(
        **target(MaxCapacity=6, SuspendedState={"DynamicScalingInSuspended": True})
    )
    assert again["ScalableTargetARN"] == arn
    [found] = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[SERVICE])["ScalableTargets"]
    assert (found["MinCapacity"], found["MaxCapacity"]) == (1, 6)
    assert found["SuspendedState"]["DynamicScalingInSuspended"] is True
    assert found["SuspendedState"]["ScheduledScalingSuspended"] is False
    assert aas.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"] == []
    assert (
        aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=["service/default/x"])[
            "ScalableTargets"
        ]
        == []
    )
    aas.deregister_scalable_target(**target())
    assert aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    with pytest.raises(ClientError) as caught:
        aas.deregister_scalable_target(**target())
    assert error(caught) == (
        "ObjectNotFoundException",
        f"No scalable target found for service namespace: ecs, resource ID: {SERVICE}, "
        f"scalable dimension: {DIMENSION}",
    )


def test_new_limits_bring_the_desired_count_into_range(aas: Any, ecs: Any) -> None:
    aas.register_scalable_target(**target(MinCapacity=3, MaxCapacity=5))
    eventually(lambda: desired(ecs) == 3, message="scaled out to the new minimum")
    aas.register_scalable_target(**target(MinCapacity=1, MaxCapacity=2))
    eventually(lambda: desired(ecs) == 2, message="scaled in to the new maximum")
    activities = eventually(
        lambda: [
            a
            for a in aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=SERVICE)[
                "ScalingActivities"
            ]
            if a["StatusCode"] == "Successful"
        ][:2]
    )
    newest, oldest = activities
    assert newest["Description"] == "Setting desired count to 2."
    assert newest["Cause"] == "maximum capacity was set to 2"
    assert (
        newest["StatusMessage"]
        == "Successfully set desired count to 2. Change successfully fulfilled by ecs."
    )
    assert oldest["Description"] == "Setting desired count to 3."
    assert oldest["Cause"] == "minimum capacity was set to 3"
    assert newest["StartTime"] >= oldest["StartTime"] and "EndTime" in newest


def test_registration_errors(aas: Any, ecs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        aas.register_scalable_target(
            **target(ResourceId="service/default/nope", MinCapacity=1, MaxCapacity=2)
        )
    assert error(caught) == ("ValidationException", "ECS service doesn't exist: service/default/nope")
    with pytest.raises(ClientError) as caught:
        aas.register_scalable_target(**target(MinCapacity=5, MaxCapacity=2))
    assert error(caught) == ("ValidationException", "Maximum capacity cannot be less than minimum capacity")
    with pytest.raises(ClientError) as caught:
        aas.register_scalable_target(**target(MinCapacity=1))
    assert error(caught) == (
        "ValidationException",
        "MinCapacity and MaxCapacity are required for registering a new scalable target",
    )
    with pytest.raises(ClientError) as caught:
        aas.register_scalable_target(**target(ResourceId="table/orders", MinCapacity=1, MaxCapacity=2))
    assert error(caught) == (
        "ValidationException",
        "Unsupported service namespace, resource type or scalable dimension",
    )
    assert aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    aas.register_scalable_target(**target(MinCapacity=1, MaxCapacity=3))
    with pytest.raises(ClientError) as caught:
        aas.register_scalable_target(**target(MinCapacity=4))
    assert error(caught) == ("ValidationException", "Maximum capacity cannot be less than minimum capacity")
    [found] = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert (found["MinCapacity"], found["MaxCapacity"]) == (1, 3)


def test_describe_pages_through_targets(aas: Any, ecs: Any) -> None:
    for name in ("api", "worker"):
        ecs.create_service(
            serviceName=name,
            taskDefinition="web",
            desiredCount=0,
            launchType="FARGATE",
            networkConfiguration=network(),
        )
    for name in ("api", "web", "worker"):
        aas.register_scalable_target(
            **target(ResourceId=f"service/default/{name}", MinCapacity=0, MaxCapacity=2)
        )
    first = aas.describe_scalable_targets(ServiceNamespace="ecs", MaxResults=2)
    assert [t["ResourceId"] for t in first["ScalableTargets"]] == [
        "service/default/api",
        "service/default/web",
    ]
    rest = aas.describe_scalable_targets(ServiceNamespace="ecs", MaxResults=2, NextToken=first["NextToken"])
    assert [t["ResourceId"] for t in rest["ScalableTargets"]] == ["service/default/worker"]
    assert "NextToken" not in rest
    paginator = aas.get_paginator("describe_scalable_targets")
    assert (
        sum(len(p["ScalableTargets"]) for p in paginator.paginate(ServiceNamespace="ecs", MaxResults=1)) == 3
    )
    with pytest.raises(ClientError) as caught:
        aas.describe_scalable_targets(ServiceNamespace="ecs", MaxResults=51)
    assert error(caught)[0] == "ValidationException"
    with pytest.raises(ClientError) as caught:
        aas.describe_scalable_targets(ServiceNamespace="ecs", NextToken="not-a-token")
    assert error(caught)[0] == "InvalidNextTokenException"


def test_tags(aas: Any) -> None:
    arn = aas.register_scalable_target(**target(MinCapacity=1, MaxCapacity=2, Tags={"team": "web"}))[
        "ScalableTargetARN"
    ]
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "web"}
    aas.tag_resource(ResourceARN=arn, Tags={"env": "prod", "team": "edge"})
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "edge", "env": "prod"}
    aas.untag_resource(ResourceARN=arn, TagKeys=["team", "absent"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"env": "prod"}
    missing = arn[:-4] + "ffff"
    with pytest.raises(ClientError) as caught:
        aas.list_tags_for_resource(ResourceARN=missing)
    assert error(caught)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as caught:
        aas.tag_resource(ResourceARN=arn, Tags={f"k{i}": "v" for i in range(50)})
    assert error(caught)[0] == "TooManyTagsException"
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"env": "prod"}


def test_scheduled_actions_crud_and_errors(aas: Any) -> None:
    with pytest.raises(ClientError) as caught:
        aas.put_scheduled_action(
            **target(),
            ScheduledActionName="x",
            Schedule="rate(1 day)",
            ScalableTargetAction={"MinCapacity": 1},
        )
    assert error(caught) == (
        "ObjectNotFoundException",
        f"No scalable target registered for service namespace: ecs, resource ID: {SERVICE}, "
        f"scalable dimension: {DIMENSION}",
    )
    aas.register_scalable_target(**target(MinCapacity=1, MaxCapacity=4))
    aas.put_scheduled_action(
        **target(),
        ScheduledActionName="mornings",
        Schedule="cron(0 9 ? * MON-FRI *)",
        Timezone="Europe/Paris",
        ScalableTargetAction={"MinCapacity": 3, "MaxCapacity": 6},
    )
    [action] = aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"]
    assert action["ScheduledActionName"] == "mornings"
    assert action["ScheduledActionARN"].startswith(
        "arn:aws:autoscaling:us-east-1:123456789012:scheduledAction:"
    )
    assert action["ScheduledActionARN"].endswith(f":resource/ecs/{SERVICE}:scheduledActionName/mornings")
    assert action["Timezone"] == "Europe/Paris"
    assert action["ScalableTargetAction"] == {"MinCapacity": 3, "MaxCapacity": 6}
    # an update changes what is given and keeps the rest
    aas.put_scheduled_action(
        **target(), ScheduledActionName="mornings", ScalableTargetAction={"MinCapacity": 2}
    )
    [action] = aas.describe_scheduled_actions(ServiceNamespace="ecs", ScheduledActionNames=["mornings"])[
        "ScheduledActions"
    ]
    assert action["Schedule"] == "cron(0 9 ? * MON-FRI *)" and action["ScalableTargetAction"] == {
        "MinCapacity": 2
    }
    bad = [
        (
            "cron(0 9 * * MON-FRI *)",
            "cron(0 9 * * MON-FRI *) is not a valid cron expression: exactly one of "
            "day-of-month and day-of-week must be '?'",
        ),
        (
            "cron(0 25 * * ? *)",
            "cron(0 25 * * ? *) is not a valid cron expression: 25 is out of range for the "
            "hours field (0-23)",
        ),
        ("rate(5 fortnights)", "rate(5 fortnights) is not a valid rate expression: use rate(value unit)"),
    ]
    for schedule, message in bad:
        with pytest.raises(ClientError) as caught:
            aas.put_scheduled_action(
                **target(),
                ScheduledActionName="bad",
                Schedule=schedule,
                ScalableTargetAction={"MinCapacity": 1},
            )
        assert error(caught) == ("ValidationException", message)
    with pytest.raises(ClientError) as caught:
        aas.put_scheduled_action(
            **target(),
            ScheduledActionName="bad",
            Schedule="rate(1 hour)",
            Timezone="Mars/Base",
            ScalableTargetAction={"MinCapacity": 1},
        )
    assert error(caught) == ("ValidationException", "Mars/Base is not a valid time zone")
    with pytest.raises(ClientError) as caught:
        aas.put_scheduled_action(
            **target(), ScheduledActionName="bad", Schedule="rate(1 hour)", ScalableTargetAction={}
        )
    assert error(caught) == (
        "ValidationException",
        "At least one of minimum capacity and maximum capacity should be provided",
    )
    with pytest.raises(ClientError) as caught:
        aas.put_scheduled_action(
            **target(),
            ScheduledActionName="bad",
            Schedule="rate(1 hour)",
            ScalableTargetAction={"MinCapacity": 5, "MaxCapacity": 2},
        )
    assert error(caught) == ("ValidationException", "Maximum capacity cannot be less than minimum capacity")
    assert [
        a["ScheduledActionName"]
        for a in aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"]
    ] == ["mornings"]
    aas.delete_scheduled_action(**target(), ScheduledActionName="mornings")
    assert aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"] == []
    with pytest.raises(ClientError) as caught:
        aas.delete_scheduled_action(**target(), ScheduledActionName="mornings")
    assert error(caught) == (
        "ObjectNotFoundException",
        f"No scheduled action found for service namespace: ecs, resource ID: {SERVICE}, "
        f"scalable dimension: {DIMENSION}, scheduled action name: mornings",
    )


def test_deregistering_removes_scheduled_actions(aas: Any) -> None:
    aas.register_scalable_target(**target(MinCapacity=1, MaxCapacity=4))
    aas.put_scheduled_action(
        **target(),
        ScheduledActionName="nightly",
        Schedule="cron(0 2 * * ? *)",
        ScalableTargetAction={"MaxCapacity": 1},
    )
    aas.deregister_scalable_target(**target())
    assert aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"] == []
