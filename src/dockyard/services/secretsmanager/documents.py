"""A secret's document: its versions, staging labels and sealed values, and how responses show it.

    doc = {"ARN", "Name", "Description"?, "KmsKeyId"?, "Tags"?, "CreatedDate", "LastChangedDate",
           "LastAccessedDate"?, "DeletedDate"?,
           "dockyard": {"versions": {version id: {"created", "stages", "lastAccessed"?,
                                                   "kind": "string" | "binary", "sealed"}}}}

Staging labels move the way Secrets Manager moves them: a label given to a new version leaves the
version that had it; when AWSCURRENT moves, the version it left becomes AWSPREVIOUS (AWSPREVIOUS
leaves the version it was on) and loses AWSPENDING. A version with no label is deprecated: hidden
from DescribeSecret and, unless asked, from ListSecretVersionIds; beyond 100 versions the
deprecated ones older than a day are dropped. Values are sealed (`dockyard.core.sealing`) under
the secret's ARN and version id.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from dockyard.core.sealing import Sealer, SealError
from dockyard.services.secretsmanager.errors import DecryptionFailure
from dockyard.services.secretsmanager.resources import AWSCURRENT, AWSPENDING, AWSPREVIOUS

__all__ = [
    "DAY",
    "Document",
    "Value",
    "add_version",
    "day_of",
    "describe",
    "list_entry",
    "move_stage",
    "open_value",
    "same_value",
    "version_entries",
    "versions",
]

Document = dict[str, Any]
Value = tuple[str, bytes]  # ("string" | "binary", the bytes)
DAY = 86400.0
_KEEP_VERSIONS = 100
_DECRYPTION_FAILURE = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."


def day_of(epoch: float) -> float:
    """LastAccessedDate precision: the date only (midnight UTC), as Secrets Manager records it."""
    return (epoch // DAY) * DAY


def versions(doc: Document) -> dict[str, dict[str, Any]]:
    internal: dict[str, Any] = doc.setdefault("dockyard", {})
    found: dict[str, dict[str, Any]] = internal.setdefault("versions", {})
    return found


def _context(doc: Document, version_id: str) -> str:
    return f"secretsmanager:{doc['ARN']}:{version_id}"


def open_value(sealer: Sealer, doc: Document, version_id: str) -> Value:
    version = versions(doc)[version_id]
    try:
        plain = sealer.open(str(version["sealed"]), context=_context(doc, version_id))
    except SealError as exc:
        raise DecryptionFailure(_DECRYPTION_FAILURE) from exc
    return str(version["kind"]), plain


def same_value(sealer: Sealer, doc: Document, version_id: str, value: Value) -> bool:
    return open_value(sealer, doc, version_id) == value


def move_stage(doc: Document, stage: str, to: str | None) -> None:
    """Attach `stage` to version `to` (None: to no version), taking it off every other version.
    The version AWSCURRENT leaves becomes AWSPREVIOUS and loses AWSPENDING (a finished rotation),
    as Secrets Manager does."""
    left: str | None = None
    for version_id, version in versions(doc).items():
        if version_id != to and stage in version["stages"]:
            version["stages"].remove(stage)
            left = version_id
    if to is not None and stage not in versions(doc)[to]["stages"]:
        versions(doc)[to]["stages"] = sorted({*versions(doc)[to]["stages"], stage})
    if stage == AWSCURRENT and left is not None and left != to:
        if AWSPENDING in versions(doc)[left]["stages"]:
            versions(doc)[left]["stages"].remove(AWSPENDING)
        move_stage(doc, AWSPREVIOUS, left)


def add_version(
    sealer: Sealer, doc: Document, version_id: str, value: Value, stages: Iterable[str], *, now: float
) -> list[str]:
    """Add a version holding `value` with `stages` (moved off other versions); its stages."""
    kind, plain = value
    versions(doc)[version_id] = {
        "created": now,
        "stages": [],
        "kind": kind,
        "sealed": sealer.seal(plain, context=_context(doc, version_id)),
    }
    for stage in sorted(set(stages)):
        move_stage(doc, stage, version_id)
    _prune(doc, now)
    return list(versions(doc)[version_id]["stages"])


def _prune(doc: Document, now: float) -> None:
    all_versions = versions(doc)
    extra = len(all_versions) - _KEEP_VERSIONS
    for version_id, version in list(all_versions.items()):
        if extra <= 0:
            break
        if not version["stages"] and version["created"] < now - DAY:
            del all_versions[version_id]
            extra -= 1


def _stages_map(doc: Document) -> dict[str, list[str]]:
    return {vid: list(v["stages"]) for vid, v in versions(doc).items() if v["stages"]}


def _public(doc: Document) -> Document:
    return {k: copy.deepcopy(v) for k, v in doc.items() if k != "dockyard"}


def describe(doc: Document) -> Document:
    """The DescribeSecret response."""
    out = _public(doc)
    stages = _stages_map(doc)
    if stages:
        out["VersionIdsToStages"] = stages
    return out


def list_entry(doc: Document) -> Document:
    """One SecretListEntry of ListSecrets."""
    out = _public(doc)
    stages = _stages_map(doc)
    if stages:
        out["SecretVersionsToStages"] = stages
    return out


def version_entries(doc: Document, *, include_deprecated: bool) -> list[Document]:
    """ListSecretVersionIds entries, oldest first."""
    keys = [doc["KmsKeyId"]] if doc.get("KmsKeyId") else ["DefaultEncryptionKey"]
    entries = []
    for version_id, version in versions(doc).items():
        if not version["stages"] and not include_deprecated:
            continue
        entry: Document = {"VersionId": version_id, "CreatedDate": version["created"], "KmsKeyIds": keys}
        if version["stages"]:
            entry["VersionStages"] = list(version["stages"])
        if version.get("lastAccessed") is not None:
            entry["LastAccessedDate"] = version["lastAccessed"]
        entries.append(entry)
    return entries
