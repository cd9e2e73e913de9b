"""Scaling policies through boto3: the alarms target tracking makes, step policies, bad input, and
policies acting on their alarms (driven here with CloudWatch's SetAlarmState)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.api.service_helpers import eventually
from tests.api.task_helpers import fargate_td, network
from tests.conftest import make_client

SERVICE = "service/default/web"
DIMENSION = "ecs:service:DesiredCount"
CPU = {"PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}


@pytest.fixture
def aas(server: ThreadedServer, ecs: Any) -> Any:
    ecs.create_cluster()
    fargate_td(ecs)
    ecs.create_service(
        serviceName="web",
        taskDefinition="web",
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration=network(),
    )
    return make_client(server.endpoint, "application-autoscaling")


@pytest.fixture
def cloudwatch(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "cloudwatch")


def target(**extra: Any) -> dict[str, Any]:
    return {"ServiceNamespace": "ecs", "ResourceId": SERVICE, "ScalableDimension": DIMENSION, **extra}


def register(aas: Any, low: int = 1, high: int = 8, **extra: Any) -> None:
    aas.register_scalable_target(**target(MinCapacity=low, MaxCapacity=high, **extra))


def tracking(aas: Any, name: str = "cpu50", **config: Any) -> dict[str, Any]:
    response: dict[str, Any] = aas.put_scaling_policy(
        **target(),
        PolicyName=name,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={"TargetValue": 50.0, **CPU, **config},
    )
    return response


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def desired(ecs: Any) -> int:
    return int(ecs.describe_services(services=["web"])["services"][0]["desiredCount"])


def alarms(cloudwatch: Any) -> dict[str, dict[str, Any]]:
    return {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}


def fire(cloudwatch: Any, name: str, *values: float) -> None:
    """Put an alarm in ALARM as an evaluation with these datapoints would."""
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="test")
    data = json.dumps({"version": "1.0", "recentDatapoints": list(values)}) if values else None
    extra = {"StateReasonData": data} if data else {}
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test", **extra)


def activities(aas: Any, **extra: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = aas.describe_scaling_activities(
        ServiceNamespace="ecs", ResourceId=SERVICE, **extra
    )["ScalingActivities"]
    return found


def test_target_tracking_makes_the_alarms_aws_makes(aas: Any, cloudwatch: Any) -> None:
    register(aas)
    response = tracking(aas)
    arn = response["PolicyARN"]
    assert arn.startswith("arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:")
    assert arn.endswith(f":resource/ecs/{SERVICE}:policyName/cpu50")
    high_name, low_name = (a["AlarmName"] for a in response["Alarms"])
    assert high_name.startswith(f"TargetTracking-{SERVICE}-AlarmHigh-")
    assert low_name.startswith(f"TargetTracking-{SERVICE}-AlarmLow-")
    assert response["Alarms"][0]["AlarmARN"] == f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{high_name}"
    found = alarms(cloudwatch)
    high, low = found[high_name], found[low_name]
    for alarm in (high, low):
        assert alarm["Namespace"] == "AWS/ECS" and alarm["MetricName"] == "CPUUtilization"
        assert alarm["Statistic"] == "Average" and alarm["Period"] == 60
        assert alarm["Dimensions"] == [
            {"Name": "ClusterName", "Value": "default"},
            {"Name": "ServiceName", "Value": "web"},
        ]
        assert alarm["AlarmActions"] == [arn]
        assert alarm["AlarmDescription"] == f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {arn}."
        assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert (high["EvaluationPeriods"], high["DatapointsToAlarm"], high["Threshold"]) == (3, 3, 50.0)
    assert high["ComparisonOperator"] == "GreaterThanThreshold"
    assert (low["EvaluationPeriods"], low["DatapointsToAlarm"], low["Threshold"]) == (15, 15, 45.0)
    assert low["ComparisonOperator"] == "LessThanThreshold"
    [policy] = aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert policy["PolicyARN"] == arn and policy["PolicyType"] == "TargetTrackingScaling"
    assert [a["AlarmName"] for a in policy["Alarms"]] == [high_name, low_name]
    # DisableScaleIn: AlarmLow goes, AlarmHigh and the ARN stay
    again = tracking(aas, DisableScaleIn=True)
    assert again["PolicyARN"] == arn and [a["AlarmName"] for a in again["Alarms"]] == [high_name]
    assert set(alarms(cloudwatch)) == {high_name}
    aas.delete_scaling_policy(**target(), PolicyName="cpu50")
    assert alarms(cloudwatch) == {}
    assert aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"] == []
    with pytest.raises(ClientError) as caught:
        aas.delete_scaling_policy(**target(), PolicyName="cpu50")
    assert error(caught) == (
        "ObjectNotFoundException",
        f"No scaling policy found for service namespace: ecs, resource ID: {SERVICE}, "
        f"scalable dimension: {DIMENSION}, policy name: cpu50",
    )


def test_other_metrics(aas: Any, cloudwatch: Any) -> None:
    register(aas)
    label = "app/web-lb/50dc6c495c0c9188/targetgroup/web-tg/943f017f100becff"
    alb = tracking(
        aas,
        "requests",
        PredefinedMetricSpecification={
            "PredefinedMetricType": "ALBRequestCountPerTarget",
            "ResourceLabel": label,
        },
        DisableScaleIn=True,
    )
    [high] = [alarms(cloudwatch)[a["AlarmName"]] for a in alb["Alarms"]]
    assert (high["Namespace"], high["MetricName"], high["Statistic"]) == (
        "AWS/ApplicationELB",
        "RequestCountPerTarget",
        "Sum",
    )
    assert high["Dimensions"] == [{"Name": "TargetGroup", "Value": "targetgroup/web-tg/943f017f100becff"}]
    math = {
        "CustomizedMetricSpecification": {
            "Metrics": [
                {
                    "Id": "backlog",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "App",
                            "MetricName": "Backlog",
                            "Dimensions": [{"Name": "Q", "Value": "jobs"}],
                        },
                        "Stat": "Sum",
                    },
                    "ReturnData": False,
                },
                {"Id": "perTask", "Expression": "backlog / 2", "Label": "per task", "ReturnData": True},
            ]
        }
    }
    custom = aas.put_scaling_policy(
        **target(),
        PolicyName="backlog",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={"TargetValue": 100.0, **math},
    )
    high = alarms(cloudwatch)[custom["Alarms"][0]["AlarmName"]]
    assert "MetricName" not in high
    metrics = {m["Id"]: m for m in high["Metrics"]}
    assert metrics["perTask"]["Expression"] == "backlog / 2" and metrics["perTask"]["ReturnData"] is True
    assert metrics["backlog"]["MetricStat"]["Period"] == 60
    assert metrics["backlog"]["MetricStat"]["Metric"]["MetricName"] == "Backlog"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {
                "TargetValue": 50.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "DynamoDBReadCapacityUtilization"},
            },
            "The predefined metric type DynamoDBReadCapacityUtilization is not supported for the scalable "
            "dimension ecs:service:DesiredCount",
        ),
        (
            {
                "TargetValue": 50.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget"},
            },
            "Resource label should be specified for predefined metric type ALBRequestCountPerTarget",
        ),
        (
            {
                "TargetValue": 50.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ALBRequestCountPerTarget",
                    "ResourceLabel": "web-tg",
                },
            },
            "Resource label web-tg is not valid: it must have the form "
            "app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>",
        ),
        (
            {"TargetValue": 50.0},
            "Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification "
            "must be specified",
        ),
        ({"TargetValue": 0.0, **CPU}, "TargetValue 0.0 is not valid: it must be greater than 0"),
        (
            {"TargetValue": 5.0, "CustomizedMetricSpecification": {"MetricName": "Load", "Namespace": "App"}},
            "CustomizedMetricSpecification is missing Statistic",
        ),
        (
            {
                "TargetValue": 5.0,
                "CustomizedMetricSpecification": {
                    "Metrics": [{"Id": "a", "Expression": "1"}, {"Id": "b", "Expression": "2"}]
                },
            },
            "Exactly one metric data query in Metrics must have ReturnData set to true",
        ),
    ],
)
def test_bad_target_tracking_configurations(
    aas: Any, cloudwatch: Any, config: dict[str, Any], message: str
) -> None:
    register(aas)
    with pytest.raises(ClientError) as caught:
        aas.put_scaling_policy(
            **target(),
            PolicyName="bad",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration=config,
        )
    assert error(caught) == ("ValidationException", message)
    assert aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"] == []
    assert alarms(cloudwatch) == {}


def test_policies_need_a_registered_target(aas: Any, cloudwatch: Any) -> None:
    with pytest.raises(ClientError) as caught:
        tracking(aas)
    assert error(caught) == (
        "ObjectNotFoundException",
        f"No scalable target registered for service namespace: ecs, resource ID: {SERVICE}, "
        f"scalable dimension: {DIMENSION}",
    )
    assert alarms(cloudwatch) == {}


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            [
                {"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1},
                {"MetricIntervalLowerBound": 10.0, "ScalingAdjustment": 2},
            ],
            "Only one step adjustment can have an unspecified upper bound",
        ),
        (
            [
                {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 15.0, "ScalingAdjustment": 1},
                {"MetricIntervalLowerBound": 10.0, "ScalingAdjustment": 2},
            ],
            "Step adjustment intervals cannot overlap",
        ),
        (
            [
                {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 5.0, "ScalingAdjustment": 1},
                {"MetricIntervalLowerBound": 10.0, "ScalingAdjustment": 2},
            ],
            "Step adjustment intervals cannot have gaps between them",
        ),
        ([], "StepAdjustments must contain at least one step adjustment"),
    ],
)
def test_bad_step_adjustments(aas: Any, steps: list[dict[str, Any]], message: str) -> None:
    register(aas)
    with pytest.raises(ClientError) as caught:
        aas.put_scaling_policy(
            **target(),
            PolicyName="bad",
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity", "StepAdjustments": steps},
        )
    assert error(caught) == ("ValidationException", message)


def test_predictive_scaling_is_refused(aas: Any) -> None:
    register(aas)
    with pytest.raises(ClientError) as caught:
        aas.put_scaling_policy(
            **target(),
            PolicyName="p",
            PolicyType="PredictiveScaling",
            PredictiveScalingPolicyConfiguration={
                "MetricSpecifications": [
                    {
                        "TargetValue": 50.0,
                        "PredefinedMetricPairSpecification": {
                            "PredefinedMetricType": "ECSServiceCPUUtilization"
                        },
                    }
                ]
            },
        )
    assert error(caught)[0] == "ValidationException"


def step_policy(aas: Any, **config: Any) -> str:
    arn: str = aas.put_scaling_policy(
        **target(),
        PolicyName="step-out",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [
                {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 20.0, "ScalingAdjustment": 1},
                {"MetricIntervalLowerBound": 20.0, "ScalingAdjustment": 3},
            ],
            **config,
        },
    )["PolicyARN"]
    return arn


def user_alarm(cloudwatch: Any, arn: str, name: str = "web-cpu-high") -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/ECS",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "ClusterName", "Value": "default"}, {"Name": "ServiceName", "Value": "web"}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=70.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[arn],
    )


def test_step_policy_acts_on_its_alarm_with_the_breach_size(aas: Any, ecs: Any, cloudwatch: Any) -> None:
    register(aas)
    arn = step_policy(aas)
    user_alarm(cloudwatch, arn)
    [policy] = aas.describe_scaling_policies(ServiceNamespace="ecs", PolicyNames=["step-out"])[
        "ScalingPolicies"
    ]
    assert policy["Alarms"] == [
        {
            "AlarmName": "web-cpu-high",
            "AlarmARN": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-cpu-high",
        }
    ]
    fire(cloudwatch, "web-cpu-high", 95.0)  # 25 above the threshold: the +3 step
    assert desired(ecs) == 5
    [activity] = activities(aas)
    assert activity["Description"] == "Setting desired count to 5."
    assert activity["Cause"] == "monitor alarm web-cpu-high in state ALARM triggered policy step-out"
    assert activity["StatusCode"] == "Successful"
    assert (
        activity["StatusMessage"]
        == "Successfully set desired count to 5. Change successfully fulfilled by ecs."
    )
    # within the cooldown the same breach adds nothing more (the 3 tasks already count)
    fire(cloudwatch, "web-cpu-high", 96.0)
    assert desired(ecs) == 5 and len(activities(aas)) == 1
    history = cloudwatch.describe_alarm_history(AlarmName="web-cpu-high", HistoryItemType="Action")
    assert any("Successfully executed action" in h["HistorySummary"] for h in history["AlarmHistoryItems"])
    # deleting the policy keeps the user's alarm but takes the policy's action off it
    aas.delete_scaling_policy(**target(), PolicyName="step-out")
    assert alarms(cloudwatch)["web-cpu-high"]["AlarmActions"] == []


def test_percent_step_with_minimum_magnitude_set_by_hand(aas: Any, ecs: Any, cloudwatch: Any) -> None:
    register(aas, low=1, high=20)
    arn: str = aas.put_scaling_policy(
        **target(),
        PolicyName="grow",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "PercentChangeInCapacity",
            "MinAdjustmentMagnitude": 2,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 25}],
        },
    )["PolicyARN"]
    user_alarm(cloudwatch, arn)
    fire(cloudwatch, "web-cpu-high")  # no datapoints: the step nearest the threshold
    assert desired(ecs) == 4  # 25% of 2 is 0.5 -> 1, raised to the minimum magnitude 2


def test_target_tracking_scales_out_and_in_on_its_alarms(aas: Any, ecs: Any, cloudwatch: Any) -> None:
    register(aas, low=1, high=8)
    response = tracking(aas, ScaleInCooldown=0, ScaleOutCooldown=0)
    high, low = (a["AlarmName"] for a in response["Alarms"])
    fire(cloudwatch, high, 80.0, 85.0, 90.0)
    assert desired(ecs) == 4  # ceil(2 × 90 / 50)
    [out] = activities(aas)
    assert out["Cause"] == f"monitor alarm {high} in state ALARM triggered policy cpu50"
    assert out["Description"] == "Setting desired count to 4."
    fire(cloudwatch, low, *([20.0] * 15))
    assert desired(ecs) == 2  # ceil(4 × 20 / 50)
    fire(cloudwatch, low, *([1.0] * 15))
    assert desired(ecs) == 1  # the minimum
    fire(cloudwatch, low, *([1.0] * 15))
    assert desired(ecs) == 1
    assert len(activities(aas)) == 3
    first = aas.describe_scaling_activities(ServiceNamespace="ecs", MaxResults=2)
    rest = aas.describe_scaling_activities(ServiceNamespace="ecs", MaxResults=2, NextToken=first["NextToken"])
    assert "NextToken" not in rest
    paged = first["ScalingActivities"] + rest["ScalingActivities"]
    assert [a["ActivityId"] for a in paged] == [a["ActivityId"] for a in activities(aas)]
    assert [a["Description"] for a in paged] == [
        "Setting desired count to 1.",
        "Setting desired count to 2.",
        "Setting desired count to 4.",
    ]
    [not_scaled] = [a for a in activities(aas, IncludeNotScaledActivities=True) if "NotScaledReasons" in a]
    assert not_scaled["NotScaledReasons"] == [{"Code": "AlreadyAtMinCapacity", "MinCapacity": 1}]
    assert not_scaled["StatusCode"] == "Failed"
    assert not_scaled["Cause"] == f"monitor alarm {low} in state ALARM triggered policy cpu50"


def test_cooldowns_and_max_capacity(aas: Any, ecs: Any, cloudwatch: Any) -> None:
    register(aas, low=1, high=5)
    high, low = (a["AlarmName"] for a in tracking(aas)["Alarms"])  # cooldowns: 300 s
    fire(cloudwatch, high, 75.0)
    assert desired(ecs) == 3  # ceil(2 × 75 / 50)
    fire(cloudwatch, low, 10.0)
    assert desired(ecs) == 3  # scale-in waits for the scale-out cooldown
    fire(cloudwatch, high, 200.0)
    assert desired(ecs) == 5  # a larger scale-out goes ahead: ceil(2 × 200 / 50) = 8, held to the max
    fire(cloudwatch, high, 250.0)
    reasons = [
        a["NotScaledReasons"]
        for a in activities(aas, IncludeNotScaledActivities=True)
        if "NotScaledReasons" in a
    ]
    assert reasons == [[{"Code": "AlreadyAtMaxCapacity", "MaxCapacity": 5}]]


def test_scale_in_needs_every_target_tracking_policy(aas: Any, ecs: Any, cloudwatch: Any) -> None:
    register(aas, low=1, high=8)
    _, cpu_low = (a["AlarmName"] for a in tracking(aas, ScaleInCooldown=0)["Alarms"])
    memory = {"PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageMemoryUtilization"}}
    _, memory_low = (
        a["AlarmName"]
        for a in tracking(aas, "memory60", TargetValue=60.0, ScaleInCooldown=0, **memory)["Alarms"]
    )
    fire(cloudwatch, cpu_low, 10.0)
    assert desired(ecs) == 2  # memory does not agree yet
    fire(cloudwatch, memory_low, 45.0)
    assert desired(ecs) == 2  # ceil(2 × 45 / 60) = 2: the largest wins
    fire(cloudwatch, memory_low, 20.0)
    assert desired(ecs) == 1


def test_suspended_dynamic_scaling(aas: Any, ecs: Any, cloudwatch: Any) -> None:
    register(aas, SuspendedState={"DynamicScalingOutSuspended": True})
    high, _ = (a["AlarmName"] for a in tracking(aas)["Alarms"])
    fire(cloudwatch, high, 90.0)
    assert desired(ecs) == 2 and activities(aas) == []
    aas.register_scalable_target(**target(SuspendedState={"DynamicScalingOutSuspended": False}))
    fire(cloudwatch, high, 90.0)
    eventually(lambda: desired(ecs) == 4)


def test_deregistering_deletes_policies_and_their_alarms(aas: Any, cloudwatch: Any) -> None:
    register(aas)
    tracking(aas)
    aas.deregister_scalable_target(**target())
    assert aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"] == []
    assert alarms(cloudwatch) == {}
