"""Input validation against botocore shapes, with the messages AWS's front end sends.

A value of the wrong JSON type is a `SerializationException`; a well-typed value that breaks a
constraint (required, enum, length, range, pattern) is collected, and all of them are reported
together in one `ValidationException`, worded as AWS words it:

    2 validation errors detected: Value null at 'family' failed to satisfy constraint: Member must
    not be null; Value 'x' at 'networkMode' failed to satisfy constraint: Member must satisfy enum
    value set: [bridge, host, awsvpc, none]

Member paths are camelCase whatever the model's spelling ('secretString' for SecretString), and
the value of a member the model marks sensitive is left out ("Value at 'secretString' ..."), as
AWS writes them.

Members the shape does not know are dropped, as AWS ignores them. The result is a clean copy:
timestamps become epoch floats and blobs become bytes.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import datetime
from functools import lru_cache
from typing import Any

from botocore.model import Shape

from dockyard.core.errors import SerializationException, ValidationException

__all__ = ["validate"]


def validate(shape: Shape | None, value: Any) -> dict[str, Any]:
    if shape is None:
        return {}
    if not isinstance(value, dict):
        raise SerializationException(_type_message(value, "structure"))
    errors: list[str] = []
    result = _structure(shape, value, "", errors)
    if errors:
        count = len(errors)
        noun = "error" if count == 1 else "errors"
        raise ValidationException(f"{count} validation {noun} detected: " + "; ".join(errors))
    return result


def _render(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "'true'" if value else "'false'"
    if isinstance(value, (list, dict)):
        return f"'{_java_str(value)}'"
    return f"'{value}'"


def _java_str(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_java_str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_str(v)}" for k, v in value.items()) + "}"
    return str(value)


_SPECIAL_FLOATS = ("NaN", "Infinity", "-Infinity")
_HIDDEN = object()  # stands for a sensitive member's value, which messages leave out


def _fail(errors: list[str], path: str, value: Any, constraint: str) -> None:
    shown = "" if value is _HIDDEN else f" {_render(value)}"
    errors.append(f"Value{shown} at '{path}' failed to satisfy constraint: Member must {constraint}")


_JSON_KIND = {dict: "Start of structure or map", list: "Start of list"}


def _type_message(value: Any, expected: str) -> str:
    for kind, text in _JSON_KIND.items():
        if isinstance(value, kind):
            return f"{text} found where not expected"
    if isinstance(value, bool):
        found = "TRUE_VALUE" if value else "FALSE_VALUE"
    elif isinstance(value, (int, float)):
        found = "NUMBER_VALUE"
    elif isinstance(value, str):
        found = "STRING_VALUE"
    else:
        found = "VALUE"
    article = "an" if expected[0] in "aeiouAEIOU" else "a"
    return f"{found} can not be converted to {article} {expected[0].upper()}{expected[1:]}"


def _join(path: str, name: str) -> str:
    name = name[:1].lower() + name[1:]  # AWS names members in camelCase: 'secretString'
    return f"{path}.{name}" if path else name


def _structure(shape: Shape, value: dict[str, Any], path: str, errors: list[str]) -> dict[str, Any]:
    members = shape.members
    out: dict[str, Any] = {}
    for name in shape.required_members:
        if value.get(name) is None:
            _fail(errors, _join(path, name), None, "not be null")
    for name, raw in value.items():
        member = members.get(name)
        if member is None or raw is None:
            continue
        out[name] = _value(member, raw, _join(path, name), errors)
    return out


def _value(shape: Shape, value: Any, path: str, errors: list[str]) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise SerializationException(_type_message(value, "structure"))
        return _structure(shape, value, path, errors)
    if kind == "list":
        if not isinstance(value, list):
            raise SerializationException(_type_message(value, "list"))
        _length(shape, value, path, errors)
        return [_value(shape.member, item, f"{path}.{i + 1}.member", errors) for i, item in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise SerializationException(_type_message(value, "map"))
        _length(shape, value, path, errors)
        return {
            _value(shape.key, k, f"{path}.{k}.key", errors): _value(
                shape.value, v, f"{path}.{k}.value", errors
            )
            for k, v in value.items()
            if v is not None
        }
    if kind == "string":
        if not isinstance(value, str):
            raise SerializationException(_type_message(value, "string"))
        shown = _HIDDEN if shape.metadata.get("sensitive") else value
        enum = shape.enum
        if enum and value not in enum:
            _fail(errors, path, shown, f"satisfy enum value set: [{', '.join(enum)}]")
        _length(shape, value, path, errors, shown=shown)
        pattern = shape.metadata.get("pattern")
        if pattern and not _matches(pattern, value):
            _fail(errors, path, shown, f"satisfy regular expression pattern: {pattern}")
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SerializationException(_type_message(value, kind))
        if isinstance(value, float):
            if not math.isfinite(value):
                raise SerializationException(_type_message(str(value), kind))
            value = int(value)
        _range(shape, value, path, errors)
        return value
    if kind in ("float", "double"):
        if isinstance(value, str) and value in _SPECIAL_FLOATS:
            return float(value)  # awsJson spells NaN and the infinities as strings
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SerializationException(_type_message(value, kind))
        _range(shape, value, path, errors)
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise SerializationException(_type_message(value, "boolean"))
        return value
    if kind == "timestamp":
        return _timestamp(value)
    if kind == "blob":
        if isinstance(value, bytes):
            return value
        if not isinstance(value, str):
            raise SerializationException(_type_message(value, "blob"))
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise SerializationException("Base64 encoded binary data is invalid") from exc
    return value


def _timestamp(value: Any) -> float:
    if isinstance(value, bool):
        raise SerializationException(_type_message(value, "timestamp"))
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            try:
                return float(value)
            except ValueError as exc:
                raise SerializationException(f"Unable to parse timestamp '{value}'") from exc
    raise SerializationException(_type_message(value, "timestamp"))


def _length(shape: Shape, value: Any, path: str, errors: list[str], *, shown: Any = None) -> None:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    size = len(value)
    shown = value if shown is None else shown
    if low is not None and size < low:
        _fail(errors, path, shown, f"have length greater than or equal to {low}")
    elif high is not None and size > high:
        _fail(errors, path, shown, f"have length less than or equal to {high}")


def _range(shape: Shape, value: float, path: str, errors: list[str]) -> None:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and value < low:
        _fail(errors, path, value, f"have value greater than or equal to {low}")
    elif high is not None and value > high:
        _fail(errors, path, value, f"have value less than or equal to {high}")


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


def _matches(pattern: str, value: str) -> bool:
    compiled = _compiled(pattern)
    # A Java-only construct Python cannot compile is not held against the caller.
    return compiled is None or compiled.fullmatch(value) is not None
