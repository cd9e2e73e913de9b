"""Parameter names, ARNs and references (pure; no I/O).

- A name is letters, digits and `_.-`; a hierarchical name starts with `/` and has at most 15
  levels (`/prod/db/password`). Names may not start with `aws` or `ssm` (any case).
- The ARN of `/prod/db/password` is `arn:aws:ssm:<region>:<account>:parameter/prod/db/password`,
  of `password` it is `...:parameter/password`.
- A reference (GetParameter's Name) is a name or ARN, optionally with a selector: `name:3` (a
  version) or `name:label`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.core.arns import arn, parse_arn
from dockyard.core.errors import AccessDeniedException, ValidationException
from dockyard.services.ssm.errors import HierarchyLevelLimitExceededException

__all__ = ["Reference", "check_name", "check_path", "parameter_arn", "parse_reference"]

MAX_LEVELS = 15
_CHARS = re.compile(r"[A-Za-z0-9_./-]+")
_PATH_RULES = (
    'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can '
    "consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, "
    "numbers and the following 3 symbols .-_"
)
_PREFIX = 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).'
_NOT_QUALIFIED = "Parameter name must be a fully qualified name."
_TOO_DEEP = (
    "A hierarchy can have a maximum of 15 levels. For more information, see Requirements and "
    "constraints for parameter names in the AWS Systems Manager User Guide."
)
_BAD_PATH = (
    "The parameter doesn't meet the parameter name requirements. The parameter name must begin "
    'with a forward slash "/". It can\'t be prefixed with "aws" or "ssm" (case-insensitive). It '
    "must use only letters, numbers, or the following symbols: . (period), - (hyphen), "
    "_ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the "
    'forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.'
)


@dataclass(frozen=True, slots=True)
class Reference:
    """What a GetParameter-style Name points at: candidate names (an ARN of a top-level name can
    mean `name` or `/name`) and the selector, if any."""

    names: tuple[str, ...]
    version: int | None = None
    label: str | None = None

    @property
    def selector(self) -> str | None:
        if self.version is not None:
            return f":{self.version}"
        if self.label is not None:
            return f":{self.label}"
        return None


def parameter_arn(region: str, account_id: str, name: str) -> str:
    return arn("ssm", region, account_id, f"parameter/{name.lstrip('/')}")


def check_name(name: str) -> None:
    """Raise SSM's error when `name` may not be created."""
    hierarchical = name.startswith("/")
    if not _CHARS.fullmatch(name) or "//" in name or (hierarchical and name.endswith("/")):
        raise ValidationException(_PATH_RULES)
    if "/" in name and not hierarchical:
        raise ValidationException(_NOT_QUALIFIED)
    lowered = name.lower()
    if hierarchical and (lowered == "/aws" or lowered.startswith("/aws/")):
        raise AccessDeniedException(f"No access to reserved parameter name: {name}.")
    if lowered.lstrip("/").startswith(("aws", "ssm")):
        raise ValidationException(_PATH_RULES if name.count("/") > 1 else _PREFIX)
    if name.count("/") > MAX_LEVELS:
        raise HierarchyLevelLimitExceededException(_TOO_DEEP)


def check_path(path: str) -> None:
    """GetParametersByPath's Path: `/` or a hierarchy such as `/prod/db` (a trailing `/` is fine)."""
    if path == "/":
        return
    trimmed = path[:-1] if path.endswith("/") else path
    if not path.startswith("/") or "//" in path or not _CHARS.fullmatch(trimmed):
        raise ValidationException(_BAD_PATH)
    if trimmed.lower().lstrip("/").startswith(("aws", "ssm")):
        raise ValidationException(_BAD_PATH)


def parse_reference(value: str, *, region: str, account_id: str) -> Reference | None:
    """The parameter `value` names (name or ARN, with an optional `:version` / `:label`), or None
    when it is an ARN that cannot name a parameter of this account and Region. A malformed name
    is SSM's ValidationException."""
    if value.startswith("arn:"):
        parsed = parse_arn(value)
        if (
            parsed is None
            or parsed.service != "ssm"
            or parsed.region != region
            or parsed.account_id != account_id
            or not parsed.resource.startswith("parameter/")
        ):
            return None
        rest = parsed.resource[len("parameter") :]  # "/prod/db:3" or "/password"
        name, _, selector = rest.partition(":")
        names = (name,) if name.count("/") > 1 else (name[1:], name)
    else:
        name, _, selector = value.partition(":")
        names = (name,)
    if ":" in selector or not name or not all(_CHARS.fullmatch(n) for n in names if n):
        if value.startswith("arn:"):
            return None
        raise ValidationException(_PATH_RULES)
    if not selector:
        return Reference(names)
    if selector.isdigit():
        return Reference(names, version=int(selector))
    return Reference(names, label=selector)
