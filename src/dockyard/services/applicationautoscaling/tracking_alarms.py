"""The CloudWatch alarms behind scaling policies, made and read through CloudWatch's operations.

A target tracking policy owns two alarms, created with PutMetricAlarm (in process) as AWS does:

| alarm                                         | period | datapoints | threshold    | operator             |
|-----------------------------------------------|--------|------------|--------------|----------------------|
| `TargetTracking-<resource id>-AlarmHigh-<id>` | 60     | 3 of 3     | TargetValue  | GreaterThanThreshold |
| `TargetTracking-<resource id>-AlarmLow-<id>`  | 60     | 15 of 15   | 0.9 × target | LessThanThreshold    |

AlarmLow is not made when scale-in is disabled. Both name the policy ARN as their alarm action
and are deleted with the policy. A step scaling policy's alarms are the user's: the alarms whose
actions name the policy (DescribeAlarms with ActionPrefix).
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.aws.local_client import LocalClient
from dockyard.core.errors import AwsError
from dockyard.services.applicationautoscaling.deps import AppScaling
from dockyard.services.applicationautoscaling.errors import FailedResourceAccessException
from dockyard.services.applicationautoscaling.resources import TargetRef, service_of

__all__ = [
    "alarm_arn",
    "alarm_requests",
    "alarm_states",
    "delete_alarms",
    "metric_of",
    "policy_alarms",
    "put_alarms",
]

HIGH_DATAPOINTS = 3
LOW_DATAPOINTS = 15
LOW_FACTOR = 0.9
PERIOD = 60

_PREDEFINED = {
    "ECSServiceAverageCPUUtilization": ("AWS/ECS", "CPUUtilization", "Average"),
    "ECSServiceAverageMemoryUtilization": ("AWS/ECS", "MemoryUtilization", "Average"),
    "ALBRequestCountPerTarget": ("AWS/ApplicationELB", "RequestCountPerTarget", "Sum"),
}


def alarm_arn(ctx: RequestContext, name: str) -> str:
    return f"arn:aws:cloudwatch:{ctx.region}:{ctx.account_id}:alarm:{name}"


def metric_of(ref: TargetRef, config: dict[str, Any]) -> dict[str, Any]:
    """The PutMetricAlarm members naming the metric a target tracking configuration tracks."""
    predefined = config.get("PredefinedMetricSpecification")
    if predefined is not None:
        kind = predefined["PredefinedMetricType"]
        namespace, name, statistic = _PREDEFINED[kind]
        if kind == "ALBRequestCountPerTarget":
            target_group = predefined["ResourceLabel"].split("/", 3)[3]  # targetgroup/<name>/<id>
            dimensions = [{"Name": "TargetGroup", "Value": target_group}]
        else:
            cluster, service = service_of(ref)
            dimensions = [
                {"Name": "ClusterName", "Value": cluster},
                {"Name": "ServiceName", "Value": service},
            ]
        return {
            "Namespace": namespace,
            "MetricName": name,
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": PERIOD,
        }
    custom = config["CustomizedMetricSpecification"]
    if custom.get("Metrics"):
        return {"Metrics": [_query(q) for q in custom["Metrics"]]}
    metric: dict[str, Any] = {
        "Namespace": custom["Namespace"],
        "MetricName": custom["MetricName"],
        "Dimensions": list(custom.get("Dimensions") or []),
        "Statistic": custom["Statistic"],
        "Period": PERIOD,
    }
    if custom.get("Unit"):
        metric["Unit"] = custom["Unit"]
    return metric


def _query(query: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {"Id": query["Id"], "ReturnData": query.get("ReturnData", True)}
    if query.get("Label"):
        converted["Label"] = query["Label"]
    if query.get("Expression"):
        converted["Expression"] = query["Expression"]
    else:
        stat = query["MetricStat"]
        metric = stat["Metric"]
        converted["MetricStat"] = {
            "Metric": {
                "Namespace": metric["Namespace"],
                "MetricName": metric["MetricName"],
                "Dimensions": list(metric.get("Dimensions") or []),
            },
            "Period": PERIOD,
            "Stat": stat["Stat"],
        }
        if stat.get("Unit"):
            converted["MetricStat"]["Unit"] = stat["Unit"]
    return converted


def alarm_requests(
    policy_arn: str, ref: TargetRef, config: dict[str, Any], *, high: str, low: str | None
) -> list[dict[str, Any]]:
    """PutMetricAlarm requests for a target tracking policy's alarms (AlarmLow when `low`)."""
    metric = metric_of(ref, config)
    target = float(config["TargetValue"])
    common = {
        "AlarmDescription": f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy_arn}.",
        "ActionsEnabled": True,
        "AlarmActions": [policy_arn],
        **metric,
    }
    requests = [
        {
            **common,
            "AlarmName": high,
            "EvaluationPeriods": HIGH_DATAPOINTS,
            "DatapointsToAlarm": HIGH_DATAPOINTS,
            "Threshold": target,
            "ComparisonOperator": "GreaterThanThreshold",
        }
    ]
    if low is not None:
        requests.append(
            {
                **common,
                "AlarmName": low,
                "EvaluationPeriods": LOW_DATAPOINTS,
                "DatapointsToAlarm": LOW_DATAPOINTS,
                "Threshold": round(target * LOW_FACTOR, 10),
                "ComparisonOperator": "LessThanThreshold",
            }
        )
    return requests


def _cloudwatch(app: AppScaling) -> LocalClient:
    if app.peers.cloudwatch is None:
        raise FailedResourceAccessException("CloudWatch is not available to manage the policy's alarms.")
    return app.peers.cloudwatch


async def put_alarms(app: AppScaling, ctx: RequestContext, requests: list[dict[str, Any]]) -> None:
    client = _cloudwatch(app)
    for request in requests:
        try:
            await client.call("PutMetricAlarm", request, account_id=ctx.account_id, region=ctx.region)
        except AwsError as exc:
            raise FailedResourceAccessException(
                f"Failed to create the alarm {request['AlarmName']}: {exc.message}"
            ) from exc


async def delete_alarms(
    app: AppScaling, ctx: RequestContext, policy: dict[str, Any], keep: frozenset[str] = frozenset()
) -> None:
    """Delete the alarms a target tracking policy made (except `keep`)."""
    names = [n for n in policy.get("dockyard", {}).get("alarms", []) if n not in keep]
    if not names or app.peers.cloudwatch is None:
        return
    await app.peers.cloudwatch.call(
        "DeleteAlarms", {"AlarmNames": names}, account_id=ctx.account_id, region=ctx.region
    )


async def policy_alarms(app: AppScaling, ctx: RequestContext, policy: dict[str, Any]) -> list[dict[str, str]]:
    """The policy's `Alarms`: its own (target tracking) or those whose actions name it (step)."""
    own = policy.get("dockyard", {}).get("alarms")
    if policy["PolicyType"] == "TargetTrackingScaling":
        return [{"AlarmName": n, "AlarmARN": alarm_arn(ctx, n)} for n in own or []]
    if app.peers.cloudwatch is None:
        return []
    arn = policy["PolicyARN"]
    found: list[dict[str, str]] = []
    request: dict[str, Any] = {"ActionPrefix": arn, "MaxRecords": 100}
    for _ in range(100):
        response = await app.peers.cloudwatch.call(
            "DescribeAlarms", request, account_id=ctx.account_id, region=ctx.region
        )
        for alarm in response.get("MetricAlarms", []):
            if arn in alarm.get("AlarmActions", []):
                found.append({"AlarmName": alarm["AlarmName"], "AlarmARN": alarm["AlarmArn"]})
        if not response.get("NextToken"):
            break
        request["NextToken"] = response["NextToken"]
    return found


async def alarm_states(
    app: AppScaling, account_id: str, region: str, names: list[str]
) -> dict[str, dict[str, Any]]:
    """DescribeAlarms for `names`: name -> the alarm."""
    if not names or app.peers.cloudwatch is None:
        return {}
    response = await app.peers.cloudwatch.call(
        "DescribeAlarms", {"AlarmNames": names}, account_id=account_id, region=region
    )
    return {a["AlarmName"]: a for a in response.get("MetricAlarms", [])}
