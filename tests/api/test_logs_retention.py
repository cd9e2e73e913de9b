"""Retention enforced on an injected clock, deleted groups purged, and events that survive a restart."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.testing.clock import FakeClock
from dockyard.testing.server import ThreadedServer
from tests.conftest import make_client

DAY = 86_400_000


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (bounded) for the retention controller, which runs beside the requests."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def clocked() -> Iterator[tuple[ThreadedServer, FakeClock]]:
    clock = FakeClock(start=time.time())
    with ThreadedServer(clock=clock) as server:
        yield server, clock


def messages(logs: Any) -> list[str]:
    return [
        e["message"]
        for e in logs.get_log_events(logGroupName="g", logStreamName="s", startFromHead=True)["events"]
    ]


def test_retention_deletes_expired_events_as_time_passes(clocked: tuple[ThreadedServer, FakeClock]) -> None:
    server, clock = clocked
    logs = make_client(server.endpoint, "logs")
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    now = int(clock.now() * 1000)
    for age_days, text in ((5, "five days"), (4, "four days"), (0, "today")):
        logs.put_log_events(
            logGroupName="g",
            logStreamName="s",
            logEvents=[{"timestamp": now - age_days * DAY, "message": text}],
        )
    assert messages(logs) == ["five days", "four days", "today"]
    logs.put_retention_policy(logGroupName="g", retentionInDays=3)
    eventually(lambda: messages(logs) == ["today"])
    assert logs.describe_log_groups()["logGroups"][0]["storedBytes"] == len("today")
    stream = logs.describe_log_streams(logGroupName="g")["logStreams"][0]
    assert stream["firstEventTimestamp"] == now
    server.advance(4 * 86_400)  # four days later (the controller resyncs every 30 s of clock time)
    eventually(lambda: messages(logs) == [])
    assert logs.describe_log_groups()["logGroups"][0]["storedBytes"] == 0


def test_events_older_than_the_retention_are_refused_as_expired(
    clocked: tuple[ThreadedServer, FakeClock],
) -> None:
    server, clock = clocked
    logs = make_client(server.endpoint, "logs")
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    logs.put_retention_policy(logGroupName="g", retentionInDays=1)
    now = int(clock.now() * 1000)
    answer = logs.put_log_events(
        logGroupName="g",
        logStreamName="s",
        logEvents=[
            {"timestamp": now - DAY - 5, "message": "old"},
            {"timestamp": now - DAY + 60_000, "message": "new"},
        ],
    )
    assert answer["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}
    assert messages(logs) == ["new"]


def test_a_deleted_group_has_its_events_purged(clocked: tuple[ThreadedServer, FakeClock]) -> None:
    server, clock = clocked
    logs = make_client(server.endpoint, "logs")
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    now = int(clock.now() * 1000)
    logs.put_log_events(
        logGroupName="g",
        logStreamName="s",
        logEvents=[{"timestamp": now, "message": f"m{i}"} for i in range(500)],
    )

    def stored() -> int:
        return server.run(server.server.log_events.event_count())

    assert stored() == 500
    logs.delete_log_group(logGroupName="g")
    eventually(lambda: stored() == 0)


def test_events_survive_a_restart(tmp_path: Path) -> None:
    with ThreadedServer(data_dir=tmp_path) as server:
        logs = make_client(server.endpoint, "logs")
        logs.create_log_group(logGroupName="g")
        logs.create_log_stream(logGroupName="g", logStreamName="s")
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName="g",
            logStreamName="s",
            logEvents=[{"timestamp": now + i, "message": f"m{i}"} for i in range(3)],
        )
        before = logs.filter_log_events(logGroupName="g")["events"]
    assert (tmp_path / "logs.db").exists()
    with ThreadedServer(data_dir=tmp_path) as server:
        logs = make_client(server.endpoint, "logs")
        assert messages(logs) == ["m0", "m1", "m2"]
        assert logs.filter_log_events(logGroupName="g")["events"] == before  # the same event ids
