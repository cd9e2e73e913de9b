"""The awslogs driver's pure parts: options, frames, events and batches."""

from __future__ import annotations

import re

import pytest

from dockyard.agent.awslogs import (
    AwslogsConfig,
    AwslogsOptionError,
    awslogs_config,
    parse_size,
    strftime_regex,
)
from dockyard.agent.awslogs_events import (
    BATCH_BYTES,
    MAX_EVENT_BYTES,
    Cursor,
    Event,
    EventAssembler,
    newest_cursor,
    take_batch,
)
from dockyard.agent.runtime.log_frames import (
    FrameReader,
    FrameSkipper,
    format_timestamp,
    timestamp_ns,
)
from dockyard.agent.runtime.protocol import LogFrame

TASK = "0123456789abcdef0123456789abcdef"
CID = "f" * 64


def config(**options: str) -> AwslogsConfig:
    return awslogs_config(options, container_name="web", task_id=TASK, container_id=CID, region="us-east-1")


# -- options ---------------------------------------------------------------------------------------


def test_stream_names_as_ecs_makes_them() -> None:
    assert config(**{"awslogs-group": "g", "awslogs-stream-prefix": "ecs"}).stream == f"ecs/web/{TASK}"
    assert config(**{"awslogs-group": "g"}).stream == CID  # no prefix: the Docker container id
    assert config(**{"awslogs-group": "g", "awslogs-stream": "mine"}).stream == "mine"


def test_defaults_and_options() -> None:
    plain = config(**{"awslogs-group": "g", "awslogs-region": "eu-west-1"})
    assert (plain.group, plain.region, plain.create_group, plain.blocking) == ("g", "eu-west-1", False, False)
    assert (plain.max_buffer_size, plain.flush_interval, plain.multiline) == (10 << 20, 5.0, None)
    tuned = config(
        **{
            "awslogs-group": "g",
            "awslogs-create-group": "true",
            "mode": "non-blocking",
            "max-buffer-size": "4m",
            "awslogs-force-flush-interval-seconds": "1",
        }
    )
    assert (tuned.create_group, tuned.max_buffer_size, tuned.flush_interval, tuned.region) == (
        True,
        4 << 20,
        1.0,
        "us-east-1",
    )
    assert config(**{"awslogs-group": "g", "mode": "blocking"}).blocking


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "must specify a value for log opt 'awslogs-group'"),
        ({"awslogs-group": "g", "mode": "fast"}, "logger: logging mode not supported: fast"),
        (
            {"awslogs-group": "g", "mode": "blocking", "max-buffer-size": "1m"},
            "logger: max-buffer-size option is only supported with 'mode=non-blocking'",
        ),
        (
            {"awslogs-group": "g", "max-buffer-size": "lots"},
            "error parsing option max-buffer-size: invalid size: 'lots'",
        ),
        (
            {"awslogs-group": "g", "awslogs-colour": "red"},
            "unknown log opt 'awslogs-colour' for awslogs log driver",
        ),
        (
            {"awslogs-group": "g", "awslogs-create-group": "maybe"},
            'strconv.ParseBool: parsing "maybe": invalid syntax',
        ),
        (
            {"awslogs-group": "g", "awslogs-datetime-format": "%Y", "awslogs-multiline-pattern": "^x"},
            "you cannot configure log opt 'awslogs-datetime-format' and 'awslogs-multiline-pattern' "
            "at the same time",
        ),
    ],
)
def test_bad_options(options: dict[str, str], message: str) -> None:
    with pytest.raises(AwslogsOptionError) as raised:
        config(**options)
    assert str(raised.value) == message


def test_sizes_and_datetime_formats() -> None:
    assert [parse_size(s) for s in ("512", "4k", "10m", "1g", "2MiB")] == [
        512,
        4096,
        10 << 20,
        1 << 30,
        2 << 20,
    ]
    pattern = strftime_regex("%Y-%m-%d %H:%M:%S")
    assert pattern.startswith(r"\d{4}-(?:0[1-9]|1[0-2])-")


# -- frames --------------------------------------------------------------------------------------


def stamp(second: int, nanos: int = 0) -> str:
    return format_timestamp((1_700_000_000 + second) * 1_000_000_000 + nanos)


def test_timestamps_round_trip() -> None:
    text = stamp(5, 123456789)
    assert text == "2023-11-14T22:13:25.123456789Z"
    assert timestamp_ns(text) == 1_700_000_005_123_456_789
    assert timestamp_ns("2023-11-14T22:13:25Z") == 1_700_000_005_000_000_000
    assert timestamp_ns("2023-11-14T23:13:25.5+01:00") == 1_700_000_005_500_000_000


def test_frame_reader_multiplexed_and_raw() -> None:
    def frame(stream: int, payload: bytes) -> bytes:
        return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload

    data = frame(1, f"{stamp(1)} hello\n".encode()) + frame(2, f"{stamp(2)} oops\n".encode())
    reader = FrameReader(multiplexed=True)
    frames = [*reader.feed(data[:5]), *reader.feed(data[5:])]
    assert frames == [LogFrame(stamp(1), 1, b"hello\n"), LogFrame(stamp(2), 2, b"oops\n")]
    raw = FrameReader(multiplexed=False)
    frames = [*raw.feed(f"{stamp(1)} a\r\n{stamp(2)} b".encode()), *raw.flush()]
    assert frames == [LogFrame(stamp(1), 1, b"a\r\n"), LogFrame(stamp(2), 1, b"b")]


def test_frame_skipper_skips_what_was_seen() -> None:
    frames = [LogFrame(stamp(1), 1, b"a\n"), LogFrame(stamp(2), 1, b"b\n"), LogFrame(stamp(2), 1, b"c\n")]
    skipper = FrameSkipper(stamp(2), 1)
    assert [f.data for f in frames if skipper.fresh(f)] == [b"c\n"]
    assert [f.data for f in frames if FrameSkipper().fresh(f)] == [b"a\n", b"b\n", b"c\n"]


# -- events --------------------------------------------------------------------------------------


def feed(assembler: EventAssembler, *frames: LogFrame) -> list[Event]:
    events: list[Event] = []
    for frame in frames:
        events += assembler.feed(frame)
    return events


def test_lines_become_events_with_their_first_parts_time() -> None:
    assembler = EventAssembler()
    events = feed(
        assembler,
        LogFrame(stamp(1, 5_000_000), 1, b"hello\n"),
        LogFrame(stamp(2), 1, b"long li"),  # a line the engine logged in two parts
        LogFrame(stamp(3), 2, b"stderr line\n"),
        LogFrame(stamp(3), 1, b"ne\n"),
        LogFrame(stamp(4), 1, b"\n"),  # empty lines are not sent
        LogFrame(stamp(5), 1, b"no newline"),
    )
    base = 1_700_000_000_000
    assert [(e.timestamp, e.message) for e in events] == [
        (base + 1005, "hello"),
        (base + 3000, "stderr line"),
        (base + 2000, "long line"),
    ]
    assert events[-1].cursor == Cursor(stamp(3), 2)
    tail = assembler.finish()
    assert [(e.message, e.cursor) for e in tail] == [("no newline", Cursor(stamp(5), 1))]


def test_bytes_that_are_not_utf8_are_replaced() -> None:
    events = EventAssembler().feed(LogFrame(stamp(1), 1, b"caf\xe9 ok\n"))
    assert [(e.message, e.size) for e in events] == [("caf\ufffd ok", len("caf\ufffd ok".encode()) + 26)]


def test_long_lines_are_split_between_characters() -> None:
    line = "€" * 100_000  # three bytes each: 300,000 bytes
    events = EventAssembler().feed(LogFrame(stamp(1), 1, line.encode() + b"\n"))
    assert [len(e.message.encode()) for e in events] == [MAX_EVENT_BYTES - 2, 300_000 - MAX_EVENT_BYTES + 2]
    assert "".join(e.message for e in events) == line


def test_multiline_events_gather_lines_until_the_next_start() -> None:
    assembler = EventAssembler(multiline=re.compile(strftime_regex("%Y-%m-%d").encode()))
    events = feed(
        assembler,
        LogFrame(stamp(1), 1, b"2024-01-01 boom\n"),
        LogFrame(stamp(1), 1, b"  at line 1\n"),
        LogFrame(stamp(2), 1, b"  at line 2\n"),
        LogFrame(stamp(3), 1, b"2024-01-01 next\n"),
    )
    assert [e.message for e in events] == ["2024-01-01 boom\n  at line 1\n  at line 2\n"]
    assert events[0].cursor == Cursor(stamp(2), 1)
    assert assembler.flush_stale(1_700_000_003_000 + 4000, 5000) == []
    stale = assembler.flush_stale(1_700_000_003_000 + 6000, 5000)
    assert [e.message for e in stale] == ["2024-01-01 next\n"]


def test_batches_respect_count_size_and_span() -> None:
    def event(ts: int, size: int = 1) -> Event:
        return Event(ts, "x" * size, Cursor())

    many = [event(i) for i in range(10_005)]
    assert len(take_batch(many)) == 10_000 and len(many) == 5
    big = [event(1, 500_000), event(2, 500_000), event(3, 500_000)]
    assert [e.timestamp for e in take_batch(big)] == [1, 2]
    assert sum(e.size for e in [event(1, 500_000)] * 2) <= BATCH_BYTES
    spread = [event(0), event(86_400_001), event(5)]
    assert [e.timestamp for e in take_batch(spread)] == [0]
    unordered = [event(5), event(3), event(4)]
    assert [e.timestamp for e in take_batch(unordered)] == [3, 4, 5]


def test_newest_cursor() -> None:
    events = [
        Event(1, "a", Cursor(stamp(2), 1)),
        Event(1, "b", Cursor(stamp(2), 3)),
        Event(1, "c", Cursor(stamp(1), 9)),
    ]
    assert newest_cursor(events) == Cursor(stamp(2), 3)
