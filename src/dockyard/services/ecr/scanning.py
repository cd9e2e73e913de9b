"""Basic image scanning: PutImageScanningConfiguration, StartImageScan, DescribeImageScanFindings,
Put/GetRegistryScanningConfiguration and BatchGetRepositoryScanningConfiguration.

A scan is a document (`dockyard.registry.scanning.records`) the scan controller runs: it reads
the image's layers, inventories OS and Python packages and matches them against the offline OSV
feed (`dockyard scan-feed import`). The image shows the scan's status and summary in
DescribeImages. ECR allows one scan per image per 24 hours, scan on push included. Images are
scanned on push when their repository says so or a registry SCAN_ON_PUSH rule matches it; only
BASIC scanning exists (ENHANCED needs Amazon Inspector).
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.registry.model import Image, Scope
from dockyard.registry.scanning import registry_rules
from dockyard.registry.scanning.controller import SCAN_ON_PUSH_SINCE
from dockyard.registry.scanning.records import belongs_to, project, requested, scan_key
from dockyard.services.ecr.api import api
from dockyard.services.ecr.deps import Ecr
from dockyard.services.ecr.errors import (
    ImageNotFoundException,
    InvalidParameterException,
    LimitExceededException,
    ScanNotFoundException,
    UnsupportedImageTypeException,
    translated,
)
from dockyard.services.ecr.image_ids import Failure, describe_id, find, not_found_message
from dockyard.services.ecr.resources import repository, scope_of
from dockyard.store import Conflict, Put

__all__ = [
    "batch_get_repository_scanning_configuration",
    "describe_image_scan_findings",
    "get_registry_scanning_configuration",
    "put_image_scanning_configuration",
    "put_registry_scanning_configuration",
    "start_image_scan",
]

_DAY = 86400.0


async def _image(ecr: Ecr, scope: Scope, name: str, image_id: dict[str, Any]) -> Image:
    found = await find(ecr, scope, name, image_id)
    if isinstance(found, Failure):
        if found.code == "ImageNotFound":
            raise ImageNotFoundException(not_found_message(image_id, name, scope.account_id))
        raise InvalidParameterException(found.reason)
    return found


def _image_id(image: Image, given: dict[str, Any]) -> dict[str, str]:
    shown = {"imageDigest": image.digest}
    if given.get("imageTag"):
        shown["imageTag"] = str(given["imageTag"])
    return shown


@api.operation("PutImageScanningConfiguration")
async def put_image_scanning_configuration(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    name = str(request["repositoryName"])
    scan_on_push = bool(request["imageScanningConfiguration"].get("scanOnPush", False))
    now = ecr.clock.now()

    def change(doc: dict[str, Any]) -> None:
        was = bool((doc.get("imageScanningConfiguration") or {}).get("scanOnPush"))
        doc["imageScanningConfiguration"] = {"scanOnPush": scan_on_push}
        if scan_on_push and not was:  # images pushed before this are not scanned
            doc.setdefault("dockyard", {})[SCAN_ON_PUSH_SINCE] = now

    with translated(name, scope.account_id):
        await ecr.catalog.update_repository(scope, name, change)
    return {
        "registryId": scope.account_id,
        "repositoryName": name,
        "imageScanningConfiguration": {"scanOnPush": scan_on_push},
    }


@api.operation("StartImageScan")
async def start_image_scan(ecr: Ecr, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    image = await _image(ecr, scope, repo.name, request["imageId"])
    if image.is_index:
        raise UnsupportedImageTypeException(
            "Image scanning is not supported for manifest lists: scan each image the list references."
        )
    key = scan_key(scope, repo.name, image.digest)
    now = ecr.clock.now()
    while True:
        previous = await ecr.store.get(key)
        if previous is not None and belongs_to(previous, image):
            if now - float(previous.value["requestedAt"]) < _DAY:
                raise LimitExceededException(
                    "The scan quota per image has been exceeded. Wait and try again."
                )
        doc = requested(image, now=now)
        try:
            await ecr.store.commit([Put(key, doc, expected_revision=previous.revision if previous else 0)])
        except Conflict:
            continue
        break
    with translated(repo.name, scope.account_id):
        await ecr.catalog.update_image(scope, repo.name, image.digest, lambda d: project(d, doc))
    return {
        "registryId": scope.account_id,
        "repositoryName": repo.name,
        "imageId": _image_id(image, request["imageId"]),
        "imageScanStatus": {"status": "IN_PROGRESS"},
    }


@api.operation("DescribeImageScanFindings")
async def describe_image_scan_findings(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, request)
    repo = await repository(ecr, scope, str(request["repositoryName"]))
    image = await _image(ecr, scope, repo.name, request["imageId"])
    found = await ecr.store.get(scan_key(scope, repo.name, image.digest))
    if found is None or not belongs_to(found, image):
        raise ScanNotFoundException(
            f"Image scan does not exist for the image with '{describe_id(request['imageId'])}' in the "
            f"repository with name '{repo.name}' in the registry with id '{scope.account_id}'"
        )
    scan = found.value
    status: dict[str, Any] = {"status": scan["status"]}
    if scan.get("description"):
        status["description"] = scan["description"]
    response: dict[str, Any] = {
        "registryId": scope.account_id,
        "repositoryName": repo.name,
        "imageId": _image_id(image, request["imageId"]),
        "imageScanStatus": status,
    }
    if scan["status"] != "COMPLETE":
        return response
    numbered = list(enumerate(scan["findings"]))
    try:
        page, token = paginate(
            numbered,
            key=lambda f: f[0],
            max_results=request.get("maxResults"),
            next_token=request.get("nextToken"),
        )
    except InvalidToken:
        raise InvalidParameterException("Invalid parameter at 'nextToken': the token is not valid") from None
    findings: dict[str, Any] = {
        "imageScanCompletedAt": scan["completedAt"],
        "findingSeverityCounts": dict(scan.get("severityCounts") or {}),
        "findings": [f for _, f in page],
    }
    if scan.get("vulnerabilitySourceUpdatedAt") is not None:
        findings["vulnerabilitySourceUpdatedAt"] = scan["vulnerabilitySourceUpdatedAt"]
    response["imageScanFindings"] = findings
    if token:
        response["nextToken"] = token
    return response


@api.operation("PutRegistryScanningConfiguration")
async def put_registry_scanning_configuration(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scan_type = str(request.get("scanType") or "BASIC")
    if scan_type != "BASIC":
        raise InvalidParameterException(
            "Invalid parameter at 'scanType' failed to satisfy constraint: 'Dockyard offers BASIC scanning "
            "only; ENHANCED scanning needs Amazon Inspector'"
        )
    rules = []
    for rule in request.get("rules") or []:
        if rule["scanFrequency"] == "CONTINUOUS_SCAN":
            raise InvalidParameterException(
                "Invalid parameter at 'rules' failed to satisfy constraint: 'CONTINUOUS_SCAN scan "
                "frequency is not supported for BASIC scan type'"
            )
        filters = [
            {"filter": str(f["filter"]), "filterType": str(f["filterType"])}
            for f in rule["repositoryFilters"]
        ]
        rules.append({"scanFrequency": str(rule["scanFrequency"]), "repositoryFilters": filters})
    config = {"scanType": scan_type, "rules": rules}
    await registry_rules.save(ecr.store, scope_of(ctx, {}), config, now=ecr.clock.now())
    return {"registryScanningConfiguration": config}


@api.operation("GetRegistryScanningConfiguration")
async def get_registry_scanning_configuration(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    config, _ = await registry_rules.load(ecr.store, scope_of(ctx, {}))
    return {"registryId": ctx.account_id, "scanningConfiguration": config}


@api.operation("BatchGetRepositoryScanningConfiguration")
async def batch_get_repository_scanning_configuration(
    ecr: Ecr, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    scope = scope_of(ctx, {})
    config, _ = await registry_rules.load(ecr.store, scope)
    found: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    for name in dict.fromkeys(str(n) for n in request["repositoryNames"]):
        repo = await ecr.catalog.get_repository(scope, name)
        if repo is None:
            failures.append(
                {
                    "repositoryName": name,
                    "failureCode": "REPOSITORY_NOT_FOUND",
                    "failureReason": "REPOSITORY_NOT_FOUND",
                }
            )
            continue
        filters = registry_rules.applied_filters(config, name, "SCAN_ON_PUSH")
        on_push = repo.scan_on_push or bool(filters)
        found.append(
            {
                "repositoryArn": repo.arn,
                "repositoryName": name,
                "scanOnPush": on_push,
                "scanFrequency": "SCAN_ON_PUSH" if on_push else "MANUAL",
                "appliedScanFilters": filters,
            }
        )
    return {"scanningConfigurations": found, "failures": failures}
