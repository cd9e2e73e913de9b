"""Filter patterns, table-driven: which messages each pattern matches, and which patterns AWS refuses.

Every case is checked twice: in Python (`FilterPattern.matches`) and through SQLite with the SQL
condition and predicate the event database uses, so both paths agree.
"""

from __future__ import annotations

import sqlite3

import pytest

from dockyard.services.logs.filter_pattern import InvalidFilterPattern, parse_filter_pattern

APACHE = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'
APACHE_OK = '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 200 5324'
JSON = (
    '{"eventType": "UpdateTrail", "sourceIPAddress": "111.111.111.111",'
    ' "arrayKey": ["value", "another value"],'
    ' "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}], "SomeObject": null, "ThisFlag": true,'
    ' "latency": 50, "user": {"id": 1, "email": "John.Stiles@example.com"},'
    ' "actions": ["GET", "PUT", "DELETE"], "coordinates": [[0, 1, 2], [4, 5, 6]]}'
)

CASES = [
    # (pattern, message, matches)
    ("", "anything", True),
    ("   ", "anything", True),
    ("ERROR", "[ERROR] A fatal exception has occurred", True),
    ("ERROR", "Exiting with ERRORCODE: -1", True),
    ("ERROR", "error in lower case", False),
    ("ERROR Exception", "[ERROR] Caught IllegalArgumentException", True),
    ("ERROR Exception", "[ERROR] Caught nothing", False),
    ('"Failed to process the request"', "[WARN] Failed to process the request", True),
    ('"Failed to process the request"', "[WARN] Failed to process this request", False),
    ("Failed to process the request", "request: the process Failed to ...", True),
    ("ERROR -Exiting", "Exiting with ERRORCODE: -1", False),
    ("ERROR -Exiting", "[ERROR] A fatal exception has occurred", True),
    ('"ERROR" - "Exiting"', "Exiting with ERRORCODE: -1", False),
    ("?ERROR ?WARN", "ERROR WARN message", True),
    ("?ERROR ?WARN", "WARN message", True),
    ("?ERROR ?WARN", "INFO message", False),
    ("ERROR WARN", "ERROR message", False),
    ("ERROR -WARN", "ERROR message", True),
    ("ERROR -WARN", "ERROR WARN message", False),
    ("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST", True),
    ("%^\\[SUCCESS%", "[SUCCESS 200] AUTHORIZED REQUEST", True),
    ("%[Ee]rror|[Ff]ail%", "it failed", True),
    ("%[Ee]rror|[Ff]ail%", "all good", False),
    ("ERROR %\\d{3}%", "ERROR 503", True),
    ("ERROR %\\d{3}%", "ERROR 50", False),
    # JSON patterns (AWS's documented examples)
    ('{ $.eventType = "UpdateTrail" }', JSON, True),
    ("{ $.eventType = UpdateTrail }", JSON, True),
    ('{ $.eventType = "DeleteTrail" }', JSON, False),
    ("{ $.sourceIPAddress != 123.123.* }", JSON, True),
    ("{ $.sourceIPAddress = 111.111.* }", JSON, True),
    ('{ $.arrayKey[0] = "value" }', JSON, True),
    ("{ $.objectList[1].id = 2 }", JSON, True),
    ("{ $.objectList[5].id = 2 }", JSON, False),
    ("{ $.SomeObject IS NULL }", JSON, True),
    ("{ $.SomeOtherObject NOT EXISTS }", JSON, True),
    ("{ $.eventType EXISTS }", JSON, True),
    ("{ $.ThisFlag IS TRUE }", JSON, True),
    ("{ $.ThisFlag IS FALSE }", JSON, False),
    ("{ $.latency >= 50 }", JSON, True),
    ("{ $.latency > 50 }", JSON, False),
    ("{ $.latency < 10e3 }", JSON, True),
    ("{ $.latency = 50 }", JSON, True),
    ("{ $.latency != 50 }", JSON, False),
    ("{ $.arrayKey = 1 }", JSON, False),  # an array is not a value
    ("{ $.arrayKey != 1 }", JSON, False),
    ("{ $.missing != 1 }", JSON, False),
    ('{ ($.user.id = 1) && ($.objectList[0].name = "a") }', JSON, True),
    ('{ ($.user.id = 2 && $.objectList[0].name = "a") || $.actions[2] = "GET" }', JSON, False),
    (
        '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = x }',
        JSON,
        True,
    ),
    (
        '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = 9) && $.actions[2] = x }',
        JSON,
        False,
    ),
    ("{ $.coordinates[1][2] = 6 }", JSON, True),
    ("{ $.eventType = *Trail }", JSON, True),
    ("{ $.eventType = Update* }", JSON, True),
    ("{ $.eventType = %^Upd% }", JSON, True),
    ("{ $.eventType = UpdateTrail }", "not json at all", False),
    ("{ $.eventType = UpdateTrail }", '["a", "b"]', False),
    # space-delimited patterns
    ("[ip, user, username, timestamp, request, status_code, bytes]", APACHE, True),
    ("[ip, user, username, timestamp, request, status_code]", APACHE, False),
    ("[..., status_code, bytes]", APACHE, True),
    ("[ip, user, ...]", APACHE, True),
    ("[ip, user, username, timestamp, request, status_code, bytes > 1000]", APACHE, True),
    ("[ip, user, username, timestamp, request, status_code, bytes > 2000]", APACHE, False),
    ("[ip, user, username, timestamp, request, status_code = 200, bytes]", APACHE_OK, True),
    ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", APACHE, True),
    ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", APACHE_OK, False),
    ("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", APACHE, True),
    ("[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]", APACHE, True),
    ("[..., request=*.html*, status_code=4*,]", APACHE, True),
    ('[ip, user = "-", ...]', APACHE, True),
    ("[w1 = ERROR || w1 = WARN, w2]", "WARN message", True),
    ("[w1 = ERROR || w1 = WARN, w2]", "INFO message", False),
    ("[w1 = ERROR, w2]", "ERROR WARN message", False),
    ("[w1, ..., last = message]", "ERROR WARN message", True),
    ("[w1, , w3 = message]", "ERROR WARN message", True),
    ("[w1, , w3 = message]", "ERROR message", False),
]


def _sqlite_matches(pattern: str, message: str) -> bool:
    condition = parse_filter_pattern(pattern).condition
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE events (message TEXT)")
    db.execute("INSERT INTO events VALUES (?)", (message,))
    rows = db.execute(f"SELECT message FROM events WHERE {condition.sql}", condition.params).fetchall()
    return bool(rows) and (condition.predicate is None or condition.predicate(rows[0][0]))


@pytest.mark.parametrize(("pattern", "message", "expected"), CASES)
def test_pattern_matches(pattern: str, message: str, expected: bool) -> None:
    assert parse_filter_pattern(pattern).matches(message) is expected
    assert _sqlite_matches(pattern, message) is expected


INVALID = [
    ("a@b", "Invalid filter pattern: Invalid character(s) in term 'a@b'"),
    ("/api/users", "Invalid filter pattern: Invalid character(s) in term '/api/users'"),
    ("!(foo)", "Invalid filter pattern: Invalid character(s) in term '!(foo)'"),
    ('""', "Invalid filter pattern: Invalid character(s) in term '\"\"'"),
    ('"unterminated', "Invalid filter pattern"),
    ("ERROR -", "Invalid filter pattern"),
    ("%(group)%", "Invalid filter pattern"),
    ("%%", "Invalid filter pattern"),
    ("{ $.a = 1", "Invalid filter pattern"),
    ("{ a = 1 }", "Invalid filter pattern"),
    ("{ $.a > abc }", "Invalid filter pattern"),
    ("{ $.a IS MAYBE }", "Invalid filter pattern"),
    ("{ $.a = 1 && }", "Invalid filter pattern"),
    ("{ $.a = 1 } extra", "Invalid filter pattern"),
    ("{ ($.a = 1 }", "Invalid filter pattern"),
    ("[a, b", "Invalid filter pattern"),
    ("[a, b = ]", "Invalid filter pattern"),
    ("[a, b > x]", "Invalid filter pattern"),
    ("[a b, c]", "Invalid filter pattern"),
    ("[]", "Invalid filter pattern"),
]


@pytest.mark.parametrize(("pattern", "message"), INVALID)
def test_invalid_patterns(pattern: str, message: str) -> None:
    with pytest.raises(InvalidFilterPattern) as raised:
        parse_filter_pattern(pattern)
    assert str(raised.value) == message


def test_term_patterns_are_decided_by_sqlite_alone() -> None:
    condition = parse_filter_pattern('ERROR -"health check" ?a ?b').condition
    assert condition.predicate is None
    assert condition.params == ("ERROR", "health check", "a", "b")
