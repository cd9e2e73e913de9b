"""The `awslogs` log driver's options, as ECS and Docker read them (no I/O).

```
awslogs-group                  required
awslogs-region                 the group's Region (default: the task's)
awslogs-stream-prefix          stream <prefix>/<container name>/<task id>; without it the
                               stream is the Docker container id (or awslogs-stream)
awslogs-create-group           "true": CreateLogGroup when the group is missing (default false)
awslogs-datetime-format        strftime: a line matching it starts a new event (multiline)
awslogs-multiline-pattern      regex: same, when no datetime format is given
awslogs-force-flush-interval-seconds   batch period (default 5)
awslogs-max-buffered-events    blocking mode: lines held before reading pauses (default 4096)
mode                           non-blocking (ECS's default since June 2025) | blocking
max-buffer-size                non-blocking: bytes held before lines are dropped (default 10m)
```
`awslogs-endpoint` and `awslogs-credentials-endpoint` are accepted and have no effect: the
agent ships to its own control plane with its own credentials. Bad options fail the container
at creation with Docker's words (`AwslogsOptionError`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["AwslogsConfig", "AwslogsOptionError", "awslogs_config", "parse_size", "strftime_regex"]

_KNOWN = {
    "awslogs-group",
    "awslogs-region",
    "awslogs-stream",
    "awslogs-stream-prefix",
    "awslogs-create-group",
    "awslogs-datetime-format",
    "awslogs-multiline-pattern",
    "awslogs-force-flush-interval-seconds",
    "awslogs-max-buffered-events",
    "awslogs-endpoint",
    "awslogs-credentials-endpoint",
    "awslogs-format",
    "tag",
    "mode",
    "max-buffer-size",
}

#: strftime directives and the expressions Docker's awslogs driver turns them into.
_STRFTIME = {
    "%a": r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)",
    "%A": r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)",
    "%w": r"[0-6]",
    "%d": r"(?:0[1-9]|[1,2][0-9]|3[0,1])",
    "%b": r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)",
    "%B": r"(?:January|February|March|April|May|June|July|August|September|October|November|December)",
    "%m": r"(?:0[1-9]|1[0-2])",
    "%Y": r"\d{4}",
    "%y": r"\d{2}",
    "%H": r"(?:[0,1][0-9]|2[0-3])",
    "%I": r"(?:0[0-9]|1[0-2])",
    "%p": r"[A,P]M",
    "%M": r"[0-5][0-9]",
    "%S": r"[0-5][0-9]",
    "%f": r"\d{6}",
    "%z": r"[+-]\d{4}",
    "%Z": r"[A-Z]{1,4}T",
    "%j": r"(?:0[0-9][1-9]|[1,2][0-9][0-9]|3[0-5][0-9]|36[0-6])",
    "%L": r"\.\d{3}",
}

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*", re.IGNORECASE)


class AwslogsOptionError(ValueError):
    """The options cannot be used; the message is Docker's (CannotCreateContainerError)."""


@dataclass(frozen=True, slots=True)
class AwslogsConfig:
    group: str
    region: str
    stream: str
    create_group: bool = False
    blocking: bool = False
    max_buffer_size: int = 10 * 1024 * 1024
    max_buffered_events: int = 4096
    flush_interval: float = 5.0
    multiline: re.Pattern[bytes] | None = None


def strftime_regex(text: str) -> str:
    """A datetime format as Docker's awslogs driver matches it (unknown directives vanish)."""
    return re.sub(r"%.", lambda m: _STRFTIME.get(m.group(0), ""), text)


def parse_size(text: str) -> int:
    """Docker's RAMInBytes: `10m`, `4k`, `1g`, `512`, `10MiB`..."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise AwslogsOptionError(f"error parsing option max-buffer-size: invalid size: '{text}'")
    unit = match.group(2).lower()
    scale = 1024 ** ("kmgtp".find(unit) + 1) if unit else 1
    return int(float(match.group(1)) * scale)


def _flag(options: Mapping[str, str], key: str) -> bool:
    value = options.get(key, "")
    if value == "":
        return False
    if value.lower() in ("1", "t", "true"):
        return True
    if value.lower() in ("0", "f", "false"):
        return False
    raise AwslogsOptionError(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def _multiline(options: Mapping[str, str]) -> re.Pattern[bytes] | None:
    datetime_format = options.get("awslogs-datetime-format", "")
    pattern = options.get("awslogs-multiline-pattern", "")
    if datetime_format and pattern:
        raise AwslogsOptionError(
            "you cannot configure log opt 'awslogs-datetime-format' and 'awslogs-multiline-pattern' "
            "at the same time"
        )
    if datetime_format:
        pattern = strftime_regex(datetime_format)
    if not pattern:
        return None
    try:
        return re.compile(pattern.encode())
    except re.error as exc:
        raise AwslogsOptionError(
            f"awslogs could not parse multiline pattern key {pattern!r}: {exc}"
        ) from None


def _positive(options: Mapping[str, str], key: str, default: float) -> float:
    raw = options.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise AwslogsOptionError(f"must specify a positive integer for log opt '{key}': {raw}") from None
    if value <= 0:
        raise AwslogsOptionError(f"must specify a positive integer for log opt '{key}': {raw}")
    return value


def awslogs_config(
    options: Mapping[str, str], *, container_name: str, task_id: str, container_id: str, region: str
) -> AwslogsConfig:
    """The settings of one container's awslogs logging; AwslogsOptionError when unusable."""
    for key in options:
        if key not in _KNOWN:
            raise AwslogsOptionError(f"unknown log opt '{key}' for awslogs log driver")
    mode = options.get("mode", "") or "non-blocking"
    if mode not in ("blocking", "non-blocking"):
        raise AwslogsOptionError(f"logger: logging mode not supported: {mode}")
    if "max-buffer-size" in options and mode != "non-blocking":
        raise AwslogsOptionError("logger: max-buffer-size option is only supported with 'mode=non-blocking'")
    group = options.get("awslogs-group", "")
    if not group:
        raise AwslogsOptionError("must specify a value for log opt 'awslogs-group'")
    prefix = options.get("awslogs-stream-prefix", "")
    if prefix:
        stream = f"{prefix}/{container_name}/{task_id}"
    else:
        stream = options.get("awslogs-stream", "") or container_id
    return AwslogsConfig(
        group=group,
        region=options.get("awslogs-region", "") or region,
        stream=stream,
        create_group=_flag(options, "awslogs-create-group"),
        blocking=mode == "blocking",
        max_buffer_size=parse_size(options["max-buffer-size"]) if "max-buffer-size" in options else 10 << 20,
        max_buffered_events=int(_positive(options, "awslogs-max-buffered-events", 4096)),
        flush_interval=_positive(options, "awslogs-force-flush-interval-seconds", 5.0),
        multiline=_multiline(options),
    )
