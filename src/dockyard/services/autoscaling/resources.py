"""Store kinds, keys, ARNs and lookups shared by the Auto Scaling handlers and controller.

| kind                              | name                          | document                        |
|-----------------------------------|-------------------------------|---------------------------------|
| autoscaling:group                 | group name                    | AutoScalingGroup (+ dockyard)   |
| autoscaling:instance              | instance id (label `group`)   | AutoScalingInstanceDetails      |
| autoscaling:launch-configuration  | name                          | LaunchConfiguration             |
| autoscaling:activity              | group/<newest first>/<id>     | Activity (label `group`)        |

Activity names sort newest first, so a group's history is one prefix listing.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.services.autoscaling.deps import AutoScaling
from dockyard.services.autoscaling.errors import InvalidNextToken, ValidationError
from dockyard.store import Key, Versioned

__all__ = [
    "GROUP",
    "MEMBER",
    "LAUNCH_CONFIGURATION",
    "ACTIVITY",
    "GROUP_TAG",
    "key",
    "group_arn",
    "launch_configuration_arn",
    "get_group",
    "require_group",
    "group_not_found",
    "members",
    "activity_name",
    "page",
]

GROUP = "autoscaling:group"
MEMBER = "autoscaling:instance"
LAUNCH_CONFIGURATION = "autoscaling:launch-configuration"
ACTIVITY = "autoscaling:activity"
# The tag Auto Scaling puts on every instance it launches.
GROUP_TAG = "aws:autoscaling:groupName"


def key(ctx: RequestContext, kind: str, name: str) -> Key:
    return Key(ctx.account_id, ctx.region, kind, name)


def group_arn(ctx: RequestContext, uuid: str, name: str) -> str:
    return (
        f"arn:aws:autoscaling:{ctx.region}:{ctx.account_id}:autoScalingGroup:{uuid}"
        f":autoScalingGroupName/{name}"
    )


def launch_configuration_arn(ctx: RequestContext, uuid: str, name: str) -> str:
    return (
        f"arn:aws:autoscaling:{ctx.region}:{ctx.account_id}:launchConfiguration:{uuid}"
        f":launchConfigurationName/{name}"
    )


def group_not_found(name: str) -> ValidationError:
    return ValidationError(f"AutoScalingGroup name not found - AutoScalingGroup {name} not found")


def _name(value: str) -> str:
    """A group named by name or by ARN (`...:autoScalingGroupName/<name>`)."""
    marker = ":autoScalingGroupName/"
    return value.split(marker, 1)[1] if value.startswith("arn:") and marker in value else value


async def get_group(scaling: AutoScaling, ctx: RequestContext, name: str) -> Versioned | None:
    return await scaling.store.get(key(ctx, GROUP, _name(name)))


async def require_group(scaling: AutoScaling, ctx: RequestContext, name: str) -> Versioned:
    found = await get_group(scaling, ctx, name)
    if found is None:
        raise group_not_found(_name(name))
    return found


async def members(scaling: AutoScaling, ctx: RequestContext, group: str) -> list[Versioned]:
    return await scaling.store.find(MEMBER, "group", group, account_id=ctx.account_id, region=ctx.region)


def activity_name(group: str, start: float, activity_id: str) -> str:
    """Sorted newest first: the start time counted down from the year 2286."""
    return f"{group}/{10_000_000_000 - start:020.6f}/{activity_id}"


def page(
    items: list[Any], request: dict[str, Any], *, key: Any, default: int, limit: int
) -> tuple[list[Any], str | None]:
    max_records = request.get("MaxRecords")
    if max_records is not None and not 1 <= max_records <= limit:
        raise ValidationError(
            f"1 validation error detected: Value '{max_records}' at 'maxRecords' failed to satisfy "
            f"constraint: Member must have value less than or equal to {limit}"
        )
    try:
        return paginate(
            items, key=key, max_results=max_records, next_token=request.get("NextToken"), default=default
        )
    except InvalidToken:
        raise InvalidNextToken(f"The token '{request.get('NextToken')}' is invalid.") from None
