"""OCI distribution spec, pull workflow: the base endpoint, blobs and manifests by tag and digest,
ranges, content negotiation and the error body (end-1, end-2, end-3)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    V2,
    login,
    sha256,
)
from tests.conftest import make_client

REPO = "conformance/pull"


@pytest.fixture
def ecr(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "ecr")


@pytest.fixture
def v2(server: ThreadedServer, ecr: Any) -> V2:
    ecr.create_repository(repositoryName=REPO)
    return V2(server.endpoint, login(server.endpoint))


def test_base_endpoint_challenges_then_answers(server: ThreadedServer, v2: V2) -> None:
    anonymous = V2(server.endpoint, None).request("GET", "/v2/")
    assert anonymous.status == 401
    assert anonymous.header("Docker-Distribution-API-Version") == "registry/2.0"
    challenge = anonymous.header("WWW-Authenticate") or ""
    assert challenge.startswith('Basic realm="http://') and 'service="ecr.amazonaws.com"' in challenge
    assert anonymous.error_codes == ["UNAUTHORIZED"]
    answer = v2.request("GET", "/v2/")
    assert answer.status == 200
    assert answer.header("Docker-Distribution-API-Version") == "registry/2.0"


def test_every_endpoint_challenges_without_credentials(server: ThreadedServer, v2: V2) -> None:
    image = v2.push_image(REPO, "v1")
    anonymous = V2(server.endpoint, None)
    bad = V2(server.endpoint, "dky1.forged.token")
    for client in (anonymous, bad):
        for method, path in [
            ("HEAD", f"/v2/{REPO}/manifests/v1"),
            ("GET", f"/v2/{REPO}/blobs/{image.blobs[0]}"),
            ("POST", f"/v2/{REPO}/blobs/uploads/"),
            ("GET", f"/v2/{REPO}/tags/list"),
            ("GET", "/v2/_catalog"),
        ]:
            answer = client.request(method, path)
            assert answer.status == 401, (method, path)
            assert (answer.header("WWW-Authenticate") or "").startswith("Basic realm=")


def test_missing_blob_and_manifest_are_404_with_error_codes(v2: V2) -> None:
    digest = sha256(b"never pushed")
    for method in ("HEAD", "GET"):
        answer = v2.request(method, f"/v2/{REPO}/blobs/{digest}")
        assert answer.status == 404
        if method == "GET":
            assert answer.error_codes == ["BLOB_UNKNOWN"]
    for reference in ("nope", digest):
        answer = v2.request("GET", f"/v2/{REPO}/manifests/{reference}")
        assert answer.status == 404
        body = answer.json()
        assert body["errors"][0]["code"] == "MANIFEST_UNKNOWN"
        assert set(body["errors"][0]) >= {"code", "message"}
        assert v2.request("HEAD", f"/v2/{REPO}/manifests/{reference}").status == 404


def test_blob_head_and_get(v2: V2) -> None:
    data = os.urandom(4096)
    digest = v2.push_blob(REPO, data)
    head = v2.request("HEAD", f"/v2/{REPO}/blobs/{digest}")
    assert head.status == 200
    assert head.body == b""
    assert head.header("Content-Length") == "4096"
    assert head.header("Docker-Content-Digest") == digest
    got = v2.request("GET", f"/v2/{REPO}/blobs/{digest}")
    assert got.status == 200
    assert got.body == data
    assert got.header("Docker-Content-Digest") == digest
    assert got.header("Content-Type") == "application/octet-stream"
    assert got.header("ETag") == f'"{digest}"'
    assert got.header("Accept-Ranges") == "bytes"


@pytest.mark.parametrize(
    ("requested", "start", "end"),
    [
        ("bytes=500-1499", 500, 1499),
        ("bytes=-500", 1548, 2047),
        ("bytes=500-", 500, 2047),
        ("bytes=0-99999", 0, 2047),
    ],
)
def test_blob_ranges(v2: V2, requested: str, start: int, end: int) -> None:
    data = os.urandom(2048)
    digest = v2.push_blob(REPO, data)
    got = v2.request("GET", f"/v2/{REPO}/blobs/{digest}", headers={"Range": requested})
    assert got.status == 206
    assert got.body == data[start : end + 1]
    assert got.header("Content-Range") == f"bytes {start}-{end}/2048"


def test_a_range_past_the_end_is_416(v2: V2) -> None:
    digest = v2.push_blob(REPO, b"x" * 100)
    got = v2.request("GET", f"/v2/{REPO}/blobs/{digest}", headers={"Range": "bytes=100-200"})
    assert got.status == 416
    assert got.header("Content-Range") == "bytes */100"


def test_manifest_by_tag_and_digest_returns_the_exact_bytes(v2: V2) -> None:
    image = v2.push_image(REPO, "v1")
    for reference in ("v1", image.digest):
        head = v2.request("HEAD", f"/v2/{REPO}/manifests/{reference}")
        assert head.status == 200
        assert head.header("Docker-Content-Digest") == image.digest
        assert head.header("Content-Length") == str(len(image.manifest))
        assert head.header("Content-Type") == DOCKER_MANIFEST
        got = v2.request("GET", f"/v2/{REPO}/manifests/{reference}", headers={"Accept": DOCKER_MANIFEST})
        assert got.status == 200
        assert got.body == image.manifest  # byte for byte, indentation included
        assert sha256(got.body) == image.digest
        assert got.header("Content-Type") == DOCKER_MANIFEST


def test_accept_header_excluding_the_stored_type_is_manifest_unknown(v2: V2) -> None:
    v2.push_image(REPO, "oci", media_type=OCI_MANIFEST)
    refused = v2.request("GET", f"/v2/{REPO}/manifests/oci", headers={"Accept": DOCKER_MANIFEST})
    assert refused.status == 404
    assert refused.error_codes == ["MANIFEST_UNKNOWN"]
    accepted = v2.request(
        "GET", f"/v2/{REPO}/manifests/oci", headers={"Accept": f"{DOCKER_MANIFEST}, {OCI_MANIFEST}"}
    )
    assert accepted.status == 200
    assert accepted.header("Content-Type") == OCI_MANIFEST


def test_manifest_list_then_its_children(v2: V2) -> None:
    amd = v2.push_image(REPO, None, layers=[b"amd64 layer"])
    arm = v2.push_image(REPO, None, layers=[b"arm64 layer"])
    index = v2.push_index(REPO, "multi", [amd, arm], media_type=DOCKER_LIST)
    got = v2.request("GET", f"/v2/{REPO}/manifests/multi")
    assert got.status == 200
    assert got.header("Content-Type") == DOCKER_LIST
    assert got.header("Docker-Content-Digest") == index.digest
    children = [m["digest"] for m in json.loads(got.body)["manifests"]]
    assert children == [amd.digest, arm.digest]
    for child in (amd, arm):
        assert v2.request("GET", f"/v2/{REPO}/manifests/{child.digest}").body == child.manifest


def test_pull_from_a_missing_repository_is_name_unknown(v2: V2) -> None:
    answer = v2.request("GET", "/v2/no/such/manifests/latest")
    assert answer.status == 404
    assert answer.error_codes == ["NAME_UNKNOWN"]
    assert answer.json()["errors"][0]["message"] == (
        "The repository with name 'no/such' does not exist in the registry with id '123456789012'"
    )
