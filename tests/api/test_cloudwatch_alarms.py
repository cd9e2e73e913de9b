"""CloudWatch alarms through boto3: create, update, describe (filters, pages), history, state,
actions on and off, tags, deletion, bad input; and, on a server with a fake clock, alarms that
evaluate published datapoints and record what their actions did."""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.clock import FakeClock
from dockyard.testing.server import ThreadedServer
from tests.conftest import make_client

ALARM: dict[str, Any] = {
    "AlarmName": "web-cpu-high",
    "Namespace": "Shop",
    "MetricName": "CPU",
    "Dimensions": [{"Name": "Service", "Value": "web"}],
    "Statistic": "Average",
    "Period": 60,
    "EvaluationPeriods": 3,
    "Threshold": 75.0,
    "ComparisonOperator": "GreaterThanThreshold",
    # Without data, evaluations keep the state: SetAlarmState's lasts (on AWS too, until data comes).
    "TreatMissingData": "ignore",
}
TOPIC = "arn:aws:sns:us-east-1:123456789012:ops"


@pytest.fixture
def cw(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "cloudwatch")


def error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return dict(info.value.response["Error"])


def test_new_alarm_starts_in_insufficient_data(cw: Any) -> None:
    cw.put_metric_alarm(
        **ALARM,
        AlarmDescription="CPU above 75%",
        AlarmActions=[TOPIC],
        Tags=[{"Key": "team", "Value": "web"}],
    )
    (alarm,) = cw.describe_alarms(AlarmNames=["web-cpu-high"])["MetricAlarms"]
    assert alarm["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-cpu-high"
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateReason"] == "Unchecked: Initial alarm creation"
    assert alarm["ActionsEnabled"] is True
    assert alarm["AlarmActions"] == [TOPIC] and alarm["OKActions"] == []
    assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["Period"]) == (75.0, 3, 60)
    assert alarm["Dimensions"] == [{"Name": "Service", "Value": "web"}]
    assert alarm["TreatMissingData"] == "ignore" and "dockyard" not in alarm
    assert "DatapointsToAlarm" not in alarm and "EvaluateLowSampleCountPercentile" not in alarm
    tags = cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "web"}]


def test_update_replaces_the_configuration_and_keeps_state_and_tags(cw: Any) -> None:
    cw.put_metric_alarm(**ALARM, Tags=[{"Key": "team", "Value": "web"}])
    cw.set_alarm_state(AlarmName="web-cpu-high", StateValue="OK", StateReason="checked by hand")
    cw.put_metric_alarm(
        **{**ALARM, "Threshold": 90.0, "DatapointsToAlarm": 2}, Tags=[{"Key": "x", "Value": "y"}]
    )
    (alarm,) = cw.describe_alarms(AlarmNames=["web-cpu-high"])["MetricAlarms"]
    assert (alarm["Threshold"], alarm["DatapointsToAlarm"]) == (90.0, 2)
    assert (alarm["StateValue"], alarm["StateReason"]) == ("OK", "checked by hand")
    assert cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"] == [
        {"Key": "team", "Value": "web"}
    ]
    history = cw.describe_alarm_history(AlarmName="web-cpu-high", HistoryItemType="ConfigurationUpdate")
    summaries = [h["HistorySummary"] for h in history["AlarmHistoryItems"]]
    assert summaries == ['Alarm "web-cpu-high" updated', 'Alarm "web-cpu-high" created']
    update = json.loads(history["AlarmHistoryItems"][0]["HistoryData"])
    assert update["type"] == "Update"
    assert (update["originalAlarm"]["threshold"], update["updatedAlarm"]["threshold"]) == (75.0, 90.0)


def test_describe_alarms_filters(cw: Any) -> None:
    cw.put_metric_alarm(**{**ALARM, "AlarmName": "web-cpu"}, AlarmActions=[TOPIC])
    cw.put_metric_alarm(**{**ALARM, "AlarmName": "web-mem"})
    cw.put_metric_alarm(**{**ALARM, "AlarmName": "db-cpu"})
    cw.set_alarm_state(AlarmName="db-cpu", StateValue="ALARM", StateReason="test")

    def names(**kwargs: Any) -> list[str]:
        return [a["AlarmName"] for a in cw.describe_alarms(**kwargs)["MetricAlarms"]]

    assert names() == ["db-cpu", "web-cpu", "web-mem"]
    assert names(AlarmNamePrefix="web-") == ["web-cpu", "web-mem"]
    assert names(AlarmNames=["web-mem", "nope"]) == ["web-mem"]
    assert names(StateValue="ALARM") == ["db-cpu"]
    assert names(ActionPrefix="arn:aws:sns:") == ["web-cpu"]
    assert names(AlarmTypes=["CompositeAlarm"]) == []
    assert cw.describe_alarms(AlarmTypes=["CompositeAlarm", "MetricAlarm"])["CompositeAlarms"] == []
    first = cw.describe_alarms(MaxRecords=2)
    assert [a["AlarmName"] for a in first["MetricAlarms"]] == ["db-cpu", "web-cpu"]
    rest = cw.describe_alarms(MaxRecords=2, NextToken=first["NextToken"])
    assert [a["AlarmName"] for a in rest["MetricAlarms"]] == ["web-mem"] and "NextToken" not in rest
    paged = [
        a["AlarmName"]
        for p in cw.get_paginator("describe_alarms").paginate(PaginationConfig={"PageSize": 1})
        for a in p["MetricAlarms"]
    ]
    assert paged == ["db-cpu", "web-cpu", "web-mem"]
    assert error(cw.describe_alarms, NextToken="garbage")["Code"] == "InvalidNextToken"
    both = error(cw.describe_alarms, AlarmNames=["a"], AlarmNamePrefix="a")
    assert both["Code"] == "InvalidParameterCombination"
    assert cw.describe_alarms(ParentsOfAlarmName="web-cpu")["MetricAlarms"] == []


def test_describe_alarms_for_metric(cw: Any) -> None:
    cw.put_metric_alarm(**ALARM)
    cw.put_metric_alarm(
        **{**ALARM, "AlarmName": "other-dims", "Dimensions": [{"Name": "Service", "Value": "db"}]}
    )
    percentile = {k: v for k, v in ALARM.items() if k not in ("Statistic", "AlarmName")}
    cw.put_metric_alarm(**percentile, AlarmName="p99", ExtendedStatistic="p99")

    def names(**kwargs: Any) -> list[str]:
        found = cw.describe_alarms_for_metric(Namespace="Shop", MetricName="CPU", **kwargs)["MetricAlarms"]
        return sorted(a["AlarmName"] for a in found)

    assert names() == ["other-dims", "p99", "web-cpu-high"]
    assert names(Dimensions=[{"Name": "Service", "Value": "web"}]) == ["p99", "web-cpu-high"]
    assert names(Statistic="Average") == ["other-dims", "web-cpu-high"]
    assert names(ExtendedStatistic="p99") == ["p99"]
    assert names(Period=300) == []


def test_set_alarm_state_history_and_errors(cw: Any) -> None:
    cw.put_metric_alarm(**ALARM, AlarmActions=[TOPIC])
    cw.set_alarm_state(
        AlarmName="web-cpu-high", StateValue="ALARM", StateReason="drill", StateReasonData='{"drill": true}'
    )
    (alarm,) = cw.describe_alarms()["MetricAlarms"]
    assert (alarm["StateValue"], alarm["StateReason"], alarm["StateReasonData"]) == (
        "ALARM",
        "drill",
        '{"drill": true}',
    )
    items = cw.describe_alarm_history(AlarmName="web-cpu-high")["AlarmHistoryItems"]
    kinds = [(i["HistoryItemType"], i["HistorySummary"]) for i in items]
    assert ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM") in kinds
    assert (
        "Action",
        f"Failed to execute action {TOPIC}. "
        'Received error: "Dockyard has no target for arn:aws:sns actions."',
    ) in kinds
    update = next(i for i in items if i["HistoryItemType"] == "StateUpdate")
    data = json.loads(update["HistoryData"])
    assert data["oldState"] == {
        "stateValue": "INSUFFICIENT_DATA",
        "stateReason": "Unchecked: Initial alarm creation",
    }
    assert data["newState"] == {
        "stateValue": "ALARM",
        "stateReason": "drill",
        "stateReasonData": {"drill": True},
    }
    oldest = cw.describe_alarm_history(AlarmName="web-cpu-high", ScanBy="TimestampAscending")[
        "AlarmHistoryItems"
    ]
    assert oldest[0]["HistoryItemType"] == "ConfigurationUpdate"
    paged = cw.describe_alarm_history(AlarmName="web-cpu-high", MaxRecords=1)
    assert len(paged["AlarmHistoryItems"]) == 1 and "NextToken" in paged
    after = cw.describe_alarm_history(AlarmName="web-cpu-high", MaxRecords=5, NextToken=paged["NextToken"])
    assert len(after["AlarmHistoryItems"]) == len(items) - 1

    missing = error(cw.set_alarm_state, AlarmName="nope", StateValue="OK", StateReason="x")
    assert (missing["Code"], missing["Message"]) == ("ResourceNotFound", "Alarm nope not found")
    bad_json = error(
        cw.set_alarm_state, AlarmName="web-cpu-high", StateValue="OK", StateReason="x", StateReasonData="{"
    )
    assert bad_json["Code"] == "InvalidFormat"
    bad_state = error(cw.set_alarm_state, AlarmName="web-cpu-high", StateValue="BROKEN", StateReason="x")
    assert bad_state["Code"] == "ValidationException"
    assert "Member must satisfy enum value set: [OK, ALARM, INSUFFICIENT_DATA]" in bad_state["Message"]


def test_enable_disable_actions_and_delete(cw: Any) -> None:
    cw.put_metric_alarm(**ALARM)
    cw.disable_alarm_actions(AlarmNames=["web-cpu-high", "unknown"])
    assert cw.describe_alarms()["MetricAlarms"][0]["ActionsEnabled"] is False
    cw.enable_alarm_actions(AlarmNames=["web-cpu-high"])
    assert cw.describe_alarms()["MetricAlarms"][0]["ActionsEnabled"] is True
    cw.delete_alarms(AlarmNames=["web-cpu-high", "never-existed"])
    assert cw.describe_alarms()["MetricAlarms"] == []
    history = cw.describe_alarm_history(AlarmName="web-cpu-high", HistoryItemType="ConfigurationUpdate")
    assert history["AlarmHistoryItems"][0]["HistorySummary"] == 'Alarm "web-cpu-high" deleted'


def test_tags(cw: Any) -> None:
    cw.put_metric_alarm(**ALARM)
    arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-cpu-high"
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "a", "Value": "3"}])
    cw.untag_resource(ResourceARN=arn, TagKeys=["b"])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "a", "Value": "3"}]
    missing = error(cw.list_tags_for_resource, ResourceARN=arn + "-gone")
    assert missing["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"Period": 45}, "ValidationException", "Period must be 10, 30 or a multiple of 60"),
        (
            {"EvaluationPeriods": 1441},
            "ValidationException",
            "Metrics cannot be checked across more than a day (EvaluationPeriods * Period must be <= 86400)",
        ),
        (
            {"DatapointsToAlarm": 4},
            "ValidationException",
            "DatapointsToAlarm must be less than or equal to EvaluationPeriods.",
        ),
        (
            {"TreatMissingData": "sometimes"},
            "ValidationException",
            "The value sometimes is not supported for TreatMissingData parameter. Supported values are "
            "[breaching, notBreaching, ignore, missing].",
        ),
        (
            {"EvaluateLowSampleCountPercentile": "maybe"},
            "ValidationException",
            "Option maybe is not supported. Supported options for parameter EvaluateLowSampleCountPercentile "
            "are evaluate and ignore.",
        ),
        (
            {"ExtendedStatistic": "p99"},
            "InvalidParameterCombination",
            "The parameters Statistic and ExtendedStatistic are mutually exclusive and you have "
            "specified both.",
        ),
        ({"Statistic": "Median"}, "ValidationException", None),
        ({"AlarmActions": ["not-an-arn"]}, "ValidationException", "Invalid arn syntax: not-an-arn"),
        (
            {"AlarmActions": ["arn:aws:sns:eu-west-1:123456789012:t"]},
            "ValidationException",
            "Invalid region eu-west-1 specified. Only us-east-1 is supported.",
        ),
        (
            {"ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"},
            "ValidationException",
            "Dockyard does not evaluate anomaly detection bands: ComparisonOperator "
            "LessThanLowerOrGreaterThanUpperThreshold is not supported.",
        ),
        (
            {"Metrics": [{"Id": "m1", "Expression": "1"}]},
            "InvalidParameterCombination",
            "The parameters Metrics and MetricName are mutually exclusive and you have specified both.",
        ),
    ],
)
def test_bad_alarms_are_refused_and_store_nothing(
    cw: Any, change: dict[str, Any], code: str, message: str | None
) -> None:
    failure = error(cw.put_metric_alarm, **{**ALARM, **change})
    assert failure["Code"] == code
    if message is not None:
        assert failure["Message"] == message
    assert cw.describe_alarms()["MetricAlarms"] == []


def test_metric_math_alarm_needs_exactly_one_returned_query(cw: Any) -> None:
    stat = {"Metric": {"Namespace": "Shop", "MetricName": "CPU"}, "Period": 60, "Stat": "Maximum"}
    base = {
        k: v
        for k, v in ALARM.items()
        if k not in ("Namespace", "MetricName", "Dimensions", "Statistic", "Period")
    }
    two = [{"Id": "m1", "MetricStat": stat}, {"Id": "e1", "Expression": "m1 * 2"}]
    failure = error(cw.put_metric_alarm, **base, Metrics=two)
    assert failure["Message"] == "Exactly one element of the metrics list should return data."
    cw.put_metric_alarm(
        **base,
        Metrics=[{"Id": "m1", "MetricStat": stat, "ReturnData": False}, {"Id": "e1", "Expression": "m1 * 2"}],
    )
    (alarm,) = cw.describe_alarms()["MetricAlarms"]
    assert [q["Id"] for q in alarm["Metrics"]] == ["m1", "e1"] and "MetricName" not in alarm


# -- evaluation on a server whose clock the test moves -----------------------------------------


@pytest.fixture(scope="module")
def timed() -> Iterator[ThreadedServer]:
    with ThreadedServer(clock=FakeClock(start=1_800_000_000.0)) as running:
        yield running


def _wait_state(cw: Any, name: str, state: str) -> dict[str, Any]:
    alarm: dict[str, Any] = {}
    for _ in range(200):  # the evaluator runs on the server's loop: give it a moment
        (alarm,) = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        if alarm["StateValue"] == state:
            return alarm
        time.sleep(0.02)
    return alarm


def test_published_datapoints_drive_an_alarm(timed: ThreadedServer) -> None:
    cw = make_client(timed.endpoint, "cloudwatch")
    clock = timed.server.clock
    cw.put_metric_alarm(**{**ALARM, "AlarmName": "evaluated"}, AlarmActions=[TOPIC])
    for value in (80.0, 90.0, 95.0):
        now = datetime.datetime.fromtimestamp(clock.now(), datetime.UTC)
        cw.put_metric_data(
            Namespace="Shop",
            MetricData=[
                {"MetricName": "CPU", "Dimensions": ALARM["Dimensions"], "Value": value, "Timestamp": now}
            ],
        )
        timed.advance(60)
    alarm = _wait_state(cw, "evaluated", "ALARM")
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"].startswith(
        "Threshold Crossed: 3 out of the last 3 datapoints [95.0 (15/01/27 08:02:00)"
    )
    assert alarm["StateReason"].endswith(
        "were greater than the threshold (75.0) (minimum 3 datapoints for OK -> ALARM transition)."
    )
    data = json.loads(alarm["StateReasonData"])
    assert data["recentDatapoints"] == [80.0, 90.0, 95.0] and data["statistic"] == "Average"
    history = cw.describe_alarm_history(AlarmName="evaluated", HistoryItemType="Action")["AlarmHistoryItems"]
    assert history[0]["HistorySummary"].startswith(f"Failed to execute action {TOPIC}")


def test_aws_metrics_published_in_process_drive_an_alarm(timed: ThreadedServer) -> None:
    cw = make_client(timed.endpoint, "cloudwatch")
    server = timed.server
    cw.put_metric_alarm(
        AlarmName="ecs-cpu",
        Namespace="AWS/ECS",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "ClusterName", "Value": "default"}, {"Name": "ServiceName", "Value": "web"}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=50.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    dimensions = {"ClusterName": "default", "ServiceName": "web"}
    timed.run(
        server.metrics.put(
            "123456789012", "us-east-1", "AWS/ECS", "CPUUtilization", dimensions, value=64.0, unit="Percent"
        )
    )
    timed.advance(60)
    assert _wait_state(cw, "ecs-cpu", "ALARM")["StateValue"] == "ALARM"
    listed = cw.list_metrics(Namespace="AWS/ECS")["Metrics"]
    assert listed == [
        {
            "Namespace": "AWS/ECS",
            "MetricName": "CPUUtilization",
            "Dimensions": [
                {"Name": "ClusterName", "Value": "default"},
                {"Name": "ServiceName", "Value": "web"},
            ],
        }
    ]
