"""Lifecycle policy documents: parse and validate the JSON text of PutLifecyclePolicy.

```
text --json--> {"rules": [...]} --schema checks (per rule)--> Rule --policy checks--> Policy
```

The schema checks answer with the messages ECR's JSON-schema validator gives ("object has missing
required properties ([...])", "instance value (x) not found in enum ...", "instance failed to match
exactly one schema (matched 0 out of 2)" when countUnit does not go with countType); the policy
checks with ECR's own sentences ("Only one rule can select Untagged images.", ...). Every message is
wrapped in ECR's "Invalid parameter at 'LifecyclePolicyText' ..." sentence by `PolicyError`.

Dockyard has one storage class, so the archive tier (action `transition`, `storageClass: archive`,
countType `sinceImageTransitioned`) is refused rather than accepted and ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_WILDCARDS", "Policy", "PolicyError", "Rule", "parse_policy"]

MAX_WILDCARDS = 4
_PREFIX = "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
_RULE_KEYS = ("rulePriority", "selection", "action")
_RULE_OPTIONAL = ("description",)
_SELECTION_KEYS = ("tagStatus", "countType", "countNumber")
_SELECTION_OPTIONAL = ("tagPatternList", "tagPrefixList", "countUnit", "storageClass")
_ACTION_OPTIONAL = ("targetStorageClass",)
_TAG_STATUS = ("any", "tagged", "untagged")
_COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled")
_NO_ARCHIVE = (
    "Dockyard keeps every image in the standard storage class: the archive tier "
    "(action transition, storageClass archive, countType sinceImageTransitioned) is not supported."
)


class PolicyError(ValueError):
    """A lifecycle policy ECR refuses; `str()` is the whole InvalidParameterException message."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{_PREFIX}'Lifecycle policy validation failure: {detail}'")
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Rule:
    priority: int
    tag_status: str  # tagged | untagged | any
    count_type: str  # imageCountMoreThan | sinceImagePushed | sinceImagePulled
    count_number: int
    tag_prefixes: tuple[str, ...] = ()
    tag_patterns: tuple[str, ...] = ()
    description: str = ""

    @property
    def by_age(self) -> bool:
        return self.count_type != "imageCountMoreThan"


@dataclass(frozen=True, slots=True)
class Policy:
    rules: tuple[Rule, ...]  # ascending rulePriority


def _missing(obj: dict[str, Any], required: tuple[str, ...]) -> None:
    missing = sorted(k for k in required if k not in obj)
    if missing:
        raise PolicyError(f"object has missing required properties ({json.dumps(missing)})")


def _extra(obj: dict[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(k for k in obj if k not in allowed)
    if extra:
        raise PolicyError(
            f"object instance has properties which are not allowed by the schema: ({json.dumps(extra)})"
        )


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PolicyError(
            f"instance type ({_json_type(value)}) does not match any allowed primitive type "
            '(allowed: ["object"])'
        )
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "object"


def _integer(value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(
            f"instance type ({_json_type(value)}) does not match any allowed primitive type "
            '(allowed: ["integer"])'
        )
    if value < minimum:
        raise PolicyError(
            f"numeric instance is lower than the required minimum (minimum: {minimum}, found: {value})"
        )
    return value


def _enum(value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        shown = value if isinstance(value, str) else json.dumps(value)
        raise PolicyError(
            f"instance value ({shown}) not found in enum (possible values: {json.dumps(sorted(allowed))})"
        )
    return str(value)


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise PolicyError(
            f"instance type ({_json_type(value)}) does not match any allowed primitive type "
            '(allowed: ["array"])'
        )
    if not value:
        raise PolicyError("array is too short: must have at least 1 elements but instance has 0 elements")
    for item in value:
        if not isinstance(item, str) or not item:
            raise PolicyError("Tag prefixes and patterns must be non-empty strings.")
    return tuple(value)


def _action(value: Any) -> None:
    action = _object(value)
    _missing(action, ("type",))
    if action["type"] == "transition" or "targetStorageClass" in action:
        raise PolicyError(_NO_ARCHIVE)
    _extra(action, ("type", *_ACTION_OPTIONAL))
    _enum(action["type"], ("expire",))


def _rule(value: Any) -> Rule:
    rule = _object(value)
    _missing(rule, _RULE_KEYS)
    _extra(rule, _RULE_KEYS + _RULE_OPTIONAL)
    priority = _integer(rule["rulePriority"], 1)
    description = rule.get("description", "")
    if not isinstance(description, str):
        raise PolicyError(
            f"instance type ({_json_type(description)}) does not match any allowed primitive type "
            '(allowed: ["string"])'
        )
    _action(rule["action"])
    selection = _object(rule["selection"])
    _missing(selection, _SELECTION_KEYS)
    _extra(selection, _SELECTION_KEYS + _SELECTION_OPTIONAL)
    if selection.get("storageClass", "standard") != "standard":
        raise PolicyError(_NO_ARCHIVE)
    if selection["countType"] == "sinceImageTransitioned":
        raise PolicyError(_NO_ARCHIVE)
    status = _enum(selection["tagStatus"], _TAG_STATUS)
    count_type = selection["countType"]
    unit = selection.get("countUnit")
    if count_type not in _COUNT_TYPES or (count_type == "imageCountMoreThan") == (unit is not None):
        raise PolicyError("instance failed to match exactly one schema (matched 0 out of 2)")
    if unit is not None:
        _enum(unit, ("days",))
    number = _integer(selection["countNumber"], 1)
    prefixes = _strings(selection["tagPrefixList"]) if "tagPrefixList" in selection else ()
    patterns = _strings(selection["tagPatternList"]) if "tagPatternList" in selection else ()
    if status == "tagged":
        if not prefixes and not patterns:
            raise PolicyError("Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.")
        if prefixes and patterns:
            raise PolicyError("tagPrefixList and tagPatternList cannot both be specified in one rule.")
    elif prefixes or patterns:
        raise PolicyError(
            "tagPrefixList and tagPatternList can only be specified when tagStatus=TAGGED "
            f"(rulePriority {priority} has tagStatus={status.upper()})."
        )
    for pattern in patterns:
        if pattern.count("*") > MAX_WILDCARDS:
            raise PolicyError(
                f"tagPatternList entry '{pattern}' has more than {MAX_WILDCARDS} wildcards (*)."
            )
    return Rule(priority, status, count_type, number, prefixes, patterns, description)


def _check_rules(rules: list[Rule]) -> None:
    seen: set[int] = set()
    for rule in rules:
        if rule.priority in seen:
            raise PolicyError(f"The rulePriority {rule.priority} is used by more than one rule.")
        seen.add(rule.priority)
    if sum(1 for r in rules if r.tag_status == "untagged") > 1:
        raise PolicyError("Only one rule can select Untagged images.")
    highest = max(r.priority for r in rules)
    if any(r.tag_status == "any" and r.priority != highest for r in rules):
        raise PolicyError("Rule for tagStatus=ANY must have the lowest priority.")
    selections: set[tuple[str, frozenset[str]]] = set()
    for rule in rules:
        if rule.tag_status != "tagged":
            continue
        selection = (
            "prefix" if rule.tag_prefixes else "pattern",
            frozenset(rule.tag_prefixes or rule.tag_patterns),
        )
        if selection in selections:
            raise PolicyError("The set of rules must contain a unique set of tag prefixes and patterns.")
        selections.add(selection)


def parse_policy(text: str) -> Policy:
    """The validated policy `text` describes, or `PolicyError` with ECR's message."""
    try:
        document = json.loads(text)
    except ValueError:
        raise PolicyError("Could not map policyString into LifecyclePolicy.") from None
    if not isinstance(document, dict):
        raise PolicyError("Could not map policyString into LifecyclePolicy.")
    _missing(document, ("rules",))
    _extra(document, ("rules",))
    raw = document["rules"]
    if not isinstance(raw, list):
        raise PolicyError(
            f"instance type ({_json_type(raw)}) does not match any allowed primitive type "
            '(allowed: ["array"])'
        )
    if not raw:
        raise PolicyError("array is too short: must have at least 1 elements but instance has 0 elements")
    rules = [_rule(r) for r in raw]
    _check_rules(rules)
    return Policy(tuple(sorted(rules, key=lambda r: r.priority)))
