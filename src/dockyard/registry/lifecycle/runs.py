"""Lifecycle policies applied to a repository of the catalog: where a policy is kept, what it
would expire now, and expiring it (through the catalog's delete path, like BatchDeleteImage).

A repository's policy lives in its document, so deleting the repository deletes the policy:

    repository doc["dockyard"]["lifecyclePolicy"] = {"text": ..., "setAt": epoch,
                                                     "lastEvaluatedAt": epoch | None}
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from dockyard.registry.catalog import Catalog
from dockyard.registry.lifecycle.evaluate import Expiry, ImageInfo, evaluate
from dockyard.registry.lifecycle.policy import parse_policy
from dockyard.registry.model import CatalogError, Image, Repository, Scope

__all__ = ["POLICY", "StoredPolicy", "enforce", "expiring", "image_info", "stored_policy"]

log = logging.getLogger(__name__)

POLICY = "lifecyclePolicy"  # the member of a repository's `dockyard` document


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    text: str
    set_at: float
    last_evaluated_at: float | None


def stored_policy(repository: Repository) -> StoredPolicy | None:
    """The lifecycle policy saved on `repository`, or None."""
    raw: Any = (repository.doc.get("dockyard") or {}).get(POLICY)
    if not isinstance(raw, dict) or not raw.get("text"):
        return None
    last = raw.get("lastEvaluatedAt")
    return StoredPolicy(str(raw["text"]), float(raw.get("setAt") or 0), float(last) if last else None)


def image_info(image: Image) -> ImageInfo:
    return ImageInfo(
        digest=image.digest,
        tags=tuple(image.tags),
        pushed_at=image.pushed_at,
        last_pulled_at=image.last_pull,
        children=tuple(d.digest for d in image.manifests),
    )


async def expiring(catalog: Catalog, scope: Scope, repository: str, text: str, *, now: float) -> list[Expiry]:
    """What policy `text` (already validated) expires in `repository` now, newest push first."""
    images = await catalog.list_images(scope, repository)
    return evaluate(parse_policy(text), [image_info(i) for i in images], now=now)


async def enforce(catalog: Catalog, scope: Scope, repository: str, text: str, *, now: float) -> list[Expiry]:
    """Expire what `text` selects now; returns what was deleted."""
    deleted: list[Expiry] = []
    for expiry in await expiring(catalog, scope, repository, text, now=now):
        try:
            await catalog.delete_image(scope, repository, expiry.image.digest)
        except CatalogError as exc:  # gone meanwhile, or an index now lists it
            log.info("lifecycle %s: keeping %s: %s", repository, expiry.image.digest, exc)
            continue
        deleted.append(expiry)
    if deleted:
        log.info(
            "lifecycle %s/%s %s: expired %d image(s)",
            scope.account_id,
            scope.region,
            repository,
            len(deleted),
        )
    return deleted
