"""Replication: PutReplicationConfiguration and DescribeImageReplicationStatus.

The configuration is a registry setting (DescribeRegistry shows it); the replication
controller (`dockyard.registry.replication`) copies images pushed afterwards into the same
repository of each destination Region of this server, creating the repository when missing.
Destinations are Regions of the caller's own account: cross-account replication needs registry
permission policies, which Dockyard does not have.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.registry.model import Scope
from dockyard.registry.replication import replication_key, save_configuration
from dockyard.services.ecr.api import api
from dockyard.services.ecr.deps import Ecr
from dockyard.services.ecr.errors import ImageNotFoundException, InvalidParameterException
from dockyard.services.ecr.image_ids import Failure, find, not_found_message
from dockyard.services.ecr.resources import repository, scope_of

__all__ = ["describe_image_replication_status", "put_replication_configuration"]

_CONSTRAINT = "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: "


@api.operation("PutReplicationConfiguration")
async def put_replication_configuration(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    config = request["replicationConfiguration"]
    source = Scope(ctx.account_id, ctx.region)
    rules: list[dict[str, Any]] = []
    for rule in config.get("rules") or []:
        destinations = [
            {"region": str(d["region"]), "registryId": str(d["registryId"])} for d in rule["destinations"]
        ]
        for destination in destinations:
            if Scope(destination["registryId"], destination["region"]) == source:
                raise InvalidParameterException(
                    _CONSTRAINT + "'Replication destination cannot be the same as the source registry'"
                )
            if destination["registryId"] != ctx.account_id:
                raise InvalidParameterException(
                    _CONSTRAINT + f"'Dockyard replicates within account {ctx.account_id} only: registry "
                    f"{destination['registryId']} cannot be a destination'"
                )
        saved: dict[str, Any] = {"destinations": destinations}
        if rule.get("repositoryFilters"):
            saved["repositoryFilters"] = [
                {"filter": str(f["filter"]), "filterType": str(f["filterType"])}
                for f in rule["repositoryFilters"]
            ]
        rules.append(saved)
    configuration = {"rules": rules}
    await save_configuration(ecr.store, source, configuration, now=ecr.clock.now())
    return {"replicationConfiguration": configuration}


@api.operation("DescribeImageReplicationStatus")
async def describe_image_replication_status(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    image_id = request["imageId"]
    image = await find(ecr, scope, repo.name, image_id)
    if isinstance(image, Failure):
        if image.code == "ImageNotFound":
            raise ImageNotFoundException(not_found_message(image_id, repo.name, scope.account_id))
        raise InvalidParameterException(image.reason)
    record = await ecr.store.get(replication_key(scope, repo.name, image.digest))
    statuses: list[dict[str, Any]] = []
    if record is not None and float(record.value["imagePushedAt"]) == image.pushed_at:
        for label, state in sorted(record.value["destinations"].items()):
            region, _, registry_id = label.partition("/")
            entry = {"region": region, "registryId": registry_id, "status": state["status"]}
            if state.get("failureCode"):
                entry["failureCode"] = state["failureCode"]
            statuses.append(entry)
    shown = {"imageDigest": image.digest}
    if image_id.get("imageTag"):
        shown["imageTag"] = str(image_id["imageTag"])
    return {"repositoryName": repo.name, "imageId": shown, "replicationStatuses": statuses}
