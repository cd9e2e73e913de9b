"""Scan on push with the real docker CLI: an image built FROM scratch with a dpkg database listing
a vulnerable package, `docker push`ed to Dockyard's registry, scanned against an imported feed.

Needs a Docker engine (marker `docker`); run under the shared lock:
`flock /tmp/dockyard-docker.lock .venv/bin/pytest -q tests/api/test_ecr_scan_docker.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.cli.main import main as dockyard
from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import login
from tests.conftest import make_client

pytestmark = pytest.mark.docker

STATUS = """\
Package: libssl3
Status: install ok installed
Version: 3.0.11-1~deb12u1
Source: openssl
"""
RECORD = {
    "id": "DEBIAN-CVE-2023-5678",
    "modified": "2024-05-01T10:00:00Z",
    "upstream": ["CVE-2023-5678"],
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
    "affected": [
        {
            "package": {"ecosystem": "Debian:12", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}],
        }
    ],
}


def _docker(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["docker", *args], input=stdin, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture(name="scanning")
def scanning_fixture(tmp_path: Path) -> Iterator[ThreadedServer]:
    (tmp_path / "osv").mkdir()
    (tmp_path / "osv" / "record.json").write_text(json.dumps(RECORD))
    assert dockyard(["scan-feed", "import", str(tmp_path / "osv"), "--feed-dir", str(tmp_path / "feed")]) == 0
    with ThreadedServer(scan_feed_dir=tmp_path / "feed") as running:
        yield running


def test_docker_push_is_scanned_on_push(scanning: ThreadedServer, tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "status").write_text(STATUS)
    (context / "os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    (context / "Dockerfile").write_text(
        "FROM scratch\nCOPY status /var/lib/dpkg/status\nCOPY os-release /etc/os-release\n"
    )
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "docker-config"), "DOCKER_BUILDKIT": "0"}
    host = scanning.endpoint.removeprefix("http://")
    image = f"{host}/scan/e2e:{uuid.uuid4().hex[:8]}"
    ecr: Any = make_client(scanning.endpoint, "ecr")
    ecr.create_repository(repositoryName="scan/e2e", imageScanningConfiguration={"scanOnPush": True})
    _docker(env, "login", "--username", "AWS", "--password-stdin", host, stdin=login(scanning.endpoint))
    try:
        _docker(env, "build", "--quiet", "--tag", image, str(context))
        _docker(env, "push", image)
    finally:
        subprocess.run(
            ["docker", "rmi", "--force", image], env=env, capture_output=True, timeout=60, check=False
        )
    tag = image.rpartition(":")[2]
    deadline = time.monotonic() + 30
    status = None
    while time.monotonic() < deadline:
        detail = ecr.describe_images(repositoryName="scan/e2e", imageIds=[{"imageTag": tag}])["imageDetails"][
            0
        ]
        status = detail.get("imageScanStatus", {}).get("status")
        if status not in (None, "IN_PROGRESS"):
            break
        time.sleep(0.1)
    assert status == "COMPLETE"
    assert detail["imageScanFindingsSummary"]["findingSeverityCounts"] == {"HIGH": 1}
    findings = ecr.describe_image_scan_findings(repositoryName="scan/e2e", imageId={"imageTag": tag})
    [finding] = findings["imageScanFindings"]["findings"]
    assert (finding["name"], finding["severity"]) == ("CVE-2023-5678", "HIGH")
    attributes = {a["key"]: a["value"] for a in finding["attributes"]}
    assert (attributes["package_name"], attributes["package_version"]) == ("libssl3", "3.0.11-1~deb12u1")
