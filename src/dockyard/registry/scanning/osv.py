"""OSV vulnerability records: the compact form the feed keeps, and whether a version is affected.

An imported OSV record (https://ossf.github.io/osv-schema/) is reduced to what a finding shows and
what matching needs:

    {"id", "name" (the CVE id when the record has one), "description", "uri", "severity",
     "cvss": [{"type", "vector", "score"}], "modified",
     "affected": [{"ecosystem", "name", "severity"?, "ranges": [{"type", "events"}], "versions"}]}

Severity, first found: the record's `database_specific.severity` (GHSA: LOW/MODERATE/HIGH/
CRITICAL), the affected entry's `ecosystem_specific`/`database_specific` severity or urgency, a
textual `severity` entry (Ubuntu), the CVSS v3 then v2 base score; else UNDEFINED.

Ranges of type ECOSYSTEM and SEMVER are evaluated with the ecosystem's version ordering
(`versions.compare`); GIT ranges are ignored. A version is affected when it is listed in `versions`
or falls in a range: at or after an `introduced`, before the next `fixed` or `limit`, and not
after a `last_affected`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dockyard.registry.scanning.cvss import base_score, rating
from dockyard.registry.scanning.versions import InvalidVersion, compare

__all__ = ["SEVERITIES", "affects", "compact", "severity_word"]

Record = dict[str, Any]
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
_WORDS = {
    "critical": "CRITICAL",
    "high": "HIGH",
    "important": "HIGH",
    "moderate": "MEDIUM",
    "medium": "MEDIUM",
    "low": "LOW",
    "negligible": "INFORMATIONAL",
    "unimportant": "INFORMATIONAL",
    "informational": "INFORMATIONAL",
}
_MAX_DESCRIPTION = 2048


def severity_word(value: Any) -> str | None:
    """ECR's severity for a severity word of some database ("MODERATE" -> "MEDIUM"), else None."""
    if not isinstance(value, str):
        return None
    return _WORDS.get(value.strip().lower())


def _timestamp(value: Any) -> float:
    if not isinstance(value, str):
        return 0.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _display_name(record: Record) -> str:
    ident = str(record["id"])
    if ident.startswith("CVE-"):
        return ident
    for key in ("aliases", "upstream", "related"):
        for other in record.get(key) or []:
            if isinstance(other, str) and other.startswith("CVE-"):
                return other
    return ident


def _uri(record: Record) -> str:
    references = [r for r in record.get("references") or [] if isinstance(r, dict) and r.get("url")]
    for kind in ("ADVISORY", "WEB"):
        for reference in references:
            if reference.get("type") == kind:
                return str(reference["url"])
    if references:
        return str(references[0]["url"])
    return f"https://osv.dev/vulnerability/{record['id']}"


def _affected_severity(entry: Record) -> str | None:
    for bag in ("ecosystem_specific", "database_specific"):
        specific = entry.get(bag)
        if isinstance(specific, dict):
            for key in ("severity", "urgency"):
                word = severity_word(specific.get(key))
                if word:
                    return word
    return None


def _cvss(record: Record) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for entry in record.get("severity") or []:
        if not isinstance(entry, dict):
            continue
        kind, vector = str(entry.get("type", "")), str(entry.get("score", ""))
        score = base_score(kind, vector)
        if score is not None:
            out.append({"type": kind, "vector": vector, "score": score})
    return out


def _record_severity(record: Record, cvss: list[dict[str, Any]]) -> str:
    specific = record.get("database_specific")
    if isinstance(specific, dict):
        word = severity_word(specific.get("severity"))
        if word:
            return word
    for entry in record.get("severity") or []:
        if isinstance(entry, dict) and entry.get("type") not in ("CVSS_V2", "CVSS_V3", "CVSS_V4"):
            word = severity_word(entry.get("score"))
            if word:
                return word
    for kind in ("CVSS_V3", "CVSS_V2"):
        for entry in cvss:
            if entry["type"] == kind:
                return rating(float(entry["score"]))
    return "UNDEFINED"


def compact(record: Record) -> Record | None:
    """The feed's form of one OSV record, or None when it affects no package."""
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        return None
    affected: list[Record] = []
    for entry in record.get("affected") or []:
        package = entry.get("package") if isinstance(entry, dict) else None
        if not isinstance(package, dict) or not package.get("name") or not package.get("ecosystem"):
            continue
        ranges = [
            {"type": r.get("type"), "events": [e for e in r.get("events") or [] if isinstance(e, dict)]}
            for r in entry.get("ranges") or []
            if isinstance(r, dict) and r.get("type") in ("ECOSYSTEM", "SEMVER")
        ]
        out: Record = {
            "ecosystem": str(package["ecosystem"]),
            "name": str(package["name"]),
            "ranges": ranges,
            "versions": [str(v) for v in entry.get("versions") or []],
        }
        severity = _affected_severity(entry)
        if severity:
            out["severity"] = severity
        affected.append(out)
    if not affected or record.get("withdrawn"):
        return None
    cvss = _cvss(record)
    description = str(record.get("details") or record.get("summary") or "")
    return {
        "id": record["id"],
        "name": _display_name(record),
        "description": description[:_MAX_DESCRIPTION],
        "uri": _uri(record),
        "severity": _record_severity(record, cvss),
        "cvss": cvss,
        "modified": _timestamp(record.get("modified")),
        "affected": affected,
    }


def _event_version(event: Record) -> tuple[str, str] | None:
    for kind in ("introduced", "fixed", "last_affected", "limit"):
        if kind in event:
            return kind, str(event[kind])
    return None


def _in_range(ecosystem: str, version: str, events: list[Record]) -> bool:
    parsed = [p for p in (_event_version(e) for e in events) if p is not None]

    def key_cmp(item: tuple[str, str]) -> Any:
        kind, value = item
        return _VersionKey(ecosystem, value, first=(kind == "introduced" and value == "0"))

    ordered = sorted(parsed, key=key_cmp)
    affected = False
    for kind, value in ordered:
        if kind == "introduced":
            if value == "0" or compare(ecosystem, version, value) >= 0:
                affected = True
        elif kind in ("fixed", "limit"):
            if compare(ecosystem, version, value) >= 0:
                affected = False
        elif kind == "last_affected" and compare(ecosystem, version, value) > 0:
            affected = False
    return affected


class _VersionKey:
    """Sorts event versions with the ecosystem's ordering ("introduced: 0" before everything)."""

    __slots__ = ("ecosystem", "value", "first")

    def __init__(self, ecosystem: str, value: str, *, first: bool) -> None:
        self.ecosystem, self.value, self.first = ecosystem, value, first

    def __lt__(self, other: _VersionKey) -> bool:
        if self.first or other.first:
            return self.first and not other.first
        return compare(self.ecosystem, self.value, other.value) < 0


def affects(entry: Record, version: str, ecosystem: str) -> bool:
    """True when `version` (of `ecosystem`'s ordering) is affected per this `affected` entry."""
    if version in entry.get("versions", ()):
        return True
    for window in entry.get("ranges", ()):
        try:
            if _in_range(ecosystem, version, window["events"]):
                return True
        except InvalidVersion:
            continue
    return False
