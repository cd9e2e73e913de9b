"""Parameter filters (`ParameterStringFilter`, and DescribeParameters' older `ParametersFilter`):
checked with Parameter Store's errors, then matched against a parameter's current version.

| key      | options                          | matches                               |
|----------|----------------------------------|---------------------------------------|
| Name     | Equals, BeginsWith, Contains     | the name (a leading `/` is optional)  |
| Path     | OneLevel (default), Recursive    | the hierarchy the name is under       |
| Type, KeyId, Tier, DataType | Equals, BeginsWith | the current version's value     |
| Label    | Equals                           | a label on the current version        |
| tag:Key  | Equals, BeginsWith               | the value of tag `Key`                |

GetParametersByPath takes Type, KeyId, Label and tag filters only; DescribeParameters every key
but Label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dockyard.core.errors import ValidationException
from dockyard.services.ssm.documents import Document, current, tags
from dockyard.services.ssm.errors import InvalidFilterKey, InvalidFilterOption, InvalidFilterValue

__all__ = ["check_filters", "matches", "matches_legacy"]

_BY_PATH_KEYS = ("Type", "KeyId", "Label")
_DESCRIBE_KEYS = ("Name", "Type", "KeyId", "Path", "Tier", "DataType")
_TYPES = ("String", "StringList", "SecureString")
_TIERS = ("Standard", "Advanced", "Intelligent-Tiering")


def _option(flt: dict[str, Any]) -> str:
    return str(flt.get("Option") or ("OneLevel" if flt["Key"] == "Path" else "Equals"))


def check_filters(filters: Sequence[dict[str, Any]], *, by_path: bool) -> None:
    allowed = _BY_PATH_KEYS if by_path else _DESCRIBE_KEYS
    seen: set[str] = set()
    for flt in filters:
        filter_key, values, option = str(flt["Key"]), [str(v) for v in flt.get("Values") or []], _option(flt)
        if filter_key not in allowed and not filter_key.startswith("tag:"):
            raise InvalidFilterKey(
                f"The following filter key is not valid: {filter_key}. "
                f"Valid filter keys include: [{', '.join(allowed)}]."
            )
        if filter_key in seen:
            raise InvalidFilterKey(
                f"The following filter is duplicated in the request: {filter_key}. "
                "A request can contain only one occurrence of a specific filter."
            )
        seen.add(filter_key)
        if not values:
            raise InvalidFilterValue(
                f"The following filter values are missing : null for filter key {filter_key}."
            )
        options = _options(filter_key)
        if option not in options:
            raise InvalidFilterOption(
                f"The following filter option is not valid: {option}. "
                f"Valid options include: [{', '.join(options)}]."
            )
        for value, valid in ((v, _valid_values(filter_key)) for v in values):
            if valid and value not in valid:
                raise InvalidFilterValue(
                    f"The following filter value is not valid: {value}. "
                    f"Valid values include: [{', '.join(valid)}]."
                )
        if filter_key == "Path" and any(not v.startswith("/") for v in values):
            raise ValidationException(
                "The parameter doesn't meet the parameter name requirements. The parameter name must begin "
                'with a forward slash "/".'
            )


def _options(filter_key: str) -> tuple[str, ...]:
    if filter_key == "Path":
        return ("Recursive", "OneLevel")
    if filter_key == "Name":
        return ("BeginsWith", "Equals", "Contains")
    if filter_key == "Label":
        return ("Equals",)
    return ("BeginsWith", "Equals")


def _valid_values(filter_key: str) -> tuple[str, ...]:
    return {"Type": _TYPES, "Tier": _TIERS}.get(filter_key, ())


def _slashed(name: str) -> str:
    return "/" + name.lstrip("/")


def _compare(option: str, have: str, values: Sequence[str]) -> bool:
    if option == "BeginsWith":
        return any(have.startswith(v) for v in values)
    if option == "Contains":
        return any(v in have for v in values)
    return have in values


def _under(name: str, path: str, recursive: bool) -> bool:
    prefix = path.rstrip("/") + "/"
    if path == "/" and recursive:
        return True
    if not name.startswith(prefix):
        return False
    return recursive or "/" not in name[len(prefix) :]


def matches(doc: Document, filters: Sequence[dict[str, Any]]) -> bool:
    entry = current(doc)
    for flt in filters:
        filter_key, values, option = str(flt["Key"]), [str(v) for v in flt["Values"]], _option(flt)
        name = str(doc["Name"])
        if filter_key == "Name":
            have, values = _slashed(name), [v if option == "Contains" else _slashed(v) for v in values]
            ok = _compare(option, have, values)
        elif filter_key == "Path":
            ok = any(_under(_slashed(name), v, option == "Recursive") for v in values)
        elif filter_key == "Label":
            ok = any(label in values for label in entry.get("Labels") or [])
        elif filter_key.startswith("tag:"):
            tag = next((t for t in tags(doc) if t["Key"] == filter_key[4:]), None)
            ok = tag is not None and _compare(option, tag["Value"], values)
        else:
            ok = _compare(option, str(entry.get(filter_key) or ""), values)
        if not ok:
            return False
    return True


def matches_legacy(doc: Document, filters: Sequence[dict[str, Any]]) -> bool:
    """DescribeParameters' `Filters` (Name begins with, Type and KeyId equal)."""
    entry = current(doc)
    for flt in filters:
        values = [str(v) for v in flt["Values"]]
        if flt["Key"] == "Name":
            ok = any(str(doc["Name"]).startswith(v) for v in values)
        else:
            ok = str(entry.get(str(flt["Key"])) or "") in values
        if not ok:
            return False
    return True
