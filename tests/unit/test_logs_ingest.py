"""PutLogEvents batch rules and the GetLogEvents / FilterLogEvents tokens (pure)."""

from __future__ import annotations

import pytest

from dockyard.services.logs.ingest import BatchRefused, check_batch
from dockyard.services.logs.tokens import (
    InvalidToken,
    decode_filter,
    encode_filter,
    event_id,
    parse_stream_token,
    stream_token,
)

NOW = 1_700_000_000_000
HOUR = 3_600_000
DAY = 24 * HOUR


def events(*timestamps: int, message: str = "m") -> list[dict[str, object]]:
    return [{"timestamp": t, "message": message} for t in timestamps]


def test_an_ordinary_batch_is_accepted_whole() -> None:
    batch = check_batch(events(NOW - 2, NOW - 1, NOW - 1, NOW), now=NOW, retention_days=None)
    assert batch.accepted == [(NOW - 2, "m"), (NOW - 1, "m"), (NOW - 1, "m"), (NOW, "m")]
    assert batch.rejected == {}


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (
            events(NOW, NOW - 1),
            "Log events in a single PutLogEvents request must be in chronological order.",
        ),
        (
            events(NOW - DAY - 1, NOW),
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
        ),
        (
            events(NOW, message="x" * 1_048_551),
            "Log event too large: 1048577 bytes exceeds limit of 1048576",
        ),
        (
            events(*[NOW] * 2, message="x" * 524_263),
            "Upload too large: 1048578 bytes exceeds limit of 1048576",
        ),
    ],
)
def test_refused_batches(batch: list[dict[str, object]], message: str) -> None:
    with pytest.raises(BatchRefused) as raised:
        check_batch(batch, now=NOW, retention_days=None)
    assert str(raised.value) == message


def test_the_size_limit_counts_utf8_bytes_and_26_per_event() -> None:
    fits = events(*[NOW] * 2, message="é" * 262_131)  # 2 x (524,262 + 26) = 1,048,576
    assert len(check_batch(fits, now=NOW, retention_days=None).accepted) == 2


def test_too_new_too_old_and_expired_events_are_dropped_and_reported() -> None:
    old = check_batch(events(NOW - 15 * DAY, NOW - 14 * DAY - 1), now=NOW, retention_days=None)
    assert old.accepted == [] and old.rejected == {"tooOldLogEventEndIndex": 1}
    expired = check_batch(events(NOW - DAY - 10, NOW - DAY - 5, NOW - 10), now=NOW, retention_days=1)
    assert expired.rejected == {"expiredLogEventEndIndex": 1}
    assert [t for t, _ in expired.accepted] == [NOW - 10]
    new = check_batch(
        events(NOW, NOW + 2 * HOUR, NOW + 2 * HOUR + 1, NOW + 3 * HOUR), now=NOW, retention_days=1
    )
    assert new.rejected == {"tooNewLogEventStartIndex": 2}
    assert [t for t, _ in new.accepted] == [NOW, NOW + 2 * HOUR]


def test_stream_tokens_round_trip_in_aws_shape() -> None:
    token = stream_token("f", (NOW, 42))
    assert token.startswith("f/") and token.endswith("/s") and len(token) == 2 + 56 + 2
    assert parse_stream_token(token) == ("f", (NOW, 42))
    assert parse_stream_token(token.removesuffix("/s").replace("f/", "b/")) == ("b", (NOW, 42))
    assert event_id((NOW, 42)) == token[2:-2]
    for bad in ("x/123", "f/12", "f/" + "1" * 56 + "/x", ""):
        with pytest.raises(InvalidToken):
            parse_stream_token(bad)


def test_filter_tokens_round_trip() -> None:
    assert decode_filter(encode_filter((NOW, 7))) == (NOW, 7)
    with pytest.raises(InvalidToken):
        decode_filter("not-a-token")
