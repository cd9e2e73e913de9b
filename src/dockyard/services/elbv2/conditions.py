"""Rule conditions: AWS's checks and limits, and the form DescribeRules returns them in (pure).

| Field               | config member           | values                                       |
|---------------------|-------------------------|----------------------------------------------|
| host-header         | HostHeaderConfig        | A-Z a-z 0-9 - . * ?; at least one '.', only  |
|                     | (or legacy Values, 1)   | letters after the last '.' (wildcards aside) |
| path-pattern        | PathPatternConfig       | A-Z a-z 0-9 _ - . $ / ~ " ' @ : + & * ?      |
|                     | (or legacy Values, 1)   |                                              |
| http-header         | HttpHeaderConfig        | name: a header token (not Host), <= 40        |
| query-string        | QueryStringConfig       | [{Key?, Value}]                              |
| http-request-method | HttpRequestMethodConfig | A-Z - _, <= 40                               |
| source-ip           | SourceIpConfig          | CIDR blocks (IPv4 or IPv6)                   |

Limits: every value <= 128 characters; at most 3 values per condition (5 for source-ip), 5 per
rule and 5 wildcards per rule; one each of host-header, path-pattern, http-request-method and
source-ip per rule. host-header and path-pattern come back with both `Values` and their config.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from dockyard.services.elbv2.errors import ValidationError

__all__ = ["check_conditions", "FIELDS"]

FIELDS = ("path-pattern", "host-header", "http-header", "http-request-method", "query-string", "source-ip")
_CONFIG = {
    "host-header": "HostHeaderConfig",
    "path-pattern": "PathPatternConfig",
    "http-header": "HttpHeaderConfig",
    "query-string": "QueryStringConfig",
    "http-request-method": "HttpRequestMethodConfig",
    "source-ip": "SourceIpConfig",
}
_LEGACY = ("host-header", "path-pattern")
_ONCE = ("host-header", "path-pattern", "http-request-method", "source-ip")
_HOST = re.compile(r"^[A-Za-z0-9\-.*?]+$")
_PATH = re.compile(r"^[A-Za-z0-9_\-.$/~\"'@:+&*?]+$")
_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")
_METHOD = re.compile(r"^[A-Z_\-]+$")
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")
_WILDCARD = re.compile(r"(?<!\\)[*?]")


def _too_long(field: str, value: str, limit: int = 128) -> None:
    if len(value) > limit:
        raise ValidationError(f"The '{field}' value is too long; the limit is '{limit}'")


def _host(value: str) -> None:
    _too_long("host-header", value)
    if not _HOST.match(value):
        raise ValidationError(
            f"The 'host-header' value '{value}' contains characters that are not allowed; "
            "allowed characters are A-Z, a-z, 0-9, '-', '.', '*' and '?'"
        )
    if "." not in value:
        raise ValidationError(f"The 'host-header' value '{value}' must include at least one '.' character")
    if not re.match(r"^[A-Za-z*?]+$", value.rsplit(".", 1)[1]):
        raise ValidationError(f"The 'host-header' value '{value}' can only have letters after the final '.'")


def _path(value: str) -> None:
    _too_long("path-pattern", value)
    if not _PATH.match(value):
        raise ValidationError(f"The 'path-pattern' value '{value}' contains characters that are not allowed")


def _values(condition: dict[str, Any], field: str) -> list[str]:
    """Values of a host-header or path-pattern condition, legacy or config form."""
    config = condition.get(_CONFIG[field])
    legacy = condition.get("Values")
    if legacy is not None and config is not None:
        raise ValidationError(
            f"You cannot provide both Values and '{_CONFIG[field]}' for a condition of type '{field}'"
        )
    if legacy is not None:
        if len(legacy) > 1:
            raise ValidationError(f"The '{field}' field contains too many values; the limit is '1'")
        return list(legacy)
    return list((config or {}).get("Values") or [])


def _one(condition: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """One condition checked and normalized, and the values that count toward the rule's limits."""
    field = condition.get("Field")
    if not field:
        raise ValidationError("A condition field must be specified")
    if field not in FIELDS:
        raise ValidationError(f"Condition field '{field}' must be one of '[{','.join(FIELDS)}]'")
    for other, member in _CONFIG.items():
        if other != field and condition.get(member) is not None:
            raise ValidationError(f"A '{member}' cannot be specified for a condition of type '{field}'")
    if condition.get("RegexValues") is not None or (condition.get(_CONFIG[field]) or {}).get("RegexValues"):
        raise ValidationError(
            "Regular expression condition values are not supported by Dockyard's load balancers"
        )
    if field not in _LEGACY and condition.get("Values") is not None:
        raise ValidationError(f"The 'Values' field is not compatible with '{field}'")
    if field not in _LEGACY and condition.get(_CONFIG[field]) is None:
        raise ValidationError(f"A '{_CONFIG[field]}' must be specified with '{field}'")
    config = condition.get(_CONFIG[field]) or {}
    out: dict[str, Any] = {"Field": field}
    if field in _LEGACY:
        values = _values(condition, field)
        counted = values
    elif field == "query-string":
        pairs = list(config.get("Values") or [])
        values = []
        for pair in pairs:
            if not pair.get("Value"):
                raise ValidationError("A 'Value' must be specified in 'QueryStringKeyValuePair'")
            for part in ("Key", "Value"):
                text = pair.get(part)
                if text is not None:
                    if len(text) > 128:
                        raise ValidationError(f"The '{part}' value is too long; the limit is '128'")
                    if not _PRINTABLE.match(text):
                        raise ValidationError(
                            f"The query-string {part.lower()} '{text}' must be printable ASCII"
                        )
        counted = [f"{p.get('Key') or ''}={p['Value']}" for p in pairs]
        out["QueryStringConfig"] = {
            "Values": [{k: p[k] for k in ("Key", "Value") if p.get(k) is not None} for p in pairs]
        }
    else:
        values = list(config.get("Values") or [])
        counted = values
    if not counted:
        raise ValidationError("A condition value must be specified")
    limit = 5 if field == "source-ip" else 3
    if len(counted) > limit:
        raise ValidationError(f"The '{field}' condition can have at most '{limit}' values")
    if field == "host-header":
        for value in values:
            _host(value)
        out["Values"], out["HostHeaderConfig"] = values, {"Values": values}
    elif field == "path-pattern":
        for value in values:
            _path(value)
        out["Values"], out["PathPatternConfig"] = values, {"Values": values}
    elif field == "http-header":
        name = config.get("HttpHeaderName")
        if not name:
            raise ValidationError("A 'HttpHeaderName' must be specified with 'http-header'")
        _too_long("HttpHeaderName", name, 40)
        if not _TOKEN.match(name):
            raise ValidationError(f"The 'HttpHeaderName' value '{name}' is not a valid HTTP header name")
        if name.lower() == "host":
            raise ValidationError("The 'HttpHeaderName' cannot be 'Host'; use a 'host-header' condition")
        for value in values:
            _too_long("http-header", value)
            if not _PRINTABLE.match(value):
                raise ValidationError(f"The 'http-header' value '{value}' must be printable ASCII")
        out["HttpHeaderConfig"] = {"HttpHeaderName": name, "Values": values}
    elif field == "http-request-method":
        for value in values:
            _too_long("http-request-method", value, 40)
            if not _METHOD.match(value):
                raise ValidationError(
                    "The 'http-request-method' value is invalid; "
                    "the allowed characters are A-Z, hyphen and underscore"
                )
        out["HttpRequestMethodConfig"] = {"Values": values}
    elif field == "source-ip":
        for value in values:
            try:
                if "/" not in value:
                    raise ValueError(value)
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValidationError(f"The 'source-ip' value '{value}' is not a valid CIDR block") from None
        out["SourceIpConfig"] = {"Values": values}
    wildcards = [] if field in ("http-request-method", "source-ip") else counted
    return out, wildcards


def check_conditions(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rule's conditions checked against AWS's rules and limits, as DescribeRules shows them."""
    if not conditions:
        raise ValidationError("A rule must have at least one condition")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    values = 0
    wildcards = 0
    for condition in conditions:
        checked, matchable = _one(condition)
        field = checked["Field"]
        if field in _ONCE and field in seen:
            raise ValidationError(f"A rule can only have one '{field}' condition")
        seen.add(field)
        values += len(_counted(checked))
        wildcards += sum(len(_WILDCARD.findall(v)) for v in matchable)
        out.append(checked)
    if values > 5:
        raise ValidationError("A rule can only have '5' condition values")
    if wildcards > 5:
        raise ValidationError("A rule can only have '5' wildcards")
    return out


def _counted(condition: dict[str, Any]) -> list[Any]:
    config = condition[_CONFIG[condition["Field"]]]
    return list(config.get("Values") or [])
