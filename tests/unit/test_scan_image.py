"""Scanning as pure code: layers with whiteouts, the package inventory, the OSV feed and matching."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from dockyard.registry.scanning import Feed, FeedFile, import_feed, inventory, read_layers, scan_layers
from dockyard.registry.scanning.osv import affects, compact

DPKG_STATUS = """\
Package: libssl3
Status: install ok installed
Version: 3.0.11-1~deb12u1
Source: openssl

Package: zlib1g
Status: install ok installed
Version: 1:1.2.13.dfsg-1
Source: zlib (1.2.13.dfsg-1)

Package: removed-thing
Status: deinstall ok config-files
Version: 1.0

Package: bash
Status: install ok installed
Version: 5.2.15-2+b2
Description: GNU Bourne Again SHell
 The multi-line description
 goes on.
"""

APK_INSTALLED = """\
C:Q1abc=
P:musl
V:1.2.4-r2
o:musl

P:libcrypto3
V:3.1.4-r1
o:openssl
"""

METADATA = "Metadata-Version: 2.1\nName: Requests\nVersion: 2.25.0\n\nLong description: Version: 9.9\n"


def layer(
    files: dict[str, bytes | str | None], *, gz: bool = False, links: dict[str, str] | None = None
) -> io.BytesIO:
    """A layer: path -> content (None makes a directory); `links`: path -> symlink target."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            if content is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
                continue
            data = content.encode() if isinstance(content, str) else content
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for path, target in (links or {}).items():
            info = tarfile.TarInfo(path)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    data = raw.getvalue()
    return io.BytesIO(gzip.compress(data) if gz else data)


def osv(ident: str, ecosystem: str, name: str, events: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": ident,
        "modified": "2024-05-01T10:00:00Z",
        "summary": f"{name} is vulnerable",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ],
    }
    record.update(extra)
    return record


# -- layers ----------------------------------------------------------------------------------------


def test_layers_are_read_in_order_with_whiteouts_gzip_and_links() -> None:
    base = layer(
        {
            "etc/": None,
            "usr/lib/os-release": 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian 12"\n',
            "var/lib/dpkg/status": "old",
            "./usr/lib/python3/dist-packages/gone-1.0.dist-info/METADATA": "Name: gone\nVersion: 1.0\n",
            "opt/app/keep.dist-info/METADATA": "Name: keep\nVersion: 1\n",
            "bin/sh": b"\x7fELF",
        },
        links={"etc/os-release": "../usr/lib/os-release"},
    )
    top = layer(
        {
            "var/lib/dpkg/status": DPKG_STATUS,
            "usr/lib/python3/dist-packages/.wh.gone-1.0.dist-info": "",
            "opt/app/.wh..wh..opq": "",
            "opt/app/new.dist-info/METADATA": "Name: new\nVersion: 2\n",
        },
        gz=True,
    )
    files = read_layers([base, top])
    assert files.paths() == [
        "etc/os-release",
        "opt/app/new.dist-info/METADATA",
        "usr/lib/os-release",
        "var/lib/dpkg/status",
    ]
    assert files.read("var/lib/dpkg/status") == DPKG_STATUS.encode()
    assert files.read("etc/os-release") is not None and b"debian" in files.read("etc/os-release")  # type: ignore[operator]


def test_a_file_deleted_then_added_again_in_a_higher_layer_is_present() -> None:
    files = read_layers(
        [
            layer({"lib/apk/db/installed": "P:a\nV:1\n"}),
            layer({"lib/apk/db/.wh.installed": ""}),
            layer({"lib/apk/db/installed": APK_INSTALLED}),
        ]
    )
    assert files.read("lib/apk/db/installed") == APK_INSTALLED.encode()


def test_unreadable_and_zstd_layers_fail_the_scan() -> None:
    outcome = scan_layers([io.BytesIO(b"\x28\xb5\x2f\xfd" + b"\0" * 64)], Feed())
    assert outcome.status == "FAILED" and "zstd" in outcome.description
    assert scan_layers([io.BytesIO(b"not a tar at all" * 40)], Feed()).status == "FAILED"


# -- inventory -------------------------------------------------------------------------------------


def test_dpkg_inventory_with_sources_and_os_release() -> None:
    files = read_layers(
        [layer({"etc/os-release": 'ID=debian\nVERSION_ID="12"\n', "var/lib/dpkg/status": DPKG_STATUS})]
    )
    found = inventory(files)
    assert found.distribution == "Debian:12"
    assert [(p.name, p.version, p.source, p.source_version, p.ecosystem) for p in found.packages] == [
        ("libssl3", "3.0.11-1~deb12u1", "openssl", "3.0.11-1~deb12u1", "Debian:12"),
        ("zlib1g", "1:1.2.13.dfsg-1", "zlib", "1.2.13.dfsg-1", "Debian:12"),
        ("bash", "5.2.15-2+b2", "bash", "5.2.15-2+b2", "Debian:12"),
    ]


def test_apk_and_python_inventory() -> None:
    files = read_layers(
        [
            layer(
                {
                    "etc/os-release": "ID=alpine\nVERSION_ID=3.19.1\n",
                    "lib/apk/db/installed": APK_INSTALLED,
                    "usr/lib/python3.11/site-packages/requests-2.25.0.dist-info/METADATA": METADATA,
                    "usr/lib/python3/Old_Pkg.egg-info/PKG-INFO": "Name: Old_Pkg\nVersion: 0.1\n",
                }
            )
        ]
    )
    found = inventory(files)
    assert found.distribution == "Alpine:v3.19"
    assert [(p.name, p.version, p.source, p.ecosystem) for p in found.packages] == [
        ("musl", "1.2.4-r2", "musl", "Alpine:v3.19"),
        ("libcrypto3", "3.1.4-r1", "openssl", "Alpine:v3.19"),
        ("requests", "2.25.0", "requests", "PyPI"),
        ("old-pkg", "0.1", "old-pkg", "PyPI"),
    ]


def test_an_image_without_packages_is_unsupported() -> None:
    outcome = scan_layers([layer({"hello": "world", "var/lib/rpm/rpmdb.sqlite": b"SQLite"})], Feed())
    assert outcome.status == "UNSUPPORTED_IMAGE"
    assert (
        outcome.description
        == "UnsupportedImageError: The operating system and/or package manager are not supported."
    )
    assert outcome.inventory is not None and outcome.inventory.rpm


# -- OSV records -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "versions", "expected"),
    [
        (
            [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}],
            ["3.0.11-1~deb12u1", "3.0.13-1~deb12u1", "3.0.14-1"],
            [True, False, False],
        ),
        (
            [{"introduced": "2.0"}, {"last_affected": "2.5"}],
            ["1.9", "2.0", "2.5", "2.5.1"],
            [False, True, True, False],
        ),
        (
            [{"introduced": "1.0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"fixed": "2.2"}],
            ["1.2", "1.7", "2.1", "2.2"],
            [True, False, True, False],
        ),
        ([{"introduced": "0"}], ["0.1", "99"], [True, True]),
        ([{"introduced": "0"}, {"limit": "5.0"}], ["4.9", "5.0"], [True, False]),
    ],
)
def test_ranges(events: list[dict[str, str]], versions: list[str], expected: list[bool]) -> None:
    record = compact(osv("X-1", "Debian:12", "openssl", events))
    assert record is not None
    entry = record["affected"][0]
    assert [affects(entry, v, "Debian:12") for v in versions] == expected


def test_compact_record_names_severity_and_uri() -> None:
    ghsa = compact(
        osv(
            "GHSA-j8r2-6x86-q33q",
            "PyPI",
            "requests",
            [{"introduced": "2.3.0"}, {"fixed": "2.31.0"}],
            aliases=["CVE-2023-32681"],
            database_specific={"severity": "MODERATE"},
            references=[
                {"type": "WEB", "url": "https://example.test/web"},
                {"type": "ADVISORY", "url": "https://example.test/adv"},
            ],
        )
    )
    assert ghsa is not None
    assert (ghsa["name"], ghsa["severity"], ghsa["uri"]) == (
        "CVE-2023-32681",
        "MEDIUM",
        "https://example.test/adv",
    )
    scored = compact(
        osv(
            "CVE-2024-0001",
            "Alpine:v3.19",
            "openssl",
            [{"introduced": "0"}, {"fixed": "3.1.5-r0"}],
            severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        )
    )
    assert scored is not None and scored["severity"] == "CRITICAL" and scored["cvss"][0]["score"] == 9.8
    assert scored["uri"] == "https://osv.dev/vulnerability/CVE-2024-0001"
    bare = compact(osv("DSA-1", "Debian", "bash", [{"introduced": "0"}]))
    assert bare is not None and bare["severity"] == "UNDEFINED"
    assert compact({"id": "X", "affected": []}) is None
    assert compact(osv("W-1", "PyPI", "x", [], withdrawn="2024-01-01T00:00:00Z")) is None


# -- feed import and matching ----------------------------------------------------------------------

RECORDS = [
    osv(
        "DEBIAN-CVE-2023-5678",
        "Debian:12",
        "openssl",
        [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}],
        upstream=["CVE-2023-5678"],
        severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
    ),
    osv("DEBIAN-CVE-2022-0001", "Debian:11", "openssl", [{"introduced": "0"}]),  # another release
    osv(
        "DEBIAN-CVE-2023-0002", "Debian:12", "bash", [{"introduced": "0"}, {"fixed": "5.2.15-2"}]
    ),  # fixed already
    osv(
        "CVE-2023-0003",
        "Debian",
        "zlib",
        [{"introduced": "0"}, {"fixed": "1.2.13.dfsg-2"}],
        database_specific={"severity": "low"},
    ),
    osv(
        "GHSA-aaaa",
        "PyPI",
        "Requests",
        [{"introduced": "2.3.0"}, {"fixed": "2.31.0"}],
        aliases=["CVE-2023-32681"],
        database_specific={"severity": "MODERATE"},
    ),
    osv(
        "ALPINE-1",
        "Alpine:v3.19",
        "openssl",
        [{"introduced": "0"}, {"fixed": "3.1.4-r5"}],
        database_specific={"severity": "HIGH"},
    ),
]


def write_feed_sources(tmp_path: Path) -> tuple[Path, Path]:
    directory = tmp_path / "osv-dir"
    (directory / "debian").mkdir(parents=True)
    for record in RECORDS[:4]:
        (directory / "debian" / f"{record['id']}.json").write_text(json.dumps(record))
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("GHSA-aaaa.json", json.dumps(RECORDS[4]))
        out.writestr("ALPINE-1.json", json.dumps(RECORDS[5]))
        out.writestr("broken.json", "{not json")
    return directory, archive


def test_import_merges_sources_and_the_feed_file_reloads(tmp_path: Path) -> None:
    directory, archive = write_feed_sources(tmp_path)
    feed_dir = tmp_path / "feed"
    watched = FeedFile(feed_dir)
    assert watched.current().records == {}
    first = import_feed(directory, feed_dir)
    assert (first.added, first.updated, first.total) == (4, 0, 4)
    assert len(watched.current().records) == 4
    second = import_feed(archive, feed_dir)
    assert (second.added, second.total) == (2, 6)
    assert len(watched.current().records) == 6
    assert watched.current().updated_at == second.updated_at == 1714557600.0
    again = import_feed(archive, feed_dir)  # same records, same modified time: replaced in place
    assert (again.added, again.updated, again.total) == (0, 2, 6)
    with pytest.raises(FileNotFoundError):
        import_feed(tmp_path / "missing", feed_dir)


def test_debian_image_findings(tmp_path: Path) -> None:
    directory, archive = write_feed_sources(tmp_path)
    import_feed(directory, tmp_path / "feed")
    import_feed(archive, tmp_path / "feed")
    feed = FeedFile(tmp_path / "feed").current()
    image = layer(
        {
            "etc/os-release": 'ID=debian\nVERSION_ID="12"\n',
            "var/lib/dpkg/status": DPKG_STATUS,
            "usr/local/lib/python3.11/site-packages/requests-2.25.0.dist-info/METADATA": METADATA,
        },
        gz=True,
    )
    outcome = scan_layers([image], feed)
    assert outcome.status == "COMPLETE"
    assert [(f.name, f.severity, f.package_name, f.package_version) for f in outcome.findings] == [
        ("CVE-2023-5678", "HIGH", "libssl3", "3.0.11-1~deb12u1"),
        ("CVE-2023-32681", "MEDIUM", "requests", "2.25.0"),
        ("CVE-2023-0003", "LOW", "zlib1g", "1:1.2.13.dfsg-1"),
    ]
    assert outcome.findings[0].attributes() == [
        {"key": "package_version", "value": "3.0.11-1~deb12u1"},
        {"key": "package_name", "value": "libssl3"},
        {"key": "CVSS3_VECTOR", "value": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"},
        {"key": "CVSS3_SCORE", "value": "7.5"},
    ]


def test_scratch_image_with_only_a_dpkg_database_matches_every_debian_release(tmp_path: Path) -> None:
    directory, _ = write_feed_sources(tmp_path)
    import_feed(directory, tmp_path / "feed")
    feed = FeedFile(tmp_path / "feed").current()
    outcome = scan_layers([layer({"var/lib/dpkg/status": DPKG_STATUS})], feed)
    assert sorted(f.name for f in outcome.findings) == [
        "CVE-2023-0003",
        "CVE-2023-5678",
        "DEBIAN-CVE-2022-0001",
    ]


def test_alpine_findings_use_the_origin_package(tmp_path: Path) -> None:
    _, archive = write_feed_sources(tmp_path)
    import_feed(archive, tmp_path / "feed")
    feed = FeedFile(tmp_path / "feed").current()
    image = layer({"etc/os-release": "ID=alpine\nVERSION_ID=3.19.1\n", "lib/apk/db/installed": APK_INSTALLED})
    outcome = scan_layers([image], feed)
    assert [(f.name, f.severity, f.package_name) for f in outcome.findings] == [
        ("ALPINE-1", "HIGH", "libcrypto3")
    ]
    other_release = layer(
        {"etc/os-release": "ID=alpine\nVERSION_ID=3.20.0\n", "lib/apk/db/installed": APK_INSTALLED}
    )
    assert scan_layers([other_release], feed).findings == []


class _RemoteBlobs:
    """A catalog whose storage has no local files: blobs stream through `read_blob`."""

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs

    def blob_path(self, digest: str) -> None:
        return None

    async def read_blob(self, digest: str, start: int, length: int) -> Any:
        data = self.blobs[digest][start : start + length]
        for offset in range(0, len(data), 7):  # small chunks, to cross many reads
            yield data[offset : offset + 7]


async def test_layers_stream_from_remote_storage_into_the_worker_thread() -> None:
    import asyncio
    from contextlib import ExitStack
    from typing import cast

    from dockyard.registry.catalog import Catalog
    from dockyard.registry.manifests import Descriptor
    from dockyard.registry.scanning.blobs import layer_streams

    data = layer(
        {"etc/os-release": "ID=alpine\nVERSION_ID=3.19.1\n", "lib/apk/db/installed": APK_INSTALLED}, gz=True
    )
    catalog = cast(Catalog, _RemoteBlobs({"sha256:l1": data.getvalue()}))
    loop = asyncio.get_running_loop()
    descriptor = Descriptor("sha256:l1", "application/vnd.oci.image.layer.v1.tar+gzip", len(data.getvalue()))

    def run() -> Any:
        with ExitStack() as stack:
            return inventory(read_layers(layer_streams(catalog, [descriptor], loop, stack)))

    found = await asyncio.to_thread(run)
    assert [p.name for p in found.packages] == ["musl", "libcrypto3"]
