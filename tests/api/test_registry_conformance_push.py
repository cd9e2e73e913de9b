"""OCI distribution spec, push workflow: every upload mode, mounts, cancelling, resuming an
interrupted upload, and manifest pushes (end-4a/4b, end-5, end-6, end-7, end-11, end-13, end-14)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import socket
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import DOCKER_MANIFEST, OCI_MANIFEST, V2, login, sha256
from tests.conftest import make_client

REPO = "conformance/push"
OTHER = "conformance/other"


@pytest.fixture
def ecr(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "ecr")


@pytest.fixture
def v2(server: ThreadedServer, ecr: Any) -> V2:
    ecr.create_repository(repositoryName=REPO)
    ecr.create_repository(repositoryName=OTHER)
    return V2(server.endpoint, login(server.endpoint))


def start(v2: V2, repository: str = REPO) -> str:
    answer = v2.request("POST", f"/v2/{repository}/blobs/uploads/")
    assert answer.status == 202
    assert answer.header("Range") == "0-0"
    assert answer.header("Content-Length") == "0"
    location = answer.header("Location")
    assert location is not None and location.startswith(f"/v2/{repository}/blobs/uploads/")
    assert answer.header("Docker-Upload-UUID") == location.rsplit("/", 1)[1]
    return location


def test_post_then_monolithic_put(v2: V2) -> None:
    data = os.urandom(100_000)
    location = start(v2)
    done = v2.request("PUT", f"{location}?digest={sha256(data)}", data)
    assert done.status == 201
    assert done.header("Location") == f"/v2/{REPO}/blobs/{sha256(data)}"
    assert done.header("Docker-Content-Digest") == sha256(data)
    assert v2.request("GET", f"/v2/{REPO}/blobs/{sha256(data)}").body == data


def test_single_post_with_digest(v2: V2) -> None:
    data = b"monolithic body"
    done = v2.request("POST", f"/v2/{REPO}/blobs/uploads/?digest={sha256(data)}", data)
    assert done.status == 201
    assert done.header("Docker-Content-Digest") == sha256(data)
    assert v2.request("HEAD", f"/v2/{REPO}/blobs/{sha256(data)}").status == 200


def test_streamed_patch_without_content_range_then_empty_put(v2: V2) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    location = start(v2)
    pieces: Iterator[bytes] = (data[i : i + 65536] for i in range(0, len(data), 65536))
    patched = v2.request(
        "PATCH", location, pieces, {"Content-Type": "application/octet-stream"}, chunked=True
    )
    assert patched.status == 202
    assert patched.header("Range") == f"0-{len(data) - 1}"
    location = patched.header("Location") or location
    done = v2.request("PUT", f"{location}?digest={sha256(data)}")
    assert done.status == 201
    assert v2.request("GET", f"/v2/{REPO}/blobs/{sha256(data)}").body == data


def test_chunked_patches_in_order_with_the_last_chunk_on_put(v2: V2) -> None:
    data = os.urandom(30_000)
    location = start(v2)
    for first in (0, 10_000):
        chunk = data[first : first + 10_000]
        answer = v2.request(
            "PATCH",
            location,
            chunk,
            {
                "Content-Range": f"{first}-{first + len(chunk) - 1}",
                "Content-Type": "application/octet-stream",
            },
        )
        assert answer.status == 202
        assert answer.header("Range") == f"0-{first + len(chunk) - 1}"
    done = v2.request(
        "PUT", f"{location}?digest={sha256(data)}", data[20_000:], {"Content-Range": "20000-29999"}
    )
    assert done.status == 201
    assert v2.request("GET", f"/v2/{REPO}/blobs/{sha256(data)}").body == data


def test_out_of_order_and_retried_chunks_are_416_and_status_tells_where_to_resume(v2: V2) -> None:
    location = start(v2)
    assert v2.request("PATCH", location, b"a" * 10, {"Content-Range": "0-9"}).status == 202
    skipped = v2.request("PATCH", location, b"b" * 10, {"Content-Range": "20-29"})
    assert skipped.status == 416
    assert skipped.header("Range") == "0-9"
    assert skipped.header("Location") == location
    again = v2.request("PATCH", location, b"a" * 10, {"Content-Range": "0-9"})
    assert again.status == 416
    status = v2.request("GET", location)
    assert status.status == 204
    assert status.header("Range") == "0-9"
    assert status.header("Location") == location
    assert v2.request("PATCH", location, b"b" * 10, {"Content-Range": "10-19"}).status == 202
    assert v2.request("PUT", f"{location}?digest={sha256(b'a' * 10 + b'b' * 10)}").status == 201


def test_an_interrupted_upload_is_resumed(server: ThreadedServer, v2: V2) -> None:
    data = os.urandom(3 * 1024 * 1024 + 1234)
    location = start(v2)
    host, port = urllib.parse.urlsplit(server.endpoint).netloc.split(":")
    token = base64.b64encode(f"AWS:{v2.password}".encode()).decode()
    head = (
        f"PATCH {location} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Basic {token}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + data[: len(data) // 2])  # the client goes away half-way
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):  # until the server closes its side too
            pass
    # What the server had read when the body broke off is kept (the bytes still in transit are
    # not). The client resumes from where the status says the upload ends; the server may still
    # be finishing the broken request, and a 416 then tells where it really ends.
    status = v2.request("GET", location)
    assert status.status == 204 and status.header("Location") == location
    resumed = None
    for _ in range(5):
        last = int(status.header("Range").split("-")[1])  # "0-0" is also what an empty upload says
        received = last + 1 if last else 0
        assert 0 <= received <= len(data) // 2
        resumed = v2.request(
            "PATCH", location, data[received:], {"Content-Range": f"{received}-{len(data) - 1}"}
        )
        if resumed.status != 416:
            break
        status = resumed
    assert resumed is not None and resumed.status == 202
    done = v2.request("PUT", f"{location}?digest={sha256(data)}")
    assert done.status == 201
    assert (
        hashlib.sha256(v2.request("GET", f"/v2/{REPO}/blobs/{sha256(data)}").body).hexdigest()
        == (sha256(data).split(":")[1])
    )


def test_cross_repository_mount(v2: V2) -> None:
    digest = v2.push_blob(OTHER, b"mount me")
    mounted = v2.request("POST", f"/v2/{REPO}/blobs/uploads/?mount={digest}&from={OTHER}")
    assert mounted.status == 201
    assert mounted.header("Location") == f"/v2/{REPO}/blobs/{digest}"
    assert mounted.header("Docker-Content-Digest") == digest
    assert v2.request("GET", f"/v2/{REPO}/blobs/{digest}").body == b"mount me"


def test_mount_without_from_finds_the_blob_in_the_registry(v2: V2) -> None:
    digest = v2.push_blob(OTHER, b"automatic mount")
    assert v2.request("POST", f"/v2/{REPO}/blobs/uploads/?mount={digest}").status == 201


def test_mount_of_a_missing_blob_starts_an_upload(v2: V2) -> None:
    digest = sha256(b"nowhere")
    answer = v2.request("POST", f"/v2/{REPO}/blobs/uploads/?mount={digest}&from={OTHER}")
    assert answer.status == 202
    assert answer.header("Docker-Upload-UUID")
    assert v2.request("HEAD", f"/v2/{REPO}/blobs/{digest}").status == 404


def test_cancel_an_upload(v2: V2) -> None:
    location = start(v2)
    assert v2.request("DELETE", location).status == 204
    gone = v2.request("GET", location)
    assert gone.status == 404
    assert gone.error_codes == ["BLOB_UPLOAD_UNKNOWN"]
    assert v2.request("PATCH", location, b"x").status == 404


def test_an_upload_belongs_to_its_repository(v2: V2) -> None:
    location = start(v2)
    elsewhere = location.replace(f"/v2/{REPO}/", f"/v2/{OTHER}/")
    assert v2.request("GET", elsewhere).status == 404


def test_empty_blob(v2: V2) -> None:
    location = start(v2)
    done = v2.request("PUT", f"{location}?digest={sha256(b'')}")
    assert done.status == 201
    head = v2.request("HEAD", f"/v2/{REPO}/blobs/{sha256(b'')}")
    assert head.status == 200 and head.header("Content-Length") == "0"


def test_sha512_blob(v2: V2) -> None:
    data = b"sha512 blob"
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    location = start(v2)
    assert v2.request("PUT", f"{location}?digest={digest}", data).status == 201
    assert v2.request("GET", f"/v2/{REPO}/blobs/{digest}").body == data


def test_manifest_put_answers_location_and_digest(v2: V2) -> None:
    image = v2.push_image(REPO, "v1")
    by_tag = v2.put_manifest(REPO, "v1", image.manifest, DOCKER_MANIFEST)
    assert by_tag.status == 201
    assert by_tag.header("Location") == f"/v2/{REPO}/manifests/{image.digest}"
    assert by_tag.header("Docker-Content-Digest") == image.digest


def test_manifest_put_by_digest_with_several_tags(v2: V2) -> None:
    image = v2.push_image(REPO, None)
    answer = v2.request(
        "PUT",
        f"/v2/{REPO}/manifests/{image.digest}?tag=a&tag=b",
        image.manifest,
        {"Content-Type": DOCKER_MANIFEST},
    )
    assert answer.status == 201
    assert answer.headers.get_all("OCI-Tag") == ["a", "b"]
    assert v2.request("GET", f"/v2/{REPO}/tags/list").json()["tags"] == ["a", "b"]


def test_manifest_with_a_missing_subject_is_accepted_with_oci_subject(v2: V2) -> None:
    subject = sha256(b"a manifest not pushed yet")
    image = v2.push_image(
        REPO,
        None,
        media_type=OCI_MANIFEST,
        extra={"subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 25}},
    )
    again = v2.put_manifest(REPO, image.digest, image.manifest, OCI_MANIFEST)
    assert again.status == 201
    assert again.header("OCI-Subject") == subject


def test_manifest_without_layers_and_with_the_empty_config(v2: V2) -> None:
    empty = b"{}"
    config = v2.push_blob(REPO, empty)
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.example.thing",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
            "layers": [],
        }
    ).encode()
    assert v2.put_manifest(REPO, "artifact", body, OCI_MANIFEST).status == 201


def test_push_to_a_repository_that_does_not_exist_is_name_unknown(v2: V2) -> None:
    answer = v2.request("POST", "/v2/not/created/blobs/uploads/")
    assert answer.status == 404
    assert answer.error_codes == ["NAME_UNKNOWN"]
    assert answer.json()["errors"][0]["message"] == (
        "The repository with name 'not/created' does not exist in the registry with id '123456789012'"
    )


def test_responses_carry_the_api_version_header(server: ThreadedServer, v2: V2) -> None:
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(server.endpoint).netloc, timeout=10)
    connection.request("GET", "/v2/")
    assert connection.getresponse().getheader("Docker-Distribution-API-Version") == "registry/2.0"
    connection.close()
