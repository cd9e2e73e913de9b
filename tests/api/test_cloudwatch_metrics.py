"""CloudWatch metrics through boto3: PutMetricData, GetMetricStatistics, GetMetricData,
ListMetrics, and the errors CloudWatch answers for bad input (which store nothing)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.conftest import make_client, reset

DIMS = [{"Name": "Service", "Value": "web"}]


@pytest.fixture
def cw(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "cloudwatch")


def minute(offset: int = 0) -> datetime.datetime:
    """A whole minute, `offset` minutes from the current one."""
    now = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
    return now + datetime.timedelta(minutes=offset)


def error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return dict(info.value.response["Error"]) | {
        "Status": info.value.response["ResponseMetadata"]["HTTPStatusCode"]
    }


def put(cw: Any, name: str, value: float, when: datetime.datetime, **extra: Any) -> None:
    datum = {"MetricName": name, "Dimensions": DIMS, "Value": value, "Timestamp": when, **extra}
    cw.put_metric_data(Namespace="Shop", MetricData=[datum])


def test_statistics_per_period(cw: Any) -> None:
    start = minute(-10)
    for i, value in enumerate([10.0, 20.0, 30.0, 60.0]):
        put(cw, "Latency", value, start + datetime.timedelta(seconds=20 * i), Unit="Milliseconds")
    put(cw, "Latency", 5.0, start + datetime.timedelta(minutes=2), Unit="Milliseconds")
    response = cw.get_metric_statistics(
        Namespace="Shop",
        MetricName="Latency",
        Dimensions=DIMS,
        StartTime=start,
        EndTime=start + datetime.timedelta(minutes=5),
        Period=60,
        Statistics=["SampleCount", "Average", "Sum", "Minimum", "Maximum"],
    )
    assert response["Label"] == "Latency"
    points = sorted(response["Datapoints"], key=lambda p: p["Timestamp"])
    assert [p["Timestamp"] for p in points] == [
        start,
        start + datetime.timedelta(minutes=1),
        start + datetime.timedelta(minutes=2),
    ]
    first = points[0]
    assert (first["SampleCount"], first["Sum"], first["Average"], first["Minimum"], first["Maximum"]) == (
        3.0,
        60.0,
        20.0,
        10.0,
        30.0,
    )
    assert first["Unit"] == "Milliseconds"
    assert points[1]["Maximum"] == 60.0 and points[2]["Sum"] == 5.0


def test_values_counts_and_statistic_sets(cw: Any) -> None:
    start = minute(-5)
    cw.put_metric_data(
        Namespace="Shop",
        MetricData=[
            {
                "MetricName": "Size",
                "Dimensions": DIMS,
                "Values": [1.0, 100.0],
                "Counts": [99.0, 1.0],
                "Timestamp": start,
            },
            {
                "MetricName": "Size",
                "Dimensions": DIMS,
                "StatisticValues": {"SampleCount": 10, "Sum": 50, "Minimum": 5, "Maximum": 5},
                "Timestamp": start + datetime.timedelta(minutes=1),
            },
        ],
    )
    response = cw.get_metric_statistics(
        Namespace="Shop",
        MetricName="Size",
        Dimensions=DIMS,
        StartTime=start,
        EndTime=start + datetime.timedelta(minutes=2),
        Period=60,
        ExtendedStatistics=["p50", "p99.5"],
    )
    points = sorted(response["Datapoints"], key=lambda p: p["Timestamp"])
    assert points[0]["ExtendedStatistics"] == {"p50": 1.0, "p99.5": 100.0}
    assert points[1]["ExtendedStatistics"] == {"p50": 5.0, "p99.5": 5.0}  # a set with min = max


def test_dimensions_identify_the_metric_exactly(cw: Any) -> None:
    when = minute(-1)
    cw.put_metric_data(
        Namespace="Shop",
        MetricData=[
            {"MetricName": "Hits", "Dimensions": DIMS, "Value": 1.0, "Timestamp": when},
            {
                "MetricName": "Hits",
                "Dimensions": [*DIMS, {"Name": "Az", "Value": "a"}],
                "Value": 5.0,
                "Timestamp": when,
            },
        ],
    )
    window = {"StartTime": when, "EndTime": when + datetime.timedelta(minutes=1), "Period": 60}
    only = cw.get_metric_statistics(
        Namespace="Shop", MetricName="Hits", Dimensions=DIMS, Statistics=["Sum"], **window
    )
    assert [p["Sum"] for p in only["Datapoints"]] == [1.0]
    both = [{"Name": "Az", "Value": "a"}, *DIMS]  # order does not matter
    other = cw.get_metric_statistics(
        Namespace="Shop", MetricName="Hits", Dimensions=both, Statistics=["Sum"], **window
    )
    assert [p["Sum"] for p in other["Datapoints"]] == [5.0]
    none = cw.get_metric_statistics(Namespace="Shop", MetricName="Hits", Statistics=["Sum"], **window)
    assert none["Datapoints"] == []


def test_unit_filter_and_default_unit(cw: Any) -> None:
    when = minute(-2)
    put(cw, "Mixed", 1.0, when, Unit="Count")
    put(cw, "Mixed", 2.0, when)
    window = {"StartTime": when, "EndTime": when + datetime.timedelta(minutes=1), "Period": 60}
    args = {"Namespace": "Shop", "MetricName": "Mixed", "Dimensions": DIMS, "Statistics": ["Sum"], **window}
    units = sorted((p["Unit"], p["Sum"]) for p in cw.get_metric_statistics(**args)["Datapoints"])
    assert units == [("Count", 1.0), ("None", 2.0)]
    counted = cw.get_metric_statistics(Unit="Count", **args)["Datapoints"]
    assert [(p["Unit"], p["Sum"]) for p in counted] == [("Count", 1.0)]


def test_get_metric_data_with_math_and_pagination(cw: Any) -> None:
    start = minute(-6)
    for i in range(5):
        put(cw, "Requests", float(10 * (i + 1)), start + datetime.timedelta(minutes=i))
        put(cw, "Errors", float(i), start + datetime.timedelta(minutes=i))
    metric = {"Namespace": "Shop", "Dimensions": DIMS}
    queries = [
        {
            "Id": "req",
            "MetricStat": {"Metric": {**metric, "MetricName": "Requests"}, "Period": 60, "Stat": "Sum"},
        },
        {
            "Id": "err",
            "MetricStat": {"Metric": {**metric, "MetricName": "Errors"}, "Period": 60, "Stat": "Sum"},
            "ReturnData": False,
        },
        {"Id": "rate", "Expression": "100 * err / req", "Label": "Error rate"},
    ]
    window = {"StartTime": start, "EndTime": start + datetime.timedelta(minutes=5)}
    response = cw.get_metric_data(MetricDataQueries=queries, **window)
    results = {r["Id"]: r for r in response["MetricDataResults"]}
    assert set(results) == {"req", "rate"}
    assert results["req"]["Label"] == "Requests" and results["req"]["StatusCode"] == "Complete"
    assert results["req"]["Values"] == [50.0, 40.0, 30.0, 20.0, 10.0]  # newest first by default
    assert results["rate"]["Label"] == "Error rate"
    assert results["rate"]["Values"] == pytest.approx([8.0, 7.5, 20 / 3, 5.0, 0.0])
    ascending = cw.get_metric_data(MetricDataQueries=queries[:1], ScanBy="TimestampAscending", **window)
    assert ascending["MetricDataResults"][0]["Values"] == [10.0, 20.0, 30.0, 40.0, 50.0]

    first = cw.get_metric_data(MetricDataQueries=queries, MaxDatapoints=3, **window)
    assert [(r["Id"], r["StatusCode"], len(r["Values"])) for r in first["MetricDataResults"]] == [
        ("req", "PartialData", 3)
    ]
    second = cw.get_metric_data(
        MetricDataQueries=queries, MaxDatapoints=3, NextToken=first["NextToken"], **window
    )
    assert [(r["Id"], r["StatusCode"], r["Values"]) for r in second["MetricDataResults"]] == [
        ("req", "Complete", [20.0, 10.0]),
        ("rate", "PartialData", pytest.approx([8.0])),
    ]
    pages = cw.get_paginator("get_metric_data").paginate(MetricDataQueries=queries, MaxDatapoints=4, **window)
    values = [v for page in pages for r in page["MetricDataResults"] for v in r["Values"]]
    assert len(values) == 10


def test_list_metrics_filters_and_recently_active(cw: Any) -> None:
    when = minute(-1)
    cw.put_metric_data(
        Namespace="Catalog",
        MetricData=[
            {
                "MetricName": "Views",
                "Dimensions": [{"Name": "Page", "Value": "home"}],
                "Value": 1.0,
                "Timestamp": when,
            },
            {
                "MetricName": "Views",
                "Dimensions": [{"Name": "Page", "Value": "cart"}],
                "Value": 1.0,
                "Timestamp": when,
            },
            {"MetricName": "Sales", "Value": 1.0, "Timestamp": when},
        ],
    )
    listed = cw.list_metrics(Namespace="Catalog")["Metrics"]
    assert [(m["MetricName"], m["Dimensions"]) for m in listed] == [
        ("Sales", []),
        ("Views", [{"Name": "Page", "Value": "cart"}]),
        ("Views", [{"Name": "Page", "Value": "home"}]),
    ]
    by_name = cw.list_metrics(
        Namespace="Catalog", MetricName="Views", Dimensions=[{"Name": "Page", "Value": "home"}]
    )
    assert len(by_name["Metrics"]) == 1
    any_value = cw.list_metrics(Dimensions=[{"Name": "Page"}])["Metrics"]
    assert len(any_value) == 2
    assert len(cw.list_metrics(Namespace="Catalog", RecentlyActive="PT3H")["Metrics"]) == 3


def test_list_metrics_pages_by_500(cw: Any) -> None:
    when = minute(-1)
    for batch in range(6):
        cw.put_metric_data(
            Namespace="Many",
            MetricData=[
                {
                    "MetricName": "M",
                    "Dimensions": [{"Name": "N", "Value": f"{batch * 100 + i:04d}"}],
                    "Value": 1.0,
                    "Timestamp": when,
                }
                for i in range(100)
            ],
        )
    first = cw.list_metrics(Namespace="Many")
    assert len(first["Metrics"]) == 500 and "NextToken" in first
    second = cw.list_metrics(Namespace="Many", NextToken=first["NextToken"])
    assert len(second["Metrics"]) == 100 and "NextToken" not in second


@pytest.mark.parametrize(
    ("datum", "code", "message"),
    [
        (
            {"Dimensions": [{"Name": "A", "Value": "1"}, {"Name": "A", "Value": "2"}]},
            "InvalidParameterValue",
            "No metric may specify the same dimension name twice.",
        ),
        (
            {"Dimensions": [{"Name": "A", "Value": "  "}]},
            "MissingParameter",
            "The parameter MetricData.member.1.Dimensions.member.1.Value is required.",
        ),
        (
            {"Values": [1.0, 2.0]},
            "InvalidParameterCombination",
            "The parameters MetricData.member.1.Value and MetricData.member.1.Values are mutually "
            "exclusive and "
            "you have specified both.",
        ),
        (
            {"Value": None, "Values": [1.0, 2.0], "Counts": [1.0]},
            "InvalidParameterValue",
            "The parameters MetricData.member.1.Values and MetricData.member.1.Counts must be of the "
            "same size.",
        ),
        (
            {"Value": float("nan")},
            "InvalidParameterValue",
            "The value NaN for parameter MetricData.member.1.Value is invalid.",
        ),
        (
            {"StorageResolution": 5},
            "InvalidParameterValue",
            "The value 5 for parameter MetricData.member.1.StorageResolution is invalid.",
        ),
    ],
)
def test_bad_datums(cw: Any, datum: dict[str, Any], code: str, message: str) -> None:
    item = {"MetricName": "Bad", "Value": 1.0, **datum}
    item = {k: v for k, v in item.items() if v is not None}
    failure = error(cw.put_metric_data, Namespace="Checks", MetricData=[item])
    assert (failure["Code"], failure["Message"], failure["Status"]) == (code, message, 400)
    assert cw.list_metrics(Namespace="Checks")["Metrics"] == []


def test_reserved_namespace(cw: Any) -> None:
    failure = error(
        cw.put_metric_data, Namespace="AWS/ECS", MetricData=[{"MetricName": "CPUUtilization", "Value": 1.0}]
    )
    assert failure["Code"] == "InvalidParameterValue"
    assert failure["Message"] == "The value AWS/ECS for parameter Namespace is invalid."


def test_timestamps_out_of_range_are_all_reported_and_nothing_is_stored(cw: Any) -> None:
    now = datetime.datetime.now(datetime.UTC)
    failure = error(
        cw.put_metric_data,
        Namespace="Checks",
        MetricData=[
            {"MetricName": "Fine", "Value": 1.0},
            {"MetricName": "Old", "Value": 1.0, "Timestamp": now - datetime.timedelta(days=15)},
            {"MetricName": "Ahead", "Value": 1.0, "Timestamp": now + datetime.timedelta(hours=3)},
        ],
    )
    assert failure["Code"] == "InvalidParameterValue"
    assert failure["Message"] == (
        "The parameter MetricData.member.2.Timestamp must specify a time within the past two weeks.\n"
        "The parameter MetricData.member.3.Timestamp must specify a time no more than two hours in "
        "the future."
    )
    assert cw.list_metrics(Namespace="Checks")["Metrics"] == []


def test_statistics_errors(cw: Any) -> None:
    now = minute()
    args: dict[str, Any] = {"Namespace": "Shop", "MetricName": "Latency", "Period": 60}
    day = {"StartTime": now - datetime.timedelta(days=1), "EndTime": now}
    unknown = error(cw.get_metric_statistics, Statistics=["Median"], **day, **args)
    assert unknown["Code"] == "ValidationException"
    assert (
        "Member must satisfy enum value set: [SampleCount, Average, Sum, Minimum, Maximum]"
        in unknown["Message"]
    )
    too_many = error(
        cw.get_metric_statistics,
        Statistics=["Sum"],
        StartTime=now - datetime.timedelta(days=2),
        EndTime=now,
        **args,
    )
    assert too_many["Code"] == "InvalidParameterCombination"
    assert too_many["Message"] == (
        "You have requested up to 2,880 datapoints, which exceeds the limit of 1,440. You may reduce the "
        "datapoints requested by increasing Period, or decreasing the time range."
    )
    backwards = error(
        cw.get_metric_statistics,
        Statistics=["Sum"],
        StartTime=now,
        EndTime=now - datetime.timedelta(hours=1),
        **args,
    )
    assert backwards["Message"] == "The parameter StartTime must be less than the parameter EndTime."
    neither = error(cw.get_metric_statistics, **day, **args)
    assert neither["Code"] == "InvalidParameterCombination"
    percentile = error(cw.get_metric_statistics, ExtendedStatistics=["p101"], **day, **args)
    assert percentile["Message"] == "The value p101 for parameter ExtendedStatistics.member.1 is invalid."
    period = error(cw.get_metric_statistics, Statistics=["Sum"], **day, **{**args, "Period": 45})
    assert period["Message"] == "The parameter Period must be 1, 5, 10, 20, 30, or a multiple of 60."


def test_get_metric_data_errors(cw: Any) -> None:
    now = minute()
    window = {"StartTime": now - datetime.timedelta(hours=1), "EndTime": now}
    stat = {"Metric": {"Namespace": "Shop", "MetricName": "Latency"}, "Period": 60, "Stat": "Average"}
    bad_stat = error(
        cw.get_metric_data, MetricDataQueries=[{"Id": "m1", "MetricStat": {**stat, "Stat": "Mean"}}], **window
    )
    assert (bad_stat["Code"], bad_stat["Message"]) == (
        "ValidationException",
        "The value Mean for parameter MetricDataQueries.member.1.MetricStat.Stat is invalid.",
    )
    bad_id = error(cw.get_metric_data, MetricDataQueries=[{"Id": "M1", "MetricStat": stat}], **window)
    assert bad_id["Message"].startswith(
        "The value M1 for parameter MetricDataQueries.member.1.Id is invalid."
    )
    bad_math = error(cw.get_metric_data, MetricDataQueries=[{"Id": "e1", "Expression": "FOO(m1)"}], **window)
    assert bad_math["Message"] == "Error in expression e1: Unrecognized metric id m1."
    bad_token = error(
        cw.get_metric_data, MetricDataQueries=[{"Id": "m1", "MetricStat": stat}], NextToken="junk", **window
    )
    assert bad_token["Code"] == "InvalidNextToken"
    equal = error(
        cw.get_metric_data, MetricDataQueries=[{"Id": "m1", "MetricStat": stat}], StartTime=now, EndTime=now
    )
    assert equal["Message"] == "The parameter StartTime must not equal parameter EndTime."


def test_datapoints_survive_a_restart_and_go_with_a_reset(tmp_path: Any) -> None:
    when = minute(-1)
    window = {"StartTime": when, "EndTime": when + datetime.timedelta(minutes=1), "Period": 60}
    query = {"Namespace": "Kept", "MetricName": "M", "Statistics": ["Sum"], **window}
    with ThreadedServer(data_dir=tmp_path) as first:
        make_client(first.endpoint, "cloudwatch").put_metric_data(
            Namespace="Kept", MetricData=[{"MetricName": "M", "Value": 7.0, "Timestamp": when}]
        )
    assert (tmp_path / "metrics.db").exists()
    with ThreadedServer(data_dir=tmp_path) as second:
        cw = make_client(second.endpoint, "cloudwatch")
        assert [p["Sum"] for p in cw.get_metric_statistics(**query)["Datapoints"]] == [7.0]
        reset(second.endpoint)
        assert cw.get_metric_statistics(**query)["Datapoints"] == []
        assert cw.list_metrics()["Metrics"] == []
