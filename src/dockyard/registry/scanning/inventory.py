"""The package inventory of an image: its OS release and installed OS and Python packages.

Sources, read from the image's final filesystem (`layers.read_layers`):

| file                                | gives                                                 |
|-------------------------------------|-------------------------------------------------------|
| etc/os-release (usr/lib/os-release) | distribution and release: `Debian:12`, `Alpine:v3.20` |
| var/lib/dpkg/status, status.d/*     | Debian packages, with source package and version      |
| lib/apk/db/installed                | Alpine packages, with their origin (source) package   |
| *.dist-info/METADATA, *.egg-info    | Python distributions (PyPI; names as in PEP 503)      |

An image with a dpkg database but no os-release (a distroless or `FROM scratch` image) is taken as
Debian of an unknown release, and matched against every Debian release of the feed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dockyard.registry.scanning.layers import ImageFiles

__all__ = ["Inventory", "OsRelease", "Package", "inventory", "normalize_pypi", "parse_os_release"]


@dataclass(frozen=True, slots=True)
class OsRelease:
    id: str  # debian, alpine, ubuntu, ...
    version_id: str
    pretty_name: str
    like: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Package:
    name: str
    version: str
    ecosystem: str  # "Debian:12", "Debian" (release unknown), "Alpine:v3.20", "PyPI"
    source: str = ""  # the source (dpkg) or origin (apk) package, when it differs from `name`
    source_version: str = ""
    path: str = ""


@dataclass
class Inventory:
    os: OsRelease | None = None
    packages: list[Package] = field(default_factory=list)
    rpm: bool = False  # an RPM database exists (not read by this scanner)

    @property
    def distribution(self) -> str:
        """The OSV ecosystem of the image's OS packages ("Debian:12"), "" when unknown."""
        return _ecosystem(self.os, dpkg=any(p.path.startswith("var/lib/dpkg") for p in self.packages))


def normalize_pypi(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_os_release(text: str) -> OsRelease:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return OsRelease(
        id=values.get("ID", "").lower(),
        version_id=values.get("VERSION_ID", ""),
        pretty_name=values.get("PRETTY_NAME", ""),
        like=tuple(values.get("ID_LIKE", "").lower().split()),
    )


def _ecosystem(os: OsRelease | None, *, dpkg: bool) -> str:
    if os is None:
        return "Debian" if dpkg else ""
    if os.id == "debian":
        return f"Debian:{os.version_id.split('.')[0]}" if os.version_id else "Debian"
    if os.id == "ubuntu":
        return f"Ubuntu:{os.version_id}" if os.version_id else "Ubuntu"
    if os.id == "alpine":
        parts = os.version_id.split(".")
        return f"Alpine:v{parts[0]}.{parts[1]}" if len(parts) >= 2 else "Alpine"
    if "ubuntu" in os.like:
        return "Ubuntu"
    if "debian" in os.like or dpkg:
        return "Debian"
    if "alpine" in os.like:
        return "Alpine"
    return ""


def _paragraphs(text: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                out.append(current)
            current, last = {}, ""
        elif line[0] in " \t":
            if last:
                current[last] += "\n" + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            last = key.strip()
            current[last] = value.strip()
    if current:
        out.append(current)
    return out


def _dpkg(text: str, ecosystem: str, path: str) -> list[Package]:
    found: list[Package] = []
    for para in _paragraphs(text):
        name, version = para.get("Package"), para.get("Version")
        status = para.get("Status", "install ok installed").split()
        if not name or not version or status[-1:] != ["installed"]:
            continue
        source, source_version = name, version
        if para.get("Source"):
            match = re.fullmatch(r"(\S+)(?:\s+\((\S+)\))?", para["Source"])
            if match:
                source = match.group(1)
                source_version = match.group(2) or version
        found.append(Package(name, version, ecosystem, source, source_version, path))
    return found


def _apk(text: str, ecosystem: str, path: str) -> list[Package]:
    found: list[Package] = []
    fields: dict[str, str] = {}
    for line in [*text.splitlines(), ""]:
        if line.strip():
            if len(line) > 1 and line[1] == ":":
                fields.setdefault(line[0], line[2:].strip())
            continue
        if fields.get("P") and fields.get("V"):
            origin = fields.get("o", fields["P"])
            found.append(Package(fields["P"], fields["V"], ecosystem, origin, fields["V"], path))
        fields = {}
    return found


def _python(text: str, path: str) -> Package | None:
    name = version = ""
    for line in text.splitlines():
        if not line.strip():
            break
        if line.startswith("Name:") and not name:
            name = line[5:].strip()
        elif line.startswith("Version:") and not version:
            version = line[8:].strip()
    if not name or not version:
        return None
    normalized = normalize_pypi(name)
    return Package(normalized, version, "PyPI", normalized, version, path)


def inventory(files: ImageFiles) -> Inventory:
    """What is installed in the image whose wanted files are `files`."""
    result = Inventory()
    release = files.read("etc/os-release") or files.read("usr/lib/os-release")
    if release is not None:
        result.os = parse_os_release(release.decode("utf-8", "replace"))
    paths = files.paths()
    dpkg_paths = [p for p in paths if p == "var/lib/dpkg/status" or p.startswith("var/lib/dpkg/status.d/")]
    os_ecosystem = _ecosystem(result.os, dpkg=bool(dpkg_paths))
    for path in dpkg_paths:
        data = files.read(path)
        if data is not None:
            result.packages += _dpkg(data.decode("utf-8", "replace"), os_ecosystem or "Debian", path)
    apk = files.read("lib/apk/db/installed")
    if apk is not None:
        result.packages += _apk(
            apk.decode("utf-8", "replace"), os_ecosystem or "Alpine", "lib/apk/db/installed"
        )
    seen: set[tuple[str, str]] = set()
    for path in paths:
        if not path.endswith(("/METADATA", "/PKG-INFO", ".egg-info")):
            continue
        data = files.read(path)
        package = _python(data.decode("utf-8", "replace"), path) if data is not None else None
        if package is not None and (package.name, package.version) not in seen:
            seen.add((package.name, package.version))
            result.packages.append(package)
    result.rpm = any(p.startswith(("var/lib/rpm/", "usr/lib/sysimage/rpm/")) for p in paths)
    return result
