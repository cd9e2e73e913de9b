"""What the /v2/ endpoints refuse, and that a refusal stores nothing: wrong and malformed digests,
manifests naming unknown blobs, invalid names and path traversal, oversized manifests, immutable
tags; and the same layer pushed to eight repositories at once ending up on disk once."""

from __future__ import annotations

import http.client
import json
import os
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST, V2, login, sha256
from tests.conftest import make_client

REPO = "bad/input"


@pytest.fixture
def ecr(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "ecr")


@pytest.fixture
def v2(server: ThreadedServer, ecr: Any) -> V2:
    ecr.create_repository(repositoryName=REPO)
    return V2(server.endpoint, login(server.endpoint))


def blob_files(server: ThreadedServer, digest: str) -> list[Path]:
    root = server.server.registry.catalog.storage.root  # type: ignore[attr-defined]
    algorithm, hexed = digest.split(":")
    return [p for p in (root / "blobs").rglob(hexed) if p.is_file()]


def test_wrong_digest_is_digest_invalid_and_stores_nothing(server: ThreadedServer, v2: V2) -> None:
    data = os.urandom(50_000)
    claimed = sha256(b"something else")
    location = v2.request("POST", f"/v2/{REPO}/blobs/uploads/").header("Location")
    answer = v2.request("PUT", f"{location}?digest={claimed}", data)
    assert answer.status == 400
    assert answer.error_codes == ["DIGEST_INVALID"]
    for digest in (claimed, sha256(data)):
        assert v2.request("HEAD", f"/v2/{REPO}/blobs/{digest}").status == 404
        assert blob_files(server, digest) == []
    assert v2.request("GET", str(location)).status == 404  # the upload is gone too
    monolithic = v2.request("POST", f"/v2/{REPO}/blobs/uploads/?digest={claimed}", data)
    assert monolithic.status == 400 and monolithic.error_codes == ["DIGEST_INVALID"]
    assert blob_files(server, sha256(data)) == []


@pytest.mark.parametrize("digest", ["sha256:abc", "sha256:" + "G" * 64, "nodigest", "sha256:../../x"])
def test_malformed_digests(v2: V2, digest: str) -> None:
    location = v2.request("POST", f"/v2/{REPO}/blobs/uploads/").header("Location")
    assert v2.request("PUT", f"{location}?digest={digest}", b"x").status == 400
    assert v2.request("GET", f"/v2/{REPO}/blobs/{urllib.parse.quote(digest, safe=':')}").status in (400, 404)


def test_unsupported_digest_algorithm(v2: V2) -> None:
    location = v2.request("POST", f"/v2/{REPO}/blobs/uploads/").header("Location")
    answer = v2.request("PUT", f"{location}?digest=md5:{'0' * 32}", b"x")
    assert answer.status == 400 and answer.error_codes == ["DIGEST_INVALID"]
    assert "unsupported" in answer.json()["errors"][0]["message"]


def test_manifest_naming_unknown_blobs(v2: V2) -> None:
    config = v2.push_blob(REPO, b"{}")
    missing = sha256(b"layer never uploaded")
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "digest": config, "size": 2},
            "layers": [{"mediaType": DOCKER_LAYER, "digest": missing, "size": 20}],
        }
    ).encode()
    answer = v2.put_manifest(REPO, "broken", body, DOCKER_MANIFEST)
    assert answer.status == 400
    assert answer.error_codes == ["MANIFEST_BLOB_UNKNOWN"]
    assert answer.json()["errors"][0]["detail"] == missing
    assert v2.request("GET", f"/v2/{REPO}/manifests/broken").status == 404
    assert v2.request("GET", f"/v2/{REPO}/manifests/{sha256(body)}").status == 404
    assert v2.request("GET", f"/v2/{REPO}/tags/list").json()["tags"] == []


def test_a_blob_of_another_repository_is_unknown_here(v2: V2, ecr: Any) -> None:
    ecr.create_repository(repositoryName="bad/elsewhere")
    digest = v2.push_blob("bad/elsewhere", b"not yours")
    assert v2.request("HEAD", f"/v2/{REPO}/blobs/{digest}").status == 404
    image_elsewhere = v2.push_image("bad/elsewhere", "v1")
    answer = v2.put_manifest(REPO, "v1", image_elsewhere.manifest, DOCKER_MANIFEST)
    assert answer.status == 400 and answer.error_codes == ["MANIFEST_BLOB_UNKNOWN"]


def test_index_naming_unknown_children(v2: V2) -> None:
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": sha256(b"no such manifest"), "size": 10}],
        }
    ).encode()
    answer = v2.put_manifest(REPO, "idx", body, "application/vnd.oci.image.index.v1+json")
    assert answer.status == 400 and answer.error_codes == ["MANIFEST_BLOB_UNKNOWN"]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"{}", json.dumps({"schemaVersion": 1, "name": "x", "fsLayers": []}).encode()],
)
def test_invalid_manifests(v2: V2, body: bytes) -> None:
    answer = v2.put_manifest(REPO, "bad", body, DOCKER_MANIFEST)
    assert answer.status == 400 and answer.error_codes == ["MANIFEST_INVALID"]


def test_media_type_must_match_the_content_type(v2: V2) -> None:
    image = v2.push_image(REPO, None)
    answer = v2.put_manifest(REPO, "x", image.manifest, "application/vnd.oci.image.manifest.v1+json")
    assert answer.status == 400 and answer.error_codes == ["MANIFEST_INVALID"]


def test_manifest_put_by_a_digest_that_does_not_match(v2: V2) -> None:
    image = v2.push_image(REPO, None)
    answer = v2.put_manifest(REPO, sha256(b"other"), image.manifest, DOCKER_MANIFEST)
    assert answer.status == 400 and answer.error_codes == ["DIGEST_INVALID"]


def test_oversized_manifest(v2: V2) -> None:
    body = b'{"schemaVersion": 2, "padding": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    answer = v2.put_manifest(REPO, "huge", body, DOCKER_MANIFEST)
    assert answer.status == 413
    assert v2.request("GET", f"/v2/{REPO}/tags/list").json()["tags"] == []


def test_invalid_tag_in_a_put(v2: V2) -> None:
    image = v2.push_image(REPO, None)
    answer = v2.put_manifest(REPO, ".hidden", image.manifest, DOCKER_MANIFEST)
    assert answer.status == 400 and answer.error_codes == ["TAG_INVALID"]


def raw_status(server: ThreadedServer, v2: V2, path: str) -> tuple[int, str]:
    """Send `path` exactly as written (no client-side normalisation)."""
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(server.endpoint).netloc, timeout=10)
    import base64

    token = base64.b64encode(f"AWS:{v2.password}".encode()).decode()
    connection.putrequest("GET", path, skip_accept_encoding=True)
    connection.putheader("Authorization", f"Basic {token}")
    connection.endheaders()
    response = connection.getresponse()
    body = response.read().decode(errors="replace")
    connection.close()
    return response.status, body


@pytest.mark.parametrize(
    "path",
    [
        "/v2/../../etc/passwd/manifests/latest",
        "/v2/bad/../input/manifests/latest",
        "/v2/%2e%2e/%2e%2e/etc/blobs/sha256:" + "0" * 64,
        "/v2/bad%2F..%2F..%2Fx/manifests/latest",
        "/v2/UPPER/case/manifests/latest",
        "/v2/bad//input/tags/list",
        "/v2/a/manifests/latest",
    ],
)
def test_invalid_names_and_traversal_are_refused(server: ThreadedServer, v2: V2, path: str) -> None:
    status, body = raw_status(server, v2, path)
    assert status in (400, 404), (path, status)
    assert "root:" not in body
    if status == 400:
        assert json.loads(body)["errors"][0]["code"] == "NAME_INVALID"


def test_immutable_tags_cannot_be_pushed_again(server: ThreadedServer, v2: V2, ecr: Any) -> None:
    ecr.create_repository(repositoryName="bad/immutable", imageTagMutability="IMMUTABLE")
    first = v2.push_image("bad/immutable", "v1", layers=[b"first"])
    second = v2.push_image("bad/immutable", None, layers=[b"second"])
    moved = v2.put_manifest("bad/immutable", "v1", second.manifest, DOCKER_MANIFEST)
    assert moved.status == 400
    assert moved.error_codes == ["TAG_INVALID"]
    assert moved.json()["errors"][0]["message"] == (
        "The image tag 'v1' already exists in the 'bad/immutable' repository and cannot be overwritten "
        "because the repository is immutable."
    )
    same = v2.put_manifest("bad/immutable", "v1", first.manifest, DOCKER_MANIFEST)
    assert same.status == 400 and same.error_codes == ["TAG_INVALID"]  # even the same digest
    assert (
        v2.request("HEAD", "/v2/bad/immutable/manifests/v1").header("Docker-Content-Digest") == first.digest
    )
    body = json.dumps(json.loads(first.manifest) | {"annotations": {"never": "stored"}}).encode()
    assert v2.put_manifest("bad/immutable", "v1", body, DOCKER_MANIFEST).error_codes == ["TAG_INVALID"]
    assert blob_files(server, sha256(body)) == []  # a refused push leaves no bytes behind


def test_the_same_layer_pushed_to_eight_repositories_at_once_is_stored_once(
    server: ThreadedServer, v2: V2, ecr: Any
) -> None:
    layer = os.urandom(2 * 1024 * 1024)
    repositories = [f"bad/fanout{i}" for i in range(8)]
    for name in repositories:
        ecr.create_repository(repositoryName=name)
    with ThreadPoolExecutor(8) as pool:
        images = list(pool.map(lambda name: v2.push_image(name, "v1", layers=[layer]), repositories))
    assert len({image.digest for image in images}) == 1
    for name in repositories:
        head = v2.request("HEAD", f"/v2/{name}/blobs/{sha256(layer)}")
        assert head.status == 200 and head.header("Content-Length") == str(len(layer))
    assert len(blob_files(server, sha256(layer))) == 1
