"""Match an image's inventory against the feed: one finding per vulnerability and package.

A package is looked up by its own name and by its source (dpkg) or origin (apk) package name,
since Debian and Alpine advisories name source packages; the source name is compared with the
source version. An advisory applies when its ecosystem is the package's family and, when both
name a release (`Debian:12`, `Alpine:v3.20`), the same release (an image whose release is unknown
is matched against every release).
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.registry.scanning.feed import Feed
from dockyard.registry.scanning.inventory import Inventory, Package
from dockyard.registry.scanning.osv import SEVERITIES, Record, affects

__all__ = ["Finding", "match", "severity_counts"]


@dataclass(frozen=True, slots=True)
class Finding:
    name: str  # CVE id, else the advisory id
    description: str
    uri: str
    severity: str  # INFORMATIONAL | LOW | MEDIUM | HIGH | CRITICAL | UNDEFINED
    package_name: str
    package_version: str
    advisory: str  # the OSV id
    cvss: tuple[tuple[str, str, float], ...] = ()  # (type, vector, base score)

    def attributes(self) -> list[dict[str, str]]:
        """ECR's finding attributes: package_name, package_version and CVSS scores and vectors."""
        out = [
            {"key": "package_version", "value": self.package_version},
            {"key": "package_name", "value": self.package_name},
        ]
        for kind, vector, score in self.cvss:
            prefix = "CVSS3" if kind == "CVSS_V3" else "CVSS2"
            out.append({"key": f"{prefix}_VECTOR", "value": vector})
            out.append({"key": f"{prefix}_SCORE", "value": str(score)})
        return out


def _release(ecosystem: str) -> tuple[str, str]:
    parts = ecosystem.split(":")
    return parts[0], parts[1] if len(parts) > 1 else ""


def _applies(advisory_ecosystem: str, package_ecosystem: str) -> bool:
    base, release = _release(advisory_ecosystem)
    package_base, package_release = _release(package_ecosystem)
    return base == package_base and (not release or not package_release or release == package_release)


def _candidates(package: Package) -> list[tuple[str, str]]:
    names = [(package.name, package.version)]
    if package.source and package.source != package.name:
        names.append((package.source, package.source_version or package.version))
    elif package.source_version and package.source_version != package.version:
        names.append((package.name, package.source_version))
    return names


def _finding(record: Record, entry: Record, package: Package) -> Finding:
    cvss = tuple((str(c["type"]), str(c["vector"]), float(c["score"])) for c in record.get("cvss", ()))
    return Finding(
        name=str(record["name"]),
        description=str(record.get("description", "")),
        uri=str(record["uri"]),
        severity=str(entry.get("severity") or record["severity"]),
        package_name=package.name,
        package_version=package.version,
        advisory=str(record["id"]),
        cvss=cvss,
    )


def match(inventory: Inventory, feed: Feed) -> list[Finding]:
    """The findings for `inventory`, most severe first, then by name and package."""
    found: dict[tuple[str, str, str], Finding] = {}
    for package in inventory.packages:
        base, _ = _release(package.ecosystem)
        for name, version in _candidates(package):
            for record, entry in feed.lookup(base, name):
                if not _applies(entry["ecosystem"], package.ecosystem):
                    continue
                key = (str(record["name"]), package.name, package.version)
                if key in found or not affects(entry, version, entry["ecosystem"]):
                    continue
                found[key] = _finding(record, entry, package)
    return sorted(
        found.values(),
        key=lambda f: (SEVERITIES.index(f.severity), f.name, f.package_name, f.package_version),
    )


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    return counts
