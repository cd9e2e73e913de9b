"""ECR basic scanning through boto3: images pushed through the registry (/v2/), a feed imported
with `dockyard scan-feed import`, scan on push, StartImageScan and DescribeImageScanFindings."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.cli.main import main as dockyard
from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import V2, login
from tests.conftest import make_client, reset

DPKG_STATUS = """\
Package: libssl3
Status: install ok installed
Version: 3.0.11-1~deb12u1
Source: openssl

Package: zlib1g
Status: install ok installed
Version: 1:1.2.13.dfsg-1
Source: zlib (1.2.13.dfsg-1)

Package: tzdata
Status: install ok installed
Version: 2024a-0+deb12u1
"""

FEED = [
    {
        "id": "DEBIAN-CVE-2023-5678",
        "modified": "2024-05-01T10:00:00Z",
        "upstream": ["CVE-2023-5678"],
        "details": "Generating excessively long X9.42 DH keys can be slow.",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
        "references": [
            {"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/CVE-2023-5678"}
        ],
        "affected": [
            {
                "package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}
                ],
            }
        ],
    },
    {
        "id": "DEBIAN-CVE-2023-45853",
        "modified": "2024-06-02T08:30:00Z",
        "upstream": ["CVE-2023-45853"],
        "summary": "MiniZip integer overflow",
        "database_specific": {"severity": "CRITICAL"},
        "affected": [
            {
                "package": {"ecosystem": "Debian", "name": "zlib"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:1.3.dfsg-1"}]}],
            }
        ],
    },
    {
        "id": "DEBIAN-CVE-2020-0001",
        "modified": "2023-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "Debian:12", "name": "tzdata"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2020b-1"}]}],
            }
        ],
    },
]


def layer(files: dict[str, str]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


DEBIAN_LAYER = layer({"etc/os-release": 'ID=debian\nVERSION_ID="12"\n', "var/lib/dpkg/status": DPKG_STATUS})


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def _eventually(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module", name="scanner")
def scanner_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    root = tmp_path_factory.mktemp("scan")
    source = root / "osv"
    source.mkdir()
    for record in FEED:
        (source / f"{record['id']}.json").write_text(json.dumps(record))
    feed_dir = root / "feed"
    assert dockyard(["scan-feed", "import", str(source), "--feed-dir", str(feed_dir)]) == 0
    with ThreadedServer(scan_feed_dir=feed_dir) as running:
        yield running


@pytest.fixture(name="ecr")
def ecr_fixture(scanner: ThreadedServer) -> Any:
    reset(scanner.endpoint)
    return make_client(scanner.endpoint, "ecr")


def _detail(ecr: Any, repository: str, digest: str) -> dict[str, Any]:
    found: dict[str, Any] = ecr.describe_images(
        repositoryName=repository, imageIds=[{"imageDigest": digest}]
    )["imageDetails"][0]
    return found


def _complete(ecr: Any, repository: str, digest: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        detail = _detail(ecr, repository, digest)
        status = detail.get("imageScanStatus", {}).get("status")
        return detail if status not in (None, "IN_PROGRESS") else None

    return _eventually(done, "the scan to finish")  # type: ignore[no-any-return]


def test_scan_on_push_reports_the_feed_findings(scanner: ThreadedServer, ecr: Any) -> None:
    ecr.create_repository(repositoryName="base/debian", imageScanningConfiguration={"scanOnPush": True})
    v2 = V2(scanner.endpoint, login(scanner.endpoint))
    image = v2.push_image("base/debian", "12", layers=[DEBIAN_LAYER])
    detail = _complete(ecr, "base/debian", image.digest)
    assert detail["imageScanStatus"] == {
        "status": "COMPLETE",
        "description": "The scan was completed successfully.",
    }
    summary = detail["imageScanFindingsSummary"]
    assert summary["findingSeverityCounts"] == {"CRITICAL": 1, "HIGH": 1}
    assert summary["vulnerabilitySourceUpdatedAt"].timestamp() == 1717317000.0

    found = ecr.describe_image_scan_findings(repositoryName="base/debian", imageId={"imageTag": "12"})
    assert found["imageId"] == {"imageDigest": image.digest, "imageTag": "12"}
    assert found["imageScanStatus"]["status"] == "COMPLETE"
    findings = found["imageScanFindings"]
    assert findings["findingSeverityCounts"] == {"CRITICAL": 1, "HIGH": 1}
    assert [(f["name"], f["severity"]) for f in findings["findings"]] == [
        ("CVE-2023-45853", "CRITICAL"),
        ("CVE-2023-5678", "HIGH"),
    ]
    high = findings["findings"][1]
    assert high["uri"] == "https://security-tracker.debian.org/tracker/CVE-2023-5678"
    assert high["description"].startswith("Generating excessively long")
    assert {a["key"]: a["value"] for a in high["attributes"]} == {
        "package_name": "libssl3",
        "package_version": "3.0.11-1~deb12u1",
        "CVSS3_VECTOR": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        "CVSS3_SCORE": "7.5",
    }
    first = ecr.describe_image_scan_findings(
        repositoryName="base/debian", imageId={"imageDigest": image.digest}, maxResults=1
    )
    rest = ecr.describe_image_scan_findings(
        repositoryName="base/debian", imageId={"imageDigest": image.digest}, nextToken=first["nextToken"]
    )
    paged = first["imageScanFindings"]["findings"] + rest["imageScanFindings"]["findings"]
    assert [f["name"] for f in paged] == ["CVE-2023-45853", "CVE-2023-5678"] and "nextToken" not in rest


def test_start_image_scan_once_a_day(scanner: ThreadedServer, ecr: Any) -> None:
    ecr.create_repository(repositoryName="app")
    v2 = V2(scanner.endpoint, login(scanner.endpoint))
    image = v2.push_image("app", "v1", layers=[DEBIAN_LAYER])
    time.sleep(0.2)  # scan on push is off: nothing may scan the image
    assert "imageScanStatus" not in _detail(ecr, "app", image.digest)
    code, message = _error(
        lambda: ecr.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})
    )
    assert code == "ScanNotFoundException"
    assert message == (
        "Image scan does not exist for the image with '{imageDigest:'null', imageTag:'v1'}' in the "
        "repository with name 'app' in the registry with id '123456789012'"
    )
    started = ecr.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    assert started["imageScanStatus"] == {"status": "IN_PROGRESS"}
    assert started["imageId"] == {"imageDigest": image.digest, "imageTag": "v1"}
    assert _complete(ecr, "app", image.digest)["imageScanFindingsSummary"]["findingSeverityCounts"] == {
        "CRITICAL": 1,
        "HIGH": 1,
    }
    code, message = _error(
        lambda: ecr.start_image_scan(repositoryName="app", imageId={"imageDigest": image.digest})
    )
    assert (code, message) == (
        "LimitExceededException",
        "The scan quota per image has been exceeded. Wait and try again.",
    )
    code, message = _error(lambda: ecr.start_image_scan(repositoryName="app", imageId={"imageTag": "nope"}))
    assert code == "ImageNotFoundException"
    assert message == (
        "The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the "
        "repository with name 'app' in the registry with id '123456789012'"
    )
    assert _error(lambda: ecr.start_image_scan(repositoryName="gone", imageId={"imageTag": "v1"}))[0] == (
        "RepositoryNotFoundException"
    )


def test_scan_on_push_turned_on_later_scans_only_new_pushes(scanner: ThreadedServer, ecr: Any) -> None:
    ecr.create_repository(repositoryName="later")
    v2 = V2(scanner.endpoint, login(scanner.endpoint))
    old = v2.push_image("later", "old", layers=[DEBIAN_LAYER])
    answer = ecr.put_image_scanning_configuration(
        repositoryName="later", imageScanningConfiguration={"scanOnPush": True}
    )
    assert answer["imageScanningConfiguration"] == {"scanOnPush": True}
    described = ecr.describe_repositories(repositoryNames=["later"])["repositories"][0]
    assert described["imageScanningConfiguration"] == {"scanOnPush": True}
    empty = v2.push_image("later", "empty", layers=[layer({"hello.txt": "no packages here"})])
    detail = _complete(ecr, "later", empty.digest)
    assert detail["imageScanStatus"] == {
        "status": "UNSUPPORTED_IMAGE",
        "description": "UnsupportedImageError: The operating system and/or package manager are not "
        "supported.",
    }
    assert "imageScanFindingsSummary" not in detail
    assert "imageScanStatus" not in _detail(ecr, "later", old.digest)
    assert (
        _error(
            lambda: ecr.put_image_scanning_configuration(
                repositoryName="gone", imageScanningConfiguration={"scanOnPush": True}
            )
        )[0]
        == "RepositoryNotFoundException"
    )


def test_feed_import_command_reports_and_merges(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "one.json"
    source.write_text(json.dumps(FEED[:2]))
    assert dockyard(["scan-feed", "import", str(source), "--feed-dir", str(tmp_path / "feed")]) == 0
    assert "2 new, 0 updated, 2 records; newest modified 2024-06-02T08:30:00Z" in capsys.readouterr().out
    assert dockyard(["scan-feed", "status", "--feed-dir", str(tmp_path / "feed")]) == 0
    assert "2 records" in capsys.readouterr().out
    assert (
        dockyard(["scan-feed", "import", str(tmp_path / "missing"), "--feed-dir", str(tmp_path / "feed")])
        == 1
    )


def test_registry_scan_on_push_rules(scanner: ThreadedServer, ecr: Any) -> None:
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"] == {
        "scanType": "BASIC",
        "rules": [],
    }
    rules = [
        {
            "scanFrequency": "SCAN_ON_PUSH",
            "repositoryFilters": [{"filter": "team-*", "filterType": "WILDCARD"}],
        }
    ]
    answer = ecr.put_registry_scanning_configuration(scanType="BASIC", rules=rules)
    assert answer["registryScanningConfiguration"] == {"scanType": "BASIC", "rules": rules}
    got = ecr.get_registry_scanning_configuration()
    assert got["registryId"] == "123456789012" and got["scanningConfiguration"]["rules"] == rules
    code, message = _error(lambda: ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[]))
    assert code == "InvalidParameterException" and "BASIC" in message
    continuous = [
        {"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}
    ]
    assert _error(lambda: ecr.put_registry_scanning_configuration(scanType="BASIC", rules=continuous))[0] == (
        "InvalidParameterException"
    )
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"]["rules"] == rules

    ecr.create_repository(repositoryName="team-a")
    ecr.create_repository(repositoryName="other")
    v2 = V2(scanner.endpoint, login(scanner.endpoint))
    scanned = v2.push_image("team-a", "v1", layers=[DEBIAN_LAYER])
    skipped = v2.push_image("other", "v1", layers=[DEBIAN_LAYER])
    assert _complete(ecr, "team-a", scanned.digest)["imageScanStatus"]["status"] == "COMPLETE"
    assert "imageScanStatus" not in _detail(ecr, "other", skipped.digest)
    batch = ecr.batch_get_repository_scanning_configuration(repositoryNames=["team-a", "other", "missing"])
    assert [
        (c["repositoryName"], c["scanOnPush"], c["scanFrequency"], c["appliedScanFilters"])
        for c in batch["scanningConfigurations"]
    ] == [
        ("team-a", True, "SCAN_ON_PUSH", [{"filter": "team-*", "filterType": "WILDCARD"}]),
        ("other", False, "MANUAL", []),
    ]
    assert batch["failures"] == [
        {
            "repositoryName": "missing",
            "failureCode": "REPOSITORY_NOT_FOUND",
            "failureReason": "REPOSITORY_NOT_FOUND",
        }
    ]
