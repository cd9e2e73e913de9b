"""Lifecycle policy previews: one document per repository, IN_PROGRESS until the preview
controller evaluates it, then COMPLETE with its results.

    kind `ecr:lifecycle-preview`, name <repository>, value {repositoryName, repositoryCreatedAt,
    lifecyclePolicyText, status, startedAt, results: [...], completedAt}

`repositoryCreatedAt` ties a preview to one life of the repository: a repository deleted and
created again under the same name does not see (and the controller deletes) the old preview.
Each result is `{imageDigest, imageTags, imagePushedAt, appliedRulePriority}`.
"""

from __future__ import annotations

from typing import Any

from dockyard.registry.lifecycle.evaluate import Expiry
from dockyard.registry.model import Repository, Scope
from dockyard.store import Key, Versioned

__all__ = ["PREVIEW", "belongs_to", "completed", "preview_key", "started"]

PREVIEW = "ecr:lifecycle-preview"


def preview_key(scope: Scope, repository: str) -> Key:
    return Key(scope.account_id, scope.region, PREVIEW, repository)


def belongs_to(preview: Versioned, repository: Repository | None) -> bool:
    """True when `preview` was started on this life of `repository`."""
    return repository is not None and float(preview.value["repositoryCreatedAt"]) == repository.created_at


def started(repository: Repository, text: str, *, now: float) -> dict[str, Any]:
    return {
        "repositoryName": repository.name,
        "repositoryCreatedAt": repository.created_at,
        "lifecyclePolicyText": text,
        "status": "IN_PROGRESS",
        "startedAt": now,
        "results": [],
    }


def completed(doc: dict[str, Any], expiries: list[Expiry], *, now: float) -> dict[str, Any]:
    out = dict(doc)
    out["status"] = "COMPLETE"
    out["completedAt"] = now
    out["results"] = [
        {
            "imageDigest": e.image.digest,
            "imageTags": list(e.image.tags),
            "imagePushedAt": e.image.pushed_at,
            "appliedRulePriority": e.rule_priority,
        }
        for e in expiries
    ]
    return out
