"""Task secret references, parsed the way the ECS agent parses them (pure; no I/O).

- `valueFrom` without `arn:` is an SSM parameter name in the task's Region (`name:3` selects a
  version, `name:label` a label); `arn:aws:ssm:<region>:<account>:parameter/<name>` names one in
  any Region.
- `arn:aws:secretsmanager:...:secret:<name>-AbCdEf` is a whole Secrets Manager secret;
  `...:secret:<name>-AbCdEf:<json-key>:<version-stage>:<version-id>` picks a JSON key, a stage or a
  version, with empty fields kept (`...:username::`). The resource must split into exactly 2 or
  5 fields; a stage and a version id together are refused.
- `repositoryCredentials.credentialsParameter` is a Secrets Manager secret (ARN or name).

`go_format` writes a JSON value as Go's `%v` does, which is what ECS puts in the environment for a
non-string JSON key.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dockyard.agent.plan import TaskSpecError
from dockyard.core.arns import parse_arn

__all__ = [
    "ERROR_PREFIX",
    "PULL_ERROR",
    "RETRIEVAL",
    "AsmRef",
    "SecretRef",
    "SecretsUnavailable",
    "SsmRef",
    "check_definition",
    "credentials_ref",
    "go_format",
    "parse_value_from",
    "references",
    "registry_server",
]

PULL_ERROR = "unable to pull secrets or registry auth: "
ERROR_PREFIX = "ResourceInitializationError: " + PULL_ERROR
RETRIEVAL = "execution resource retrieval failed: "


class SecretsUnavailable(TaskSpecError):
    """A secret or registry credential could not be read. `reason` is the task's stoppedReason,
    `ResourceInitializationError: unable to pull secrets or registry auth: <cause>`."""

    def __init__(self, cause: str) -> None:
        super().__init__(PULL_ERROR + cause)
        self.cause = cause


@dataclass(frozen=True, slots=True)
class SsmRef:
    value_from: str
    region: str
    names: tuple[str, ...]  # the parameter names the reference can mean (an ARN: `x` or `/x`)
    selector: str = ""  # ":3" or ":label", as GetParameters reports it


@dataclass(frozen=True, slots=True)
class AsmRef:
    value_from: str
    region: str
    secret_id: str
    json_key: str = ""
    version_stage: str = ""
    version_id: str = ""


SecretRef = SsmRef | AsmRef


def parse_value_from(value_from: str, region: str) -> SecretRef:
    """What a `valueFrom` points at. Raises `SecretsUnavailable` for a malformed one."""
    if not value_from.startswith("arn:"):
        name, _, selector = value_from.partition(":")
        return SsmRef(value_from, region, (name,), f":{selector}" if selector else "")
    parsed = parse_arn(value_from)
    if parsed is not None and parsed.service == "ssm" and parsed.resource.startswith("parameter/"):
        rest, _, selector = parsed.resource[len("parameter") :].partition(":")
        names = (rest,) if rest.count("/") > 1 else (rest[1:], rest)
        return SsmRef(value_from, parsed.region, names, f":{selector}" if selector else "")
    if parsed is not None and parsed.service == "secretsmanager":
        fields = parsed.resource.split(":")
        if len(fields) == 2 and fields[0] == "secret" and fields[1]:
            return AsmRef(value_from, parsed.region, value_from)
        if len(fields) == 5 and fields[0] == "secret" and fields[1]:
            secret_id = value_from.rsplit(":", 3)[0]
            _, _, json_key, stage, version_id = fields
            if stage and version_id:
                raise SecretsUnavailable(
                    f"{RETRIEVAL}invalid secret {value_from}: "
                    "a version stage and a version id cannot be used together"
                )
            return AsmRef(value_from, parsed.region, secret_id, json_key, stage, version_id)
        raise SecretsUnavailable(
            f"{RETRIEVAL}trying to retrieve secret with value {value_from} resulted in error: an invalid ARN "
            "format for the AWS Secrets Manager secret was specified. Specify a valid ARN and try again."
        )
    raise SecretsUnavailable(
        f"{RETRIEVAL}unsupported secret source {value_from}: "
        "expected an SSM parameter name or ARN, or a Secrets Manager secret ARN"
    )


def references(definition: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield from definition.get("secrets") or []
    yield from (definition.get("logConfiguration") or {}).get("secretOptions") or []


def check_definition(definition: Mapping[str, Any], region: str) -> None:
    """Parse every reference of a container definition (the planner's check, before any I/O)."""
    for secret in references(definition):
        parse_value_from(str(secret.get("valueFrom", "")), region)
    credentials = (definition.get("repositoryCredentials") or {}).get("credentialsParameter")
    if credentials is not None:
        credentials_ref(str(credentials), region)


def credentials_ref(value: str, region: str) -> AsmRef:
    """repositoryCredentials.credentialsParameter: a Secrets Manager secret ARN (or name)."""
    if not value.startswith("arn:"):
        return AsmRef(value, region, value)
    ref = parse_value_from(value, region)
    if not isinstance(ref, AsmRef) or ref.json_key or ref.version_stage or ref.version_id:
        raise SecretsUnavailable(
            f"{RETRIEVAL}invalid private registry credentials parameter {value}: "
            "expected the ARN of a Secrets Manager secret"
        )
    return ref


def registry_server(image: str) -> str:
    """The registry host of an image reference ("" for Docker Hub)."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return ""


def go_format(value: Any) -> str:
    """A decoded JSON value as Go's `fmt.Sprintf("%v", v)` writes it (what ECS puts in the
    environment for a non-string JSON key)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return _go_float(float(value))
    if isinstance(value, list):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def _go_float(number: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64): the shortest digits, %e below 1e-4 or from 1e6 on."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(str(d) for d in digit_tuple)
    point = len(digits) + int(exponent)  # digits before the decimal point
    exp = point - 1
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"
