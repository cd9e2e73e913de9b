"""ECR's layer API: uploads in parts, completing, checking availability and download URLs, all
sharing blobs with the /v2/ endpoints."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import V2, login, sha256
from tests.conftest import make_client

REPO = "layers/api"
MIB = 1024 * 1024


@pytest.fixture
def ecr(server: ThreadedServer) -> Any:
    client = make_client(server.endpoint, "ecr")
    client.create_repository(repositoryName=REPO)
    return client


def upload(ecr: Any, parts: list[bytes], repository: str = REPO) -> str:
    """Initiate, upload `parts` in order; the upload id."""
    started = ecr.initiate_layer_upload(repositoryName=repository)
    assert started["partSize"] == 10 * MIB
    first = 0
    for part in parts:
        answer = ecr.upload_layer_part(
            repositoryName=repository,
            uploadId=started["uploadId"],
            partFirstByte=first,
            partLastByte=first + len(part) - 1,
            layerPartBlob=part,
        )
        first += len(part)
        assert answer["lastByteReceived"] == first - 1
        assert answer["uploadId"] == started["uploadId"]
    return str(started["uploadId"])


def code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


def test_upload_in_parts_and_complete(server: ThreadedServer, ecr: Any) -> None:
    data = os.urandom(5 * MIB + 1000)
    upload_id = upload(ecr, [data[: 5 * MIB], data[5 * MIB :]])
    done = ecr.complete_layer_upload(repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(data)])
    assert done["layerDigest"] == sha256(data)
    assert done["registryId"] == "123456789012"
    checked = ecr.batch_check_layer_availability(repositoryName=REPO, layerDigests=[sha256(data)])
    assert checked["layers"] == [
        {"layerDigest": sha256(data), "layerAvailability": "AVAILABLE", "layerSize": len(data)}
    ]
    assert checked["failures"] == []
    v2 = V2(server.endpoint, login(server.endpoint))
    assert v2.request("GET", f"/v2/{REPO}/blobs/{sha256(data)}").body == data  # and over /v2/


def test_download_url_serves_the_layer(server: ThreadedServer, ecr: Any) -> None:
    data = b"downloadable layer bytes"
    upload_id = upload(ecr, [data])
    ecr.complete_layer_upload(repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(data)])
    answer = ecr.get_download_url_for_layer(repositoryName=REPO, layerDigest=sha256(data))
    assert answer["layerDigest"] == sha256(data)
    url = answer["downloadUrl"]
    assert url.startswith(server.endpoint + "/")
    with urllib.request.urlopen(url) as response:  # no credentials: the URL is the permission
        assert response.read() == data
    ranged = urllib.request.Request(url, headers={"Range": "bytes=0-11"})
    with urllib.request.urlopen(ranged) as response:
        assert response.status == 206 and response.read() == data[:12]
    with pytest.raises(urllib.error.HTTPError) as forged:
        urllib.request.urlopen(url[:-4] + "AAAA")
    assert forged.value.code == 403
    forged.value.close()


def test_layer_pushed_with_v2_is_available_to_the_api(server: ThreadedServer, ecr: Any) -> None:
    digest = V2(server.endpoint, login(server.endpoint)).push_blob(REPO, b"pushed by docker")
    checked = ecr.batch_check_layer_availability(
        repositoryName=REPO, layerDigests=[digest, sha256(b"absent"), "sha256:short"]
    )
    assert [layer["layerDigest"] for layer in checked["layers"]] == [digest]
    failures = {f["layerDigest"]: f["failureCode"] for f in checked["failures"]}
    assert failures == {sha256(b"absent"): "MissingLayerDigest", "sha256:short": "InvalidLayerDigest"}


def test_parts_out_of_order(ecr: Any) -> None:
    upload_id = upload(ecr, [b"a" * 10])
    with pytest.raises(ClientError) as raised:
        ecr.upload_layer_part(
            repositoryName=REPO,
            uploadId=upload_id,
            partFirstByte=20,
            partLastByte=29,
            layerPartBlob=b"b" * 10,
        )
    assert code(raised) == "InvalidLayerPartException"
    body = raised.value.response
    assert body["Error"]["Code"] == "InvalidLayerPartException"
    with pytest.raises(ClientError) as wrong_length:
        ecr.upload_layer_part(
            repositoryName=REPO,
            uploadId=upload_id,
            partFirstByte=10,
            partLastByte=29,
            layerPartBlob=b"b" * 10,
        )
    assert code(wrong_length) == "InvalidLayerPartException"


def test_a_small_part_before_another_is_too_small(ecr: Any) -> None:
    upload_id = upload(ecr, [b"a" * 100, b"b" * 100])
    with pytest.raises(ClientError) as raised:
        ecr.complete_layer_upload(
            repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(b"a" * 100 + b"b" * 100)]
        )
    assert code(raised) == "LayerPartTooSmallException"


def test_complete_errors(ecr: Any) -> None:
    empty = ecr.initiate_layer_upload(repositoryName=REPO)["uploadId"]
    with pytest.raises(ClientError) as raised:
        ecr.complete_layer_upload(repositoryName=REPO, uploadId=empty, layerDigests=[sha256(b"")])
    assert code(raised) == "EmptyUploadException"
    upload_id = upload(ecr, [b"content"])
    with pytest.raises(ClientError) as mismatch:
        ecr.complete_layer_upload(repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(b"other")])
    assert code(mismatch) == "InvalidLayerException"
    assert sha256(b"content") in mismatch.value.response["Error"]["Message"]
    ecr.complete_layer_upload(repositoryName=REPO, uploadId=upload_id, layerDigests=[sha256(b"content")])
    again = upload(ecr, [b"content"])
    with pytest.raises(ClientError) as exists:
        ecr.complete_layer_upload(repositoryName=REPO, uploadId=again, layerDigests=[sha256(b"content")])
    assert code(exists) == "LayerAlreadyExistsException"


def test_unknown_upload_and_repository(ecr: Any) -> None:
    unknown = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(ClientError) as raised:
        ecr.upload_layer_part(
            repositoryName=REPO, uploadId=unknown, partFirstByte=0, partLastByte=0, layerPartBlob=b"x"
        )
    assert code(raised) == "UploadNotFoundException"
    assert raised.value.response["Error"]["Message"] == (
        f"Upload with id '{unknown}' could not be found for the repository with name '{REPO}' in the "
        "registry with id '123456789012'"
    )
    with pytest.raises(ClientError) as no_repo:
        ecr.initiate_layer_upload(repositoryName="no/repo")
    assert code(no_repo) == "RepositoryNotFoundException"
    with pytest.raises(ClientError) as no_layer:
        ecr.get_download_url_for_layer(repositoryName=REPO, layerDigest=sha256(b"nothing"))
    assert code(no_layer) == "LayersNotFoundException"


def test_part_digest_matches_hashlib(ecr: Any) -> None:
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(123)]
    upload_id = upload(ecr, parts)
    expected = "sha256:" + hashlib.sha256(b"".join(parts)).hexdigest()
    done = ecr.complete_layer_upload(repositoryName=REPO, uploadId=upload_id, layerDigests=[expected])
    assert done["layerDigest"] == expected
