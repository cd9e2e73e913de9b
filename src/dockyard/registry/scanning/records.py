"""Scan documents in the store, and how an image document shows its scan.

    kind `ecr:scan`, name `<repository>@<digest>` (the image's own name), value:
    {repositoryName, imageDigest, imagePushedAt, status, description, requestedAt,
     completedAt?, vulnerabilitySourceUpdatedAt?, findings: [ECR ImageScanFinding, ...]}

The scan document is the truth; the image document carries its projection, the `ImageDetail`
members DescribeImages returns: `imageScanStatus {status, description}` and, once complete,
`imageScanFindingsSummary {imageScanCompletedAt, vulnerabilitySourceUpdatedAt,
findingSeverityCounts}`. `imagePushedAt` ties a scan to one push of the image: an image deleted
and pushed again is not shown its old findings.
"""

from __future__ import annotations

from typing import Any

from dockyard.registry.model import Image, Scope
from dockyard.registry.scanning.match import Finding, severity_counts
from dockyard.registry.scanning.scanner import ScanOutcome
from dockyard.store import Key, Versioned

__all__ = [
    "SCAN",
    "belongs_to",
    "finished",
    "finding_shape",
    "project",
    "requested",
    "scan_key",
    "summary",
]

SCAN = "ecr:scan"


def scan_key(scope: Scope, repository: str, digest: str) -> Key:
    return Key(scope.account_id, scope.region, SCAN, f"{repository}@{digest}")


def belongs_to(scan: Versioned, image: Image | None) -> bool:
    return image is not None and float(scan.value["imagePushedAt"]) == image.pushed_at


def requested(image: Image, *, now: float) -> dict[str, Any]:
    return {
        "repositoryName": image.repository,
        "imageDigest": image.digest,
        "imagePushedAt": image.pushed_at,
        "status": "IN_PROGRESS",
        "description": "",
        "requestedAt": now,
        "findings": [],
    }


def finding_shape(finding: Finding) -> dict[str, Any]:
    """An ECR `ImageScanFinding`."""
    out: dict[str, Any] = {
        "name": finding.name,
        "uri": finding.uri,
        "severity": finding.severity,
        "attributes": finding.attributes(),
    }
    if finding.description:
        out["description"] = finding.description
    return out


def finished(
    doc: dict[str, Any], outcome: ScanOutcome, *, now: float, source_updated_at: float | None
) -> dict[str, Any]:
    out = dict(doc)
    out.update(
        status=outcome.status,
        description=outcome.description,
        completedAt=now,
        findings=[finding_shape(f) for f in outcome.findings],
        severityCounts=severity_counts(outcome.findings),
    )
    if source_updated_at is not None:
        out["vulnerabilitySourceUpdatedAt"] = source_updated_at
    return out


def summary(scan: dict[str, Any]) -> dict[str, Any] | None:
    """The `ImageScanFindingsSummary` of a finished scan (None before it completes)."""
    if scan["status"] != "COMPLETE":
        return None
    out: dict[str, Any] = {
        "imageScanCompletedAt": scan["completedAt"],
        "findingSeverityCounts": dict(scan.get("severityCounts") or {}),
    }
    if scan.get("vulnerabilitySourceUpdatedAt") is not None:
        out["vulnerabilitySourceUpdatedAt"] = scan["vulnerabilitySourceUpdatedAt"]
    return out


def project(image_doc: dict[str, Any], scan: dict[str, Any]) -> None:
    """Show `scan` on the image's document (in place)."""
    status: dict[str, Any] = {"status": scan["status"]}
    if scan.get("description"):
        status["description"] = scan["description"]
    image_doc["imageScanStatus"] = status
    found = summary(scan)
    if found is None:
        image_doc.pop("imageScanFindingsSummary", None)
    else:
        image_doc["imageScanFindingsSummary"] = found
