"""The ECS agent configuration an instance's user data writes to /etc/ecs/ecs.config.

ECS-optimized AMIs are pointed at a cluster by user data such as

    #!/bin/bash
    echo ECS_CLUSTER=my-cluster >> /etc/ecs/ecs.config

or a heredoc / cloud-init `write_files` with `ECS_CLUSTER=my-cluster` lines. `ecs_config` finds every
`ECS_NAME=value` assignment in the (base64, optionally gzipped) user data, later ones winning as in
the file, so the instance's agent can be started with the same settings.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re

__all__ = ["ecs_config", "instance_attributes"]

_ASSIGNMENT = re.compile(r"(?<![A-Za-z0-9_])(ECS_[A-Z0-9_]+)=")


def _text(user_data: str) -> str:
    try:
        raw = base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError):
        return ""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except OSError:
            return ""
    return raw.decode("utf-8", errors="replace")


def _value(line: str, start: int, quote: str | None) -> str:
    if quote is None and start < len(line) and line[start] in "\"'":
        quote, start = line[start], start + 1
    if quote is not None:
        end = line.find(quote, start)
        return line[start:] if end < 0 else line[start:end]
    match = re.match(r"[^\s>]*", line[start:])
    return match.group(0) if match else ""


def ecs_config(user_data: str) -> dict[str, str]:
    """`ECS_*` settings from base64 user data (empty when there are none or it is not base64)."""
    config: dict[str, str] = {}
    for line in _text(user_data).splitlines():
        for match in _ASSIGNMENT.finditer(line):
            before = line[match.start() - 1] if match.start() > 0 else ""
            quote = before if before and before in "\"'" else None
            config[match.group(1)] = _value(line, match.end(), quote)
    return config


def instance_attributes(config: dict[str, str]) -> dict[str, str]:
    """`ECS_INSTANCE_ATTRIBUTES={"stack": "prod"}` as a dict (empty when absent or not JSON)."""
    try:
        value = json.loads(config.get("ECS_INSTANCE_ATTRIBUTES", "{}"))
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}
