"""The real AWS CLI against CloudWatch: put-metric-data, get-metric-statistics, put-metric-alarm,
describe-alarms, and an error as the CLI prints it."""

from __future__ import annotations

import datetime

from dockyard.testing.server import ThreadedServer
from tests.conftest import aws_cli

aws = aws_cli


def test_metrics_and_alarms_with_the_aws_cli(server: ThreadedServer) -> None:
    now = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
    stamp = (now - datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for value in ("40", "60"):
        put = "put-metric-data --namespace CliApp --metric-name Load --dimensions Host=a "
        put += f" --unit Percent --value {value}"
        code, _, err = aws(server.endpoint, "cloudwatch", *put.split(), "--timestamp", stamp)
        assert code == 0, err
    window = [
        "--start-time",
        (now - datetime.timedelta(minutes=5)).isoformat(),
        "--end-time",
        now.isoformat(),
    ]
    get = "get-metric-statistics --namespace CliApp --metric-name Load --dimensions Name=Host,Value=a"
    get += " --period 60"
    statistics = ["--statistics", "Average", "Maximum", "SampleCount"]
    code, stats, err = aws(server.endpoint, "cloudwatch", *get.split(), *window, *statistics)
    assert code == 0, err
    (point,) = stats["Datapoints"]
    assert (point["Average"], point["Maximum"], point["SampleCount"], point["Unit"]) == (
        50.0,
        60.0,
        2.0,
        "Percent",
    )
    assert stats["Label"] == "Load"

    alarm_args = (
        "put-metric-alarm --alarm-name cli-load --namespace CliApp --metric-name Load "
        "--dimensions Name=Host,Value=a --statistic Average --period 60 --evaluation-periods 2 "
        "--datapoints-to-alarm 2 --threshold 80 "
        "--comparison-operator GreaterThanOrEqualToThreshold --treat-missing-data notBreaching"
    )
    code, _, err = aws(server.endpoint, "cloudwatch", *alarm_args.split())
    assert code == 0, err
    code, described, err = aws(server.endpoint, "cloudwatch", "describe-alarms", "--alarm-names", "cli-load")
    assert code == 0, err
    (alarm,) = described["MetricAlarms"]
    assert alarm["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:cli-load"
    assert (alarm["Threshold"], alarm["DatapointsToAlarm"], alarm["TreatMissingData"]) == (
        80.0,
        2,
        "notBreaching",
    )
    assert alarm["StateValue"] in ("INSUFFICIENT_DATA", "OK")  # evaluated as soon as it exists
    assert described["CompositeAlarms"] == []

    code, _, err = aws(
        server.endpoint,
        "cloudwatch",
        "put-metric-data",
        "--namespace",
        "AWS/EC2",
        "--metric-name",
        "X",
        "--value",
        "1",
    )
    assert code != 0
    assert (
        "An error occurred (InvalidParameterValue) when calling the PutMetricData operation: "
        "The value AWS/EC2 for parameter Namespace is invalid." in err
    )
