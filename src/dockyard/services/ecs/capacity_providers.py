"""Capacity provider operations: Create, Update, Delete and DescribeCapacityProviders.

```
CreateCapacityProvider  -> ACTIVE (the group must exist: Auto Scaling's DescribeAutoScalingGroups;
                           one provider per group; managed termination protection needs managed
                           scaling and the group's NewInstancesProtectedFromScaleIn)
UpdateCapacityProvider  -> updateStatus UPDATE_IN_PROGRESS -> UPDATE_COMPLETE (capacity controller)
DeleteCapacityProvider  -> associated with a cluster: updateStatus DELETE_FAILED, still ACTIVE
                           otherwise DEPROVISIONING / DELETE_IN_PROGRESS -> INACTIVE / DELETE_COMPLETE
DescribeCapacityProviders: FARGATE and FARGATE_SPOT always, then the account's own, 10 a page
```
Associating providers with clusters is `capacity_associations.py`; what the providers do with
their groups (scaling, protection, draining) is `capacity_controller.py`.
"""

from __future__ import annotations

import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.tags import TagError, check_tags, merge_tags
from dockyard.services.ecs import errors
from dockyard.services.ecs.api import api
from dockyard.services.ecs.capacity_associations import associated_cluster
from dockyard.services.ecs.capacity_groups import describe_group
from dockyard.services.ecs.capacity_provider_documents import (
    builtin_provider,
    check_name,
    claim_key,
    get_provider,
    is_fargate,
    managed_scaling,
    not_found,
    provider_arn,
    provider_name,
    render_provider,
)
from dockyard.services.ecs.cluster_documents import FARGATE_PROVIDERS
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.paging import page
from dockyard.services.ecs.resources import CAPACITY_PROVIDER, CLUSTER, cluster_name, key
from dockyard.store import Conflict, Put

__all__ = [
    "create_capacity_provider",
    "update_capacity_provider",
    "delete_capacity_provider",
    "describe_capacity_providers",
]

_ATTEMPTS = 8
_RESERVED = "The FARGATE and FARGATE_SPOT capacity providers are reserved and cannot be {}."

Document = dict[str, Any]


def _check_protection(asg: Document, protection: str, scaling: Document) -> None:
    if protection != "ENABLED":
        return
    if scaling.get("status") != "ENABLED":
        raise errors.ClientException(
            "The managed termination protection setting for the capacity provider is invalid. To enable "
            "managed termination protection for a capacity provider, managed scaling must be enabled."
        )
    if not asg.get("NewInstancesProtectedFromScaleIn"):
        raise errors.ClientException(
            "The managed termination protection setting for the capacity provider is invalid. To enable "
            "managed termination protection for a capacity provider, the Auto Scaling group must have "
            "instance protection from scale in enabled."
        )


def _unsupported(request: dict[str, Any]) -> None:
    if request.get("managedInstancesProvider") is not None:
        raise errors.UnsupportedFeatureException(
            "Amazon ECS Managed Instances capacity providers are not supported by Dockyard; use an Auto "
            "Scaling group capacity provider."
        )
    if request.get("cluster"):
        raise errors.InvalidParameterException(
            "Cluster-scoped capacity providers are only supported for Amazon ECS Managed Instances; an "
            "Auto Scaling group capacity provider is associated with clusters through "
            "PutClusterCapacityProviders."
        )


@api.operation("CreateCapacityProvider")
async def create_capacity_provider(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name = request["name"]
    check_name(name)
    _unsupported(request)
    given = request.get("autoScalingGroupProvider")
    if given is None:
        raise errors.InvalidParameterException(
            "An autoScalingGroupProvider must be specified to create a capacity provider."
        )
    tags = list(request.get("tags") or [])
    try:
        check_tags(tags)
    except TagError as exc:
        raise errors.InvalidParameterException(str(exc)) from exc
    scaling = managed_scaling(given.get("managedScaling"))
    protection = given.get("managedTerminationProtection") or "DISABLED"
    draining = given.get("managedDraining") or "ENABLED"
    asg = await describe_group(ecs, ctx, given["autoScalingGroupArn"])
    if asg is None:
        raise errors.ClientException(
            "The specified Auto Scaling group does not exist. Specify a valid Auto Scaling group ARN or name "
            "and try again."
        )
    _check_protection(asg, protection, scaling)
    group = asg["AutoScalingGroupName"]
    doc: Document = {
        "capacityProviderArn": provider_arn(ctx, name),
        "name": name,
        "status": "ACTIVE",
        "type": "EC2_AUTOSCALING",
        "autoScalingGroupProvider": {
            "autoScalingGroupArn": asg["AutoScalingGroupARN"],
            "managedScaling": scaling,
            "managedTerminationProtection": protection,
            "managedDraining": draining,
        },
        "tags": merge_tags([], tags),
        "dockyard": {"group": group, "createdAt": ecs.clock.now()},
    }
    at = key(ctx, CAPACITY_PROVIDER, name)
    current = await ecs.store.get(at)
    if current is not None and current.value.get("status") != "INACTIVE":
        raise errors.ClientException(
            "The specified capacity provider already exists. To change the configuration of an existing "
            "capacity provider, update the capacity provider."
        )
    claim = claim_key(ctx, group)
    try:
        await ecs.store.commit(
            [
                Put(at, doc, expected_revision=current.revision if current else 0),
                Put(claim, {"provider": name}, expected_revision=0),
            ]
        )
    except Conflict as exc:
        if exc.key == claim:
            raise errors.ClientException(
                "The specified Auto Scaling group ARN is already being used by another capacity provider. "
                "Specify a unique Auto Scaling group ARN and try again."
            ) from exc
        raise errors.ClientException(
            "The specified capacity provider already exists. To change the configuration of an existing "
            "capacity provider, update the capacity provider."
        ) from exc
    return {"capacityProvider": render_provider(doc)}


@api.operation("UpdateCapacityProvider")
async def update_capacity_provider(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    _unsupported(request)
    name = provider_name(request["name"])
    if is_fargate(name):
        raise errors.InvalidParameterException(_RESERVED.format("updated"))
    given = request.get("autoScalingGroupProvider")
    if given is None:
        raise errors.InvalidParameterException(
            "An autoScalingGroupProvider must be specified to update a capacity provider."
        )
    for _ in range(_ATTEMPTS):
        found = await get_provider(ecs, ctx, name)
        if found is None or found.value.get("status") != "ACTIVE":
            raise not_found()
        doc = copy.deepcopy(found.value)
        current = doc["autoScalingGroupProvider"]
        scaling = managed_scaling(given.get("managedScaling"), current.get("managedScaling"))
        protection = given.get("managedTerminationProtection") or current["managedTerminationProtection"]
        if protection == "ENABLED":
            asg = await describe_group(ecs, ctx, doc["dockyard"]["group"]) or {}
            _check_protection(asg, protection, scaling)
        current.update(
            managedScaling=scaling,
            managedTerminationProtection=protection,
            managedDraining=given.get("managedDraining") or current.get("managedDraining", "ENABLED"),
        )
        doc["updateStatus"] = "UPDATE_IN_PROGRESS"
        doc.pop("updateStatusReason", None)
        try:
            await ecs.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        except Conflict:
            continue
        return {"capacityProvider": render_provider(doc)}
    raise errors.ServerException("The capacity provider could not be updated; try again.")


@api.operation("DeleteCapacityProvider")
async def delete_capacity_provider(ecs: Ecs, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name = provider_name(request["capacityProvider"])
    if is_fargate(name):
        raise errors.InvalidParameterException(_RESERVED.format("deleted"))
    if request.get("cluster"):
        raise errors.InvalidParameterException(
            "Cluster-scoped capacity providers are only supported for Amazon ECS Managed Instances."
        )
    for _ in range(_ATTEMPTS):
        found = await get_provider(ecs, ctx, name)
        if found is None:
            raise not_found()
        doc = copy.deepcopy(found.value)
        if doc.get("status") in ("DEPROVISIONING", "INACTIVE"):
            return {"capacityProvider": render_provider(doc)}
        cluster = await associated_cluster(ecs, ctx, name)
        if cluster is not None:
            doc["updateStatus"] = "DELETE_FAILED"
            doc["updateStatusReason"] = (
                f"The capacity provider cannot be deleted because it is associated with cluster: {cluster}. "
                "Remove the capacity provider from the cluster and try again."
            )
        else:
            doc["status"] = "DEPROVISIONING"
            doc["updateStatus"] = "DELETE_IN_PROGRESS"
            doc.pop("updateStatusReason", None)
        try:
            await ecs.store.commit([Put(found.key, doc, expected_revision=found.revision)])
        except Conflict:
            continue
        return {"capacityProvider": render_provider(doc)}
    raise errors.ServerException("The capacity provider could not be deleted; try again.")


@api.operation("DescribeCapacityProviders")
async def describe_capacity_providers(
    ecs: Ecs, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    refs = request.get("capacityProviders")
    if refs is not None and len(refs) > 100:
        raise errors.InvalidParameterException("capacityProviders can have at most 100 items.")
    include_tags = "TAGS" in (request.get("include") or [])
    stored = {
        v.key.name: v.value
        for v in await ecs.store.list(CAPACITY_PROVIDER, account_id=ctx.account_id, region=ctx.region)
    }
    failures: list[dict[str, str]] = []
    found: list[Document] = []
    wanted: list[tuple[str, str]]  # (the reference given, the provider's name)
    if request.get("cluster"):
        cluster = await ecs.store.get(key(ctx, CLUSTER, cluster_name(request["cluster"])))
        if cluster is None or cluster.value.get("status") != "ACTIVE":
            raise errors.ClusterNotFoundException("Cluster not found.")
        associated = list(cluster.value.get("capacityProviders", []))
        named = {provider_name(r) for r in refs or []}
        wanted = [(n, n) for n in associated if not refs or n in named]
    elif refs:
        wanted = [(r, provider_name(r)) for r in refs]
    else:
        wanted = [(n, n) for n in (*FARGATE_PROVIDERS, *sorted(stored))]
    for ref, name in wanted:
        if is_fargate(name):
            found.append(builtin_provider(ctx, name))
        elif name in stored:
            found.append(render_provider(stored[name], include_tags=include_tags))
        else:
            arn = ref if ref.startswith("arn:") else provider_arn(ctx, name)
            failures.append({"arn": arn, "reason": "MISSING"})
    if not include_tags:
        for item in found:
            item.pop("tags", None)
    items, token = page(list(enumerate(found)), request, key=lambda pair: pair[0], default=10, limit=10)
    response: dict[str, Any] = {"capacityProviders": [doc for _, doc in items], "failures": failures}
    if token:
        response["nextToken"] = token
    return response
