"""Names, ARNs and fixed value sets of CloudWatch Logs (no I/O).

```
log group ARN   arn:aws:logs:<region>:<account>:log-group:<name>:*      (DescribeLogGroups `arn`)
                arn:aws:logs:<region>:<account>:log-group:<name>        (`logGroupArn`, tagging)
log stream ARN  arn:aws:logs:<region>:<account>:log-group:<group>:log-stream:<stream>
```
"""

from __future__ import annotations

from dockyard.core.arns import arn, parse_arn

__all__ = [
    "RETENTION_DAYS",
    "group_arn",
    "group_name_from_arn",
    "reserved_group_name",
    "retention_message",
    "stream_arn",
]

#: The retention periods PutRetentionPolicy accepts, in days.
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip


def group_arn(region: str, account: str, name: str, *, wildcard: bool) -> str:
    resource = f"log-group:{name}:*" if wildcard else f"log-group:{name}"
    return arn("logs", region, account, resource)


def stream_arn(region: str, account: str, group: str, stream: str) -> str:
    return arn("logs", region, account, f"log-group:{group}:log-stream:{stream}")


def group_name_from_arn(value: str, *, region: str, account: str) -> str | None:
    """The group a log group ARN (with or without `:*`) names in this account and Region."""
    parsed = parse_arn(value)
    if parsed is None or parsed.service != "logs" or not parsed.resource.startswith("log-group:"):
        return None
    if parsed.region != region or parsed.account_id != account:
        return None
    name = parsed.resource.removeprefix("log-group:").removesuffix(":*")
    return name or None


def reserved_group_name(name: str) -> bool:
    """Names starting with `aws/` (any case) belong to AWS services."""
    return name.lower().startswith("aws/")


def retention_message(days: int) -> str:
    allowed = ", ".join(str(d) for d in RETENTION_DAYS)
    return (
        f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy "
        f"constraint: Member must satisfy enum value set: [{allowed}]"
    )
