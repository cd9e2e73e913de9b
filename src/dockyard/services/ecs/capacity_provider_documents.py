"""Capacity provider documents: names, defaults, the reserved Fargate providers, lookups, views.

An Auto Scaling group provider is stored (kind `ecs:capacity-provider`, name = provider name) in
the shape of the ECS `CapacityProvider`, with what only Dockyard needs under `dockyard`: the
group's name and the managed-scaling state (the last scale-out, datapoints below target). A
second document (kind `ecs:capacity-provider-group`, name = group name) claims the group, so two
providers can never share one (the claim is written with "must not exist" in the same commit).

FARGATE and FARGATE_SPOT are never stored: they exist in every account (reference §7.1).

| member                      | default                                                     |
|-----------------------------|-------------------------------------------------------------|
| managedScaling              | status DISABLED, targetCapacity 100, minimumScalingStepSize 1, |
|                             | maximumScalingStepSize 10000, instanceWarmupPeriod 300       |
| managedTerminationProtection| DISABLED                                                    |
| managedDraining             | ENABLED (ECS's default for new providers)                   |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.arns import parse_arn
from dockyard.services.ecs import errors
from dockyard.services.ecs.cluster_documents import FARGATE_PROVIDERS
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.resources import CAPACITY_PROVIDER, ecs_arn, key
from dockyard.store import Key, Versioned

__all__ = [
    "GROUP_CLAIM",
    "MANAGED_SCALING_DEFAULTS",
    "check_name",
    "provider_arn",
    "provider_name",
    "builtin_provider",
    "managed_scaling",
    "render_provider",
    "get_provider",
    "claim_key",
    "is_fargate",
    "not_found",
    "group_of",
    "scaling_enabled",
]

GROUP_CLAIM = "ecs:capacity-provider-group"
MANAGED_SCALING_DEFAULTS: dict[str, Any] = {
    "status": "DISABLED",
    "targetCapacity": 100,
    "minimumScalingStepSize": 1,
    "maximumScalingStepSize": 10000,
    "instanceWarmupPeriod": 300,
}
_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_RESERVED = ("aws", "ecs", "fargate")

Document = dict[str, Any]


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise errors.InvalidParameterException(
            "The capacity provider name can have up to 255 letters (uppercase and lowercase), numbers, "
            "underscores, and hyphens."
        )
    if name.lower().startswith(_RESERVED):
        raise errors.InvalidParameterException(
            "The capacity provider name cannot be prefixed with 'aws', 'ecs', or 'fargate'."
        )


def provider_arn(ctx: RequestContext, name: str) -> str:
    return ecs_arn(ctx, f"capacity-provider/{name}")


def provider_name(ref: str) -> str:
    """The name a request gives (a short name or a `capacity-provider/<name>` ARN)."""
    parsed = parse_arn(ref)
    if parsed is not None and parsed.resource_type == "capacity-provider":
        return parsed.resource_path
    return ref


def is_fargate(name: str) -> bool:
    return name in FARGATE_PROVIDERS


def not_found() -> Exception:
    return errors.InvalidParameterException(
        "The specified capacity provider does not exist. Specify a valid name or ARN and try again."
    )


def builtin_provider(ctx: RequestContext, name: str) -> Document:
    """FARGATE or FARGATE_SPOT as DescribeCapacityProviders shows them."""
    return {
        "capacityProviderArn": provider_arn(ctx, name),
        "name": name,
        "status": "ACTIVE",
        "type": name,
        "tags": [],
    }


def managed_scaling(given: Mapping[str, Any] | None, current: Mapping[str, Any] | None = None) -> Document:
    """`managedScaling` after a request: the defaults, then the current values, then the given ones."""
    out: Document = dict(MANAGED_SCALING_DEFAULTS)
    for source in (current or {}, given or {}):
        out.update({k: v for k, v in source.items() if v is not None and k in MANAGED_SCALING_DEFAULTS})
    if out["minimumScalingStepSize"] > out["maximumScalingStepSize"]:
        raise errors.InvalidParameterException(
            "The managed scaling minimumScalingStepSize must be less than or equal to the "
            "maximumScalingStepSize."
        )
    return out


def scaling_enabled(doc: Mapping[str, Any]) -> bool:
    group = doc.get("autoScalingGroupProvider") or {}
    return bool((group.get("managedScaling") or {}).get("status") == "ENABLED")


def group_of(doc: Mapping[str, Any]) -> str:
    """The name of the provider's Auto Scaling group."""
    return str(doc.get("dockyard", {}).get("group", ""))


def render_provider(doc: Mapping[str, Any], *, include_tags: bool = True) -> Document:
    out = {k: v for k, v in doc.items() if k != "dockyard"}
    if not include_tags:
        out.pop("tags", None)
    return out


def claim_key(ctx: RequestContext, group: str) -> Key:
    return key(ctx, GROUP_CLAIM, group)


async def get_provider(ecs: Ecs, ctx: RequestContext, ref: str) -> Versioned | None:
    """The stored Auto Scaling group provider a name or ARN names (None for Fargate's or unknown)."""
    return await ecs.store.get(key(ctx, CAPACITY_PROVIDER, provider_name(ref)))
