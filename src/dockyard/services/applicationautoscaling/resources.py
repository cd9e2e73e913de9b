"""Store keys, ARNs and lookups shared by the Application Auto Scaling handlers and controllers.

| kind                       | name                                   | labels          |
|----------------------------|----------------------------------------|-----------------|
| appscaling:target          | `ns|dimension|resource id`             | arn             |
| appscaling:policy          | `<target name>|<policy name>`          | target, arn     |
| appscaling:scheduled-action| `<target name>|<action name>`          | target          |
| appscaling:activity        | `<target name>|<inverted ms>|<id>`     | target          |

Activity names sort newest first within a target. Every document keeps what Dockyard alone needs
under `dockyard` (never serialized).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.applicationautoscaling.deps import AppScaling
from dockyard.services.applicationautoscaling.errors import (
    ConcurrentUpdateException,
    ObjectNotFoundException,
    ValidationException,
)
from dockyard.store import Conflict, Delete, Key, Versioned

__all__ = [
    "ACTIVITY",
    "ECS_DIMENSION",
    "POLICY",
    "SCHEDULED_ACTION",
    "TARGET",
    "TargetRef",
    "activity_name",
    "child_key",
    "delete_child",
    "default_role",
    "get_target",
    "key",
    "policy_arn",
    "ref_of",
    "require_supported",
    "scheduled_action_arn",
    "service_of",
    "target_arn",
    "target_ref",
]

TARGET = "appscaling:target"
POLICY = "appscaling:policy"
SCHEDULED_ACTION = "appscaling:scheduled-action"
ACTIVITY = "appscaling:activity"

ECS_DIMENSION = "ecs:service:DesiredCount"
_ECS_SERVICE = re.compile(r"^service/([^/]+)/([^/]+)$")
_UNSUPPORTED = "Unsupported service namespace, resource type or scalable dimension"


@dataclass(frozen=True, slots=True)
class TargetRef:
    namespace: str
    resource_id: str
    dimension: str

    @property
    def name(self) -> str:
        return f"{self.namespace}|{self.dimension}|{self.resource_id}"

    def describe(self) -> str:
        return (
            f"service namespace: {self.namespace}, resource ID: {self.resource_id}, "
            f"scalable dimension: {self.dimension}"
        )


def ref_of(request: dict[str, Any]) -> TargetRef:
    return TargetRef(request["ServiceNamespace"], request["ResourceId"], request["ScalableDimension"])


def target_ref(doc: dict[str, Any]) -> TargetRef:
    return TargetRef(doc["ServiceNamespace"], doc["ResourceId"], doc["ScalableDimension"])


def key(ctx: RequestContext, kind: str, name: str) -> Key:
    return Key(ctx.account_id, ctx.region, kind, name)


def child_key(target: Key, kind: str, name: str) -> Key:
    """The key of a policy, scheduled action or activity of the target at `target`."""
    return Key(target.account_id, target.region, kind, f"{target.name}|{name}")


async def delete_child(
    app: AppScaling, ctx: RequestContext, ref: TargetRef, kind: str, name: str, *, what: str, missing: str
) -> dict[str, Any]:
    """Delete `ref`'s policy or scheduled action `name` (`what` it is, for the conflict message);
    its document. ObjectNotFoundException(`missing`) when there is none."""
    found = await app.store.get(child_key(key(ctx, TARGET, ref.name), kind, name))
    if found is None:
        raise ObjectNotFoundException(missing)
    try:
        await app.store.commit([Delete(found.key, expected_revision=found.revision)])
    except Conflict:
        raise ConcurrentUpdateException(
            f"The {what} is being changed by another request; try again."
        ) from None
    return found.value


def activity_name(start: float, activity_id: str) -> str:
    return f"{9_999_999_999_999 - int(start * 1000):013d}|{activity_id}"


def require_supported(ref: TargetRef) -> tuple[str, str]:
    """(cluster, service) of an ECS service target; other namespaces have no resources here."""
    match = _ECS_SERVICE.match(ref.resource_id)
    if ref.namespace != "ecs" or ref.dimension != ECS_DIMENSION or match is None:
        raise ValidationException(_UNSUPPORTED)
    return match.group(1), match.group(2)


def service_of(ref: TargetRef) -> tuple[str, str]:
    match = _ECS_SERVICE.match(ref.resource_id)
    if match is None:
        raise ValueError(ref.resource_id)
    return match.group(1), match.group(2)


async def get_target(app: AppScaling, ctx: RequestContext, ref: TargetRef) -> Versioned:
    """The registered target, or AWS's ObjectNotFoundException."""
    found = await app.store.get(key(ctx, TARGET, ref.name))
    if found is None:
        raise ObjectNotFoundException(f"No scalable target registered for {ref.describe()}")
    return found


def target_arn(ctx: RequestContext, target_id: str) -> str:
    return f"arn:aws:application-autoscaling:{ctx.region}:{ctx.account_id}:scalable-target/{target_id}"


def policy_arn(ctx: RequestContext, ref: TargetRef, policy_id: str, name: str) -> str:
    return (
        f"arn:aws:autoscaling:{ctx.region}:{ctx.account_id}:scalingPolicy:{policy_id}:"
        f"resource/{ref.namespace}/{ref.resource_id}:policyName/{name}"
    )


def scheduled_action_arn(ctx: RequestContext, ref: TargetRef, action_id: str, name: str) -> str:
    return (
        f"arn:aws:autoscaling:{ctx.region}:{ctx.account_id}:scheduledAction:{action_id}:"
        f"resource/{ref.namespace}/{ref.resource_id}:scheduledActionName/{name}"
    )


def default_role(ctx: RequestContext) -> str:
    """The service-linked role ECS targets use when RoleARN is not given."""
    return (
        f"arn:aws:iam::{ctx.account_id}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_ECSService"
    )
