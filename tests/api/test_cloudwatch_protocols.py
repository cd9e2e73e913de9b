"""Every protocol a CloudWatch client may send, end to end: awsJson 1.0 (current boto3 and AWS
CLI), query (older clients) and Smithy RPC v2 CBOR (the Go SDK v2), with real botocore clients
made to speak each one and with raw requests."""

from __future__ import annotations

import datetime
import json
import urllib.error
import urllib.request
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import cbor2
import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer

TARGET = "GraniteServiceVersion20100801"
NS = "{http://monitoring.amazonaws.com/doc/2010-08-01/}"


def client_speaking(protocol: str, endpoint: str, models: Path) -> tuple[Any, list[Any]]:
    """A boto3 CloudWatch client whose model offers only `protocol`, and the requests it sends."""
    model = botocore.loaders.Loader().load_service_model("cloudwatch", "service-2")
    model["metadata"]["protocol"] = protocol
    model["metadata"]["protocols"] = [protocol]
    folder = models / protocol / "cloudwatch" / model["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(models / protocol))
    client = boto3.Session(botocore_session=session).client(
        "cloudwatch",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIATESTKEY",
        aws_secret_access_key="secret",
    )
    sent: list[Any] = []
    client.meta.events.register("before-send.cloudwatch.*", lambda request, **_: sent.append(request))
    return client, sent


@pytest.mark.parametrize("protocol", ["query", "json", "smithy-rpc-v2-cbor"])
def test_botocore_speaking_each_protocol(server: ThreadedServer, tmp_path: Path, protocol: str) -> None:
    cw, sent = client_speaking(protocol, server.endpoint, tmp_path)
    now = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
    cw.put_metric_data(
        Namespace="Wire",
        MetricData=[
            {
                "MetricName": "Hits",
                "Dimensions": [{"Name": "P", "Value": protocol}],
                "Values": [1.0, 3.0],
                "Timestamp": now,
            }
        ],
    )
    stats = cw.get_metric_statistics(
        Namespace="Wire",
        MetricName="Hits",
        Dimensions=[{"Name": "P", "Value": protocol}],
        StartTime=now - datetime.timedelta(minutes=1),
        EndTime=now + datetime.timedelta(minutes=1),
        Period=60,
        Statistics=["Sum", "SampleCount"],
    )
    (point,) = stats["Datapoints"]
    assert (point["Sum"], point["SampleCount"], point["Timestamp"]) == (4.0, 2.0, now)
    cw.put_metric_alarm(
        AlarmName=f"wire-{protocol}",
        Namespace="Wire",
        MetricName="Hits",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="ignore",
    )
    (alarm,) = cw.describe_alarms(AlarmNames=[f"wire-{protocol}"])["MetricAlarms"]
    assert alarm["AlarmConfigurationUpdatedTimestamp"].tzinfo is not None
    with pytest.raises(ClientError) as info:
        cw.put_metric_data(Namespace="AWS/EC2", MetricData=[{"MetricName": "x", "Value": 1.0}])
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert info.value.response["Error"]["Message"] == "The value AWS/EC2 for parameter Namespace is invalid."
    with pytest.raises(ClientError) as missing:
        cw.set_alarm_state(AlarmName="absent", StateValue="OK", StateReason="x")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    first = sent[0]
    if protocol == "query":
        assert first.url.rstrip("/") == server.endpoint and b"Action=PutMetricData" in first.body
    elif protocol == "json":
        assert first.headers["X-Amz-Target"] == f"{TARGET}.PutMetricData".encode()
    else:
        assert first.url == f"{server.endpoint}/service/{TARGET}/operation/PutMetricData"
        assert first.headers["smithy-protocol"] == b"rpc-v2-cbor"


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_raw_json_1_0_with_query_compatible_errors(server: ThreadedServer) -> None:
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"{TARGET}.ListMetrics"}
    status, answer, body = _post(server.endpoint + "/", b"{}", headers)
    assert status == 200 and answer["Content-Type"] == "application/x-amz-json-1.0"
    assert json.loads(body) == {"Metrics": []}
    headers["X-Amz-Target"] = f"{TARGET}.PutMetricData"
    payload = json.dumps({"Namespace": "AWS/X", "MetricData": [{"MetricName": "m", "Value": 1}]}).encode()
    status, answer, body = _post(server.endpoint + "/", payload, headers)
    assert status == 400
    assert answer["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    assert json.loads(body)["__type"] == "InvalidParameterValueException"


def test_raw_query_request_and_xml_error(server: ThreadedServer) -> None:
    form = "Action=ListMetrics&Version=2010-08-01"
    status, answer, body = _post(
        server.endpoint + "/", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200 and answer["Content-Type"] == "text/xml"
    root = ElementTree.fromstring(body)
    assert root.tag == f"{NS}ListMetricsResponse"
    assert root.find(f"{NS}ResponseMetadata/{NS}RequestId") is not None
    bad = (
        "Action=PutMetricData&Version=2010-08-01&Namespace=AWS%2FX"
        "&MetricData.member.1.MetricName=m&MetricData.member.1.Value=1"
    )
    status, _, body = _post(
        server.endpoint + "/", bad.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    )
    error = ElementTree.fromstring(body).find(f"{NS}Error")
    assert status == 400 and error is not None
    assert error.findtext(f"{NS}Code") == "InvalidParameterValue"
    assert error.findtext(f"{NS}Type") == "Sender"


def test_raw_cbor_request_as_the_go_sdk_sends_it(server: ThreadedServer) -> None:
    url = f"{server.endpoint}/service/{TARGET}/operation/GetMetricData"
    headers = {
        "smithy-protocol": "rpc-v2-cbor",
        "Content-Type": "application/cbor",
        "Accept": "application/cbor",
    }
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    query = {
        "Id": "m1",
        "MetricStat": {"Metric": {"Namespace": "None", "MetricName": "m"}, "Period": 60, "Stat": "Sum"},
    }
    body = cbor2.dumps(
        {"MetricDataQueries": [query], "StartTime": start, "EndTime": start + datetime.timedelta(hours=1)}
    )
    status, answer, raw = _post(url, body, headers)
    assert status == 200
    assert answer["smithy-protocol"] == "rpc-v2-cbor" and answer["Content-Type"] == "application/cbor"
    result = cbor2.loads(raw)["MetricDataResults"][0]
    assert (result["Id"], result["StatusCode"], result["Values"]) == ("m1", "Complete", [])
    status, answer, raw = _post(
        f"{server.endpoint}/service/{TARGET}/operation/SetAlarmState",
        cbor2.dumps({"AlarmName": "x", "StateValue": "OK", "StateReason": "r"}),
        headers,
    )
    assert status == 404 and answer["x-amzn-query-error"] == "ResourceNotFound;Sender"
    assert cbor2.loads(raw)["__type"] == "ResourceNotFound"
    status, _, _ = _post(url, b"\xff\x00garbage", headers)
    assert status == 400
