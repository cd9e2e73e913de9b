"""Amazon Resource Names: building and taking apart.

ECS accepts either a short name/id or a full ARN wherever it names a resource; `resource_name`
gives the last path segment for both, so handlers accept either form the way ECS does.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Arn", "arn", "parse_arn", "resource_name", "is_arn"]


@dataclass(frozen=True, slots=True)
class Arn:
    partition: str
    service: str
    region: str
    account_id: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account_id}:{self.resource}"

    @property
    def resource_type(self) -> str:
        return self.resource.split("/", 1)[0].split(":", 1)[0]

    @property
    def resource_path(self) -> str:
        """Everything after the resource type: `cluster/x` -> `x`, `task/c/id` -> `c/id`."""
        sep = "/" if "/" in self.resource else ":"
        return self.resource.split(sep, 1)[1] if sep in self.resource else ""


def arn(service: str, region: str, account_id: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account_id}:{resource}"


def is_arn(value: str) -> bool:
    return value.startswith("arn:")


def parse_arn(value: str) -> Arn | None:
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2] or not parts[5]:
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def resource_name(value: str) -> str:
    """The last `/` segment of an ARN's resource, or the value itself when it is not an ARN."""
    if not is_arn(value):
        return value
    parsed = parse_arn(value)
    if parsed is None:
        return value
    return parsed.resource.rsplit("/", 1)[-1]
