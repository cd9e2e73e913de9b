"""CloudWatch Logs through boto3: groups, streams, events, filters, tags and bad input."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.conftest import make_client

ARN = "arn:aws:logs:us-east-1:123456789012:log-group"


@pytest.fixture
def logs(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "logs")


def now_ms() -> int:
    return int(time.time() * 1000)


def error(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def put(logs: Any, group: str, stream: str, *messages: str, start: int | None = None) -> None:
    base = now_ms() - len(messages) if start is None else start
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": base + i, "message": m} for i, m in enumerate(messages)],
    )


# -- groups --------------------------------------------------------------------------------------


def test_create_describe_and_delete_groups(logs: Any) -> None:
    before = now_ms()
    logs.create_log_group(logGroupName="/ecs/web", tags={"team": "a"})
    logs.create_log_group(logGroupName="/ecs/worker", kmsKeyId="arn:aws:kms:us-east-1:123456789012:key/k")
    logs.create_log_group(logGroupName="other")
    groups = logs.describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/ecs/web", "/ecs/worker", "other"]
    web = groups[0]
    assert web["arn"] == f"{ARN}:/ecs/web:*"
    assert web["logGroupArn"] == f"{ARN}:/ecs/web"
    assert web["storedBytes"] == 0 and web["metricFilterCount"] == 0 and web["logGroupClass"] == "STANDARD"
    assert web["creationTime"] >= before and "retentionInDays" not in web
    assert groups[1]["kmsKeyId"] == "arn:aws:kms:us-east-1:123456789012:key/k"
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/ecs/")["logGroups"]] == [
        "/ecs/web",
        "/ecs/worker",
    ]
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePattern="work")["logGroups"]] == [
        "/ecs/worker"
    ]
    logs.delete_log_group(logGroupName="/ecs/web")
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/ecs/worker", "other"]


def test_describe_log_groups_pages(logs: Any) -> None:
    for i in range(7):
        logs.create_log_group(logGroupName=f"g{i}")
    pages = list(logs.get_paginator("describe_log_groups").paginate(PaginationConfig={"PageSize": 3}))
    assert [len(p["logGroups"]) for p in pages] == [3, 3, 1]
    assert [g["logGroupName"] for p in pages for g in p["logGroups"]] == [f"g{i}" for i in range(7)]


@pytest.mark.parametrize(
    ("call", "code", "message"),
    [
        (
            {"logGroupName": "a b"},
            "InvalidParameterException",
            "1 validation error detected: Value 'a b' at 'logGroupName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+",
        ),
        (
            {"logGroupName": "aws/mine"},
            "InvalidParameterException",
            "Log groups starting with AWS/ are reserved for AWS.",
        ),
        (
            {"logGroupName": "AWS/Mine"},
            "InvalidParameterException",
            "Log groups starting with AWS/ are reserved for AWS.",
        ),
    ],
)
def test_bad_group_names(logs: Any, call: dict[str, str], code: str, message: str) -> None:
    with pytest.raises(ClientError) as raised:
        logs.create_log_group(**call)
    assert error(raised) == (code, message)
    assert logs.describe_log_groups()["logGroups"] == []


def test_duplicate_and_missing_groups(logs: Any) -> None:
    logs.create_log_group(logGroupName="g")
    with pytest.raises(ClientError) as raised:
        logs.create_log_group(logGroupName="g")
    assert error(raised) == ("ResourceAlreadyExistsException", "The specified log group already exists")
    for call in (
        lambda: logs.delete_log_group(logGroupName="nope"),
        lambda: logs.create_log_stream(logGroupName="nope", logStreamName="s"),
        lambda: logs.describe_log_streams(logGroupName="nope"),
        lambda: logs.put_retention_policy(logGroupName="nope", retentionInDays=1),
    ):
        with pytest.raises(ClientError) as raised:
            call()
        assert error(raised) == ("ResourceNotFoundException", "The specified log group does not exist.")


def test_deletion_protection(logs: Any) -> None:
    logs.create_log_group(logGroupName="keep", deletionProtectionEnabled=True)
    logs.create_log_stream(logGroupName="keep", logStreamName="s")
    message = "Cannot delete log group with deletion protection enabled. Disable deletion protection first."
    for call in (
        lambda: logs.delete_log_group(logGroupName="keep"),
        lambda: logs.delete_log_stream(logGroupName="keep", logStreamName="s"),
    ):
        with pytest.raises(ClientError) as raised:
            call()
        assert error(raised) == ("ValidationException", message)
    logs.put_log_group_deletion_protection(logGroupIdentifier="keep", deletionProtectionEnabled=False)
    logs.delete_log_group(logGroupName="keep")


def test_retention_policy(logs: Any) -> None:
    logs.create_log_group(logGroupName="g")
    logs.put_retention_policy(logGroupName="g", retentionInDays=14)
    assert logs.describe_log_groups()["logGroups"][0]["retentionInDays"] == 14
    with pytest.raises(ClientError) as raised:
        logs.put_retention_policy(logGroupName="g", retentionInDays=2)
    assert error(raised) == (
        "InvalidParameterException",
        "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: "
        "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, "
        "731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]",
    )
    assert logs.describe_log_groups()["logGroups"][0]["retentionInDays"] == 14
    logs.delete_retention_policy(logGroupName="g")
    assert "retentionInDays" not in logs.describe_log_groups()["logGroups"][0]


def test_tags_by_name_and_by_arn(logs: Any) -> None:
    logs.create_log_group(logGroupName="g", tags={"a": "1"})
    logs.tag_log_group(logGroupName="g", tags={"b": "2"})
    assert logs.list_tags_log_group(logGroupName="g")["tags"] == {"a": "1", "b": "2"}
    logs.untag_log_group(logGroupName="g", tags=["a"])
    logs.tag_resource(resourceArn=f"{ARN}:g", tags={"c": "3"})
    assert logs.list_tags_for_resource(resourceArn=f"{ARN}:g")["tags"] == {"b": "2", "c": "3"}
    logs.untag_resource(resourceArn=f"{ARN}:g", tagKeys=["b", "c"])
    assert logs.list_tags_for_resource(resourceArn=f"{ARN}:g")["tags"] == {}
    with pytest.raises(ClientError) as raised:
        logs.tag_resource(resourceArn=f"{ARN}:g", tags={f"k{i}": "v" for i in range(51)})
    assert error(raised)[0] == "InvalidParameterException"  # the model caps a request at 50
    logs.tag_resource(resourceArn=f"{ARN}:g", tags={f"k{i}": "v" for i in range(50)})
    with pytest.raises(ClientError) as raised:
        logs.tag_resource(resourceArn=f"{ARN}:g", tags={"one-more": "v"})
    assert error(raised) == ("TooManyTagsException", "A resource can have no more than 50 tags.")
    with pytest.raises(ClientError) as raised:
        logs.list_tags_for_resource(resourceArn=f"{ARN}:missing")
    assert error(raised) == ("ResourceNotFoundException", "The specified log group does not exist.")


# -- streams -------------------------------------------------------------------------------------


def test_streams_by_name_and_by_last_event(logs: Any) -> None:
    logs.create_log_group(logGroupName="g")
    for name in ("b", "a", "c"):
        logs.create_log_stream(logGroupName="g", logStreamName=name)
    start = now_ms() - 1000
    put(logs, "g", "c", "one", start=start)
    put(logs, "g", "a", "two", start=start + 10)
    streams = logs.describe_log_streams(logGroupName="g")["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["a", "b", "c"]
    a = streams[0]
    assert a["arn"] == f"{ARN}:g:log-stream:a"
    assert (a["firstEventTimestamp"], a["lastEventTimestamp"], a["storedBytes"]) == (
        start + 10,
        start + 10,
        0,
    )
    assert a["lastIngestionTime"] >= a["creationTime"] and a["uploadSequenceToken"]
    assert "lastEventTimestamp" not in streams[1] and "uploadSequenceToken" not in streams[1]
    by_time = logs.describe_log_streams(logGroupName="g", orderBy="LastEventTime", descending=True)
    assert [s["logStreamName"] for s in by_time["logStreams"]] == ["a", "c", "b"]
    prefixed = logs.describe_log_streams(logGroupIdentifier=f"{ARN}:g", logStreamNamePrefix="b")
    assert [s["logStreamName"] for s in prefixed["logStreams"]] == ["b"]
    with pytest.raises(ClientError) as raised:
        logs.describe_log_streams(logGroupName="g", orderBy="LastEventTime", logStreamNamePrefix="a")
    assert error(raised) == (
        "InvalidParameterException",
        "Cannot order by LastEventTime with a logStreamNamePrefix.",
    )
    with pytest.raises(ClientError) as raised:
        logs.describe_log_streams(logGroupName="g", logGroupIdentifier="g")
    assert error(raised) == (
        "InvalidParameterException",
        "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
    )
    assert logs.describe_log_groups()["logGroups"][0]["storedBytes"] == len("one") + len("two")


def test_describe_log_streams_pages_in_both_orders(logs: Any) -> None:
    logs.create_log_group(logGroupName="g")
    names = [f"s{i:02d}" for i in range(12)]
    for name in names:
        logs.create_log_stream(logGroupName="g", logStreamName=name)
    for descending in (False, True):
        pages = logs.get_paginator("describe_log_streams").paginate(
            logGroupName="g", descending=descending, PaginationConfig={"PageSize": 5}
        )
        seen = [s["logStreamName"] for page in pages for s in page["logStreams"]]
        assert seen == (list(reversed(names)) if descending else names)


def test_stream_errors(logs: Any) -> None:
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    with pytest.raises(ClientError) as raised:
        logs.create_log_stream(logGroupName="g", logStreamName="s")
    assert error(raised) == ("ResourceAlreadyExistsException", "The specified log stream already exists")
    with pytest.raises(ClientError) as raised:
        logs.create_log_stream(logGroupName="g", logStreamName="a:b")
    assert error(raised)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as raised:
        logs.delete_log_stream(logGroupName="g", logStreamName="nope")
    assert error(raised) == ("ResourceNotFoundException", "The specified log stream does not exist.")
    with pytest.raises(ClientError) as raised:
        put(logs, "g", "nope", "x")
    assert error(raised) == ("ResourceNotFoundException", "The specified log stream does not exist.")


def test_a_stream_created_again_starts_empty(logs: Any) -> None:
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    put(logs, "g", "s", "old")
    logs.delete_log_stream(logGroupName="g", logStreamName="s")
    assert logs.filter_log_events(logGroupName="g")["events"] == []
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    assert logs.get_log_events(logGroupName="g", logStreamName="s")["events"] == []
    logs.delete_log_group(logGroupName="g")
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    assert logs.get_log_events(logGroupName="g", logStreamName="s")["events"] == []
    assert logs.describe_log_groups()["logGroups"][0]["storedBytes"] == 0


# -- events ------------------------------------------------------------------------------------


def test_put_log_events_rules(logs: Any) -> None:
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    now = now_ms()
    with pytest.raises(ClientError) as raised:
        logs.put_log_events(
            logGroupName="g",
            logStreamName="s",
            logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}],
        )
    assert error(raised) == (
        "InvalidParameterException",
        "Log events in a single PutLogEvents request must be in chronological order.",
    )
    assert logs.get_log_events(logGroupName="g", logStreamName="s")["events"] == []
    answer = logs.put_log_events(
        logGroupName="g",
        logStreamName="s",
        sequenceToken="anything: ignored",
        logEvents=[
            {"timestamp": now - 15 * 86_400_000, "message": "too old"},
            {"timestamp": now - 14 * 86_400_000 - 1000, "message": "too old too"},
        ],
    )
    assert answer["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    answer = logs.put_log_events(
        logGroupName="g",
        logStreamName="s",
        logEvents=[{"timestamp": now, "message": "ok"}, {"timestamp": now + 3 * 3_600_000, "message": "new"}],
    )
    assert answer["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    assert len(answer["nextSequenceToken"]) == 56
    assert [e["message"] for e in logs.get_log_events(logGroupName="g", logStreamName="s")["events"]] == [
        "ok"
    ]


def test_get_log_events_pages_both_ways_and_repeats_the_token_at_the_end(logs: Any) -> None:
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    put(logs, "g", "s", *[f"line {i}" for i in range(25)])
    newest = logs.get_log_events(logGroupName="g", logStreamName="s", limit=10)
    assert [e["message"] for e in newest["events"]] == [f"line {i}" for i in range(15, 25)]
    assert newest["nextForwardToken"].startswith("f/") and newest["nextBackwardToken"].startswith("b/")
    seen: list[str] = []
    token = None
    while True:  # the loop the AWS docs prescribe: stop when the forward token comes back unchanged
        kwargs = {"nextToken": token} if token else {}
        page = logs.get_log_events(
            logGroupName="g", logStreamName="s", startFromHead=True, limit=10, **kwargs
        )
        seen += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert seen == [f"line {i}" for i in range(25)]
    older = logs.get_log_events(
        logGroupName="g", logStreamName="s", nextToken=newest["nextBackwardToken"], limit=10
    )
    assert [e["message"] for e in older["events"]] == [f"line {i}" for i in range(5, 15)]
    oldest = logs.get_log_events(logGroupName="g", logStreamName="s", nextToken=older["nextBackwardToken"])
    assert [e["message"] for e in oldest["events"]] == [f"line {i}" for i in range(5)]
    end = logs.get_log_events(logGroupName="g", logStreamName="s", nextToken=oldest["nextBackwardToken"])
    assert end["events"] == [] and end["nextBackwardToken"] == oldest["nextBackwardToken"]


def test_get_log_events_time_range(logs: Any) -> None:
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    start = now_ms() - 100
    put(logs, "g", "s", "a", "b", "c", "d", start=start)
    page = logs.get_log_events(logGroupName="g", logStreamName="s", startTime=start + 1, endTime=start + 3)
    assert [e["message"] for e in page["events"]] == ["b", "c"]  # endTime is exclusive
    with pytest.raises(ClientError) as raised:
        logs.get_log_events(logGroupName="g", logStreamName="s", nextToken="f/bogus")
    assert error(raised) == ("InvalidParameterException", "The specified nextToken is invalid.")


def test_filter_log_events_across_streams(logs: Any) -> None:
    logs.create_log_group(logGroupName="g")
    for stream in ("app/1", "app/2", "db"):
        logs.create_log_stream(logGroupName="g", logStreamName=stream)
    start = now_ms() - 100
    put(logs, "g", "app/1", "ERROR one", "ok", start=start)
    put(logs, "g", "app/2", "ERROR two", start=start + 1)
    put(logs, "g", "db", '{"level": "error", "ms": 120}', start=start + 5)
    everything = logs.filter_log_events(logGroupName="g")
    assert [(e["logStreamName"], e["message"]) for e in everything["events"]] == [
        ("app/1", "ERROR one"),
        ("app/1", "ok"),  # the same timestamp as ERROR two, stored first
        ("app/2", "ERROR two"),
        ("db", '{"level": "error", "ms": 120}'),
    ]
    assert everything["searchedLogStreams"] == [] and "nextToken" not in everything
    assert len({e["eventId"] for e in everything["events"]}) == 4
    errors = logs.filter_log_events(logGroupName="g", filterPattern="ERROR", logStreamNamePrefix="app/")
    assert [e["message"] for e in errors["events"]] == ["ERROR one", "ERROR two"]
    slow = logs.filter_log_events(logGroupName="g", filterPattern="{ $.ms > 100 }")
    assert [e["logStreamName"] for e in slow["events"]] == ["db"]
    named = logs.filter_log_events(logGroupName="g", logStreamNames=["app/2", "db"], startTime=start + 2)
    assert [e["logStreamName"] for e in named["events"]] == ["db"]
    with pytest.raises(ClientError) as raised:
        logs.filter_log_events(logGroupName="g", filterPattern="{ $.ms > }")
    assert error(raised) == ("InvalidParameterException", "Invalid filter pattern")
    with pytest.raises(ClientError) as raised:
        logs.filter_log_events(logGroupName="g", logStreamNames=["db"], logStreamNamePrefix="a")
    assert error(raised)[0] == "InvalidParameterException"


def test_filter_log_events_pages_until_the_token_is_gone(logs: Any) -> None:
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    put(logs, "g", "s", *[f"{'ERROR' if i % 3 == 0 else 'INFO'} {i}" for i in range(30)])
    pages = list(
        logs.get_paginator("filter_log_events").paginate(
            logGroupName="g", filterPattern="ERROR", PaginationConfig={"PageSize": 4}
        )
    )
    assert [e["message"] for p in pages for e in p["events"]] == [f"ERROR {i}" for i in range(0, 30, 3)]
    assert "nextToken" not in pages[-1]


def test_groups_by_arn_and_regions_apart(server: ThreadedServer, logs: Any) -> None:
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    put(logs, "g", "s", "east")
    page = logs.get_log_events(logGroupIdentifier=f"{ARN}:g", logStreamName="s")
    assert [e["message"] for e in page["events"]] == ["east"]
    west = make_client(server.endpoint, "logs", region="us-west-2")
    assert west.describe_log_groups()["logGroups"] == []
    with pytest.raises(ClientError) as raised:
        west.get_log_events(logGroupName="g", logStreamName="s")
    assert error(raised) == ("ResourceNotFoundException", "The specified log group does not exist.")
    west.create_log_group(logGroupName="g")
    assert (
        west.describe_log_groups()["logGroups"][0]["arn"]
        == "arn:aws:logs:us-west-2:123456789012:log-group:g:*"
    )


def test_bad_input_changes_nothing(logs: Any) -> None:
    with pytest.raises(ClientError):
        logs.create_log_group(logGroupName="x" * 513)
    with pytest.raises(ClientError):
        logs.describe_log_groups(limit=51)
    assert logs.describe_log_groups()["logGroups"] == []
