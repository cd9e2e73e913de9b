"""A parameter's document: its versions (history), labels, tags and how responses show them.

    doc = {"Name", "ARN",
           "dockyard": {"history": [{"Version", "Type", "Value", "KeyId"?, "Description"?,
                                     "AllowedPattern"?, "Tier", "DataType", "LastModifiedDate",
                                     "LastModifiedUser", "Labels": [...]}, ...],   # oldest first
                        "tags": [{"Key", "Value"}, ...]}}

The last history entry is the current version. A SecureString's `Value` is sealed
(`dockyard.core.sealing`) under the parameter's ARN and version; responses show the sealed text
unless the caller asks for decryption, as Parameter Store shows the KMS ciphertext.
"""

from __future__ import annotations

from typing import Any

from dockyard.core.sealing import Sealer, SealError
from dockyard.services.ssm.errors import InvalidKeyId

__all__ = [
    "Document",
    "Entry",
    "current",
    "history",
    "metadata",
    "parameter",
    "history_entry",
    "seal_value",
    "tags",
]

Document = dict[str, Any]
Entry = dict[str, Any]
SECURE = "SecureString"


def history(doc: Document) -> list[Entry]:
    found: list[Entry] = doc.setdefault("dockyard", {}).setdefault("history", [])
    return found


def tags(doc: Document) -> list[dict[str, str]]:
    found: list[dict[str, str]] = doc.setdefault("dockyard", {}).setdefault("tags", [])
    return found


def current(doc: Document) -> Entry:
    return history(doc)[-1]


def _context(doc: Document, version: int) -> str:
    return f"ssm:{doc['ARN']}:{version}"


def seal_value(sealer: Sealer, doc: Document, entry: Entry, plain: str) -> None:
    """Store `plain` as `entry`'s value: sealed for a SecureString, as it is otherwise."""
    if entry["Type"] == SECURE:
        entry["Value"] = sealer.seal(plain.encode(), context=_context(doc, int(entry["Version"])))
    else:
        entry["Value"] = plain


def _value(sealer: Sealer, doc: Document, entry: Entry, decrypt: bool) -> str:
    if entry["Type"] != SECURE or not decrypt:
        return str(entry["Value"])
    try:
        return sealer.open(str(entry["Value"]), context=_context(doc, int(entry["Version"]))).decode()
    except SealError as exc:  # the data directory's key was replaced: the value is lost
        raise InvalidKeyId(f"Parameter {doc['Name']} cannot be decrypted with this server's key.") from exc


def parameter(
    sealer: Sealer, doc: Document, entry: Entry, *, decrypt: bool, selector: str | None = None
) -> Document:
    """A `Parameter` (GetParameter, GetParameters, GetParametersByPath)."""
    out: Document = {
        "Name": doc["Name"],
        "Type": entry["Type"],
        "Value": _value(sealer, doc, entry, decrypt),
        "Version": entry["Version"],
        "LastModifiedDate": entry["LastModifiedDate"],
        "ARN": doc["ARN"],
        "DataType": entry["DataType"],
    }
    if selector:
        out["Selector"] = selector
    return out


_META = ("Type", "KeyId", "LastModifiedDate", "LastModifiedUser", "Description", "AllowedPattern")


def metadata(doc: Document) -> Document:
    """A `ParameterMetadata` (DescribeParameters): the current version, without its value."""
    entry = current(doc)
    out: Document = {"Name": doc["Name"], "ARN": doc["ARN"]}
    out.update({k: entry[k] for k in _META if entry.get(k) is not None})
    out.update(
        {"Version": entry["Version"], "Tier": entry["Tier"], "Policies": [], "DataType": entry["DataType"]}
    )
    return out


def history_entry(sealer: Sealer, doc: Document, entry: Entry, *, decrypt: bool) -> Document:
    """A `ParameterHistory` (GetParameterHistory)."""
    out: Document = {"Name": doc["Name"]}
    out.update({k: entry[k] for k in _META if entry.get(k) is not None})
    out.update(
        {
            "Value": _value(sealer, doc, entry, decrypt),
            "Version": entry["Version"],
            "Labels": list(entry.get("Labels") or []),
            "Tier": entry["Tier"],
            "Policies": [],
            "DataType": entry["DataType"],
        }
    )
    return out
