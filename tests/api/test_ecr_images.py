"""ECR images over the API: PutImage and its errors, ListImages, DescribeImages, BatchGetImage and
BatchDeleteImage (with per-image failures), and how they agree with /v2/ pushes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    OCI_INDEX,
    V2,
    login,
    sha256,
)
from tests.conftest import make_client

REPO = "images/api"
ACCOUNT = "123456789012"


@pytest.fixture
def ecr(server: ThreadedServer) -> Any:
    client = make_client(server.endpoint, "ecr")
    client.create_repository(repositoryName=REPO)
    return client


@pytest.fixture
def v2(server: ThreadedServer, ecr: Any) -> V2:
    return V2(server.endpoint, login(server.endpoint))


def code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


def api_layer(ecr: Any, data: bytes, repository: str = REPO) -> str:
    """Upload a layer as the ECR credential helpers do: check first, upload what is missing."""
    checked = ecr.batch_check_layer_availability(repositoryName=repository, layerDigests=[sha256(data)])
    if checked["layers"]:
        return sha256(data)
    upload_id = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    ecr.upload_layer_part(
        repositoryName=repository,
        uploadId=upload_id,
        partFirstByte=0,
        partLastByte=len(data) - 1,
        layerPartBlob=data,
    )
    return str(
        ecr.complete_layer_upload(repositoryName=repository, uploadId=upload_id, layerDigests=[sha256(data)])[
            "layerDigest"
        ]
    )


def manifest(ecr: Any, layers: list[bytes], repository: str = REPO) -> str:
    config = b'{"os":"linux"}'
    doc = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {
            "mediaType": DOCKER_CONFIG,
            "digest": api_layer(ecr, config, repository),
            "size": len(config),
        },
        "layers": [
            {"mediaType": DOCKER_LAYER, "digest": api_layer(ecr, layer, repository), "size": len(layer)}
            for layer in layers
        ],
    }
    return json.dumps(doc)


def test_put_image_then_pull_it_with_v2(ecr: Any, v2: V2) -> None:
    body = manifest(ecr, [b"layer one", b"layer two!"])
    put = ecr.put_image(repositoryName=REPO, imageManifest=body, imageTag="v1")["image"]
    assert put["imageId"] == {"imageDigest": sha256(body.encode()), "imageTag": "v1"}
    assert put["imageManifest"] == body
    assert put["imageManifestMediaType"] == DOCKER_MANIFEST
    got = v2.request("GET", f"/v2/{REPO}/manifests/v1")
    assert got.body == body.encode()
    detail = ecr.describe_images(repositoryName=REPO)["imageDetails"][0]
    assert detail["imageDigest"] == sha256(body.encode())
    assert detail["imageTags"] == ["v1"]
    assert detail["imageSizeInBytes"] == len(b"layer one") + len(b"layer two!")
    assert detail["imageManifestMediaType"] == DOCKER_MANIFEST
    assert detail["artifactMediaType"] == DOCKER_CONFIG
    assert detail["registryId"] == ACCOUNT and detail["repositoryName"] == REPO
    assert detail["imagePushedAt"].timestamp() > 0


def test_put_image_errors(ecr: Any) -> None:
    body = manifest(ecr, [b"x"])
    ecr.put_image(repositoryName=REPO, imageManifest=body, imageTag="v1")
    with pytest.raises(ClientError) as exists:
        ecr.put_image(repositoryName=REPO, imageManifest=body, imageTag="v1")
    assert code(exists) == "ImageAlreadyExistsException"
    assert exists.value.response["Error"]["Message"] == (
        f"Image with digest '{sha256(body.encode())}' and tag 'v1' already exists in the repository with "
        f"name '{REPO}' in registry with id '{ACCOUNT}'"
    )
    with pytest.raises(ClientError) as mismatch:
        ecr.put_image(repositoryName=REPO, imageManifest=body, imageTag="v2", imageDigest=sha256(b"x"))
    assert code(mismatch) == "ImageDigestDoesNotMatchException"
    missing = json.loads(body)
    missing["layers"][0]["digest"] = sha256(b"never uploaded")
    with pytest.raises(ClientError) as layers:
        ecr.put_image(repositoryName=REPO, imageManifest=json.dumps(missing), imageTag="v3")
    assert code(layers) == "LayersNotFoundException"
    with pytest.raises(ClientError) as invalid:
        ecr.put_image(repositoryName=REPO, imageManifest="{not json", imageManifestMediaType=DOCKER_MANIFEST)
    assert code(invalid) == "InvalidParameterException"
    with pytest.raises(ClientError) as no_type:
        ecr.put_image(repositoryName=REPO, imageManifest=json.dumps({"schemaVersion": 2, "layers": []}))
    assert code(no_type) == "InvalidParameterException"
    with pytest.raises(ClientError) as no_repo:
        ecr.put_image(repositoryName="nope/nope", imageManifest=body)
    assert code(no_repo) == "RepositoryNotFoundException"
    assert [i.get("imageTag") for i in ecr.list_images(repositoryName=REPO)["imageIds"]] == ["v1"]


def test_put_image_to_an_immutable_repository(ecr: Any) -> None:
    ecr.create_repository(repositoryName="images/fixed", imageTagMutability="IMMUTABLE")
    first = manifest(ecr, [b"first"], "images/fixed")
    second = manifest(ecr, [b"second"], "images/fixed")
    ecr.put_image(repositoryName="images/fixed", imageManifest=first, imageTag="v1")
    with pytest.raises(ClientError) as raised:
        ecr.put_image(repositoryName="images/fixed", imageManifest=second, imageTag="v1")
    assert code(raised) == "ImageTagAlreadyExistsException"
    assert raised.value.response["Error"]["Message"] == (
        "The image tag 'v1' already exists in the 'images/fixed' repository and cannot be overwritten "
        "because the repository is immutable."
    )
    ecr.put_image(repositoryName="images/fixed", imageManifest=second, imageTag="v2")  # a new tag is fine


def test_moving_a_tag_leaves_the_old_image_untagged(ecr: Any) -> None:
    old = manifest(ecr, [b"old"])
    new = manifest(ecr, [b"new"])
    ecr.put_image(repositoryName=REPO, imageManifest=old, imageTag="latest")
    ecr.put_image(repositoryName=REPO, imageManifest=new, imageTag="latest")
    untagged = ecr.list_images(repositoryName=REPO, filter={"tagStatus": "UNTAGGED"})["imageIds"]
    assert untagged == [{"imageDigest": sha256(old.encode())}]
    tagged = ecr.list_images(repositoryName=REPO, filter={"tagStatus": "TAGGED"})["imageIds"]
    assert tagged == [{"imageDigest": sha256(new.encode()), "imageTag": "latest"}]
    described = ecr.describe_images(repositoryName=REPO, filter={"tagStatus": "UNTAGGED"})["imageDetails"]
    assert len(described) == 1 and "imageTags" not in described[0]


def test_list_and_describe_paginate(ecr: Any) -> None:
    body = manifest(ecr, [b"paged"])
    for tag in ("a", "b", "c"):
        ecr.put_image(repositoryName=REPO, imageManifest=body, imageTag=tag)
    first = ecr.list_images(repositoryName=REPO, maxResults=2)
    assert [i["imageTag"] for i in first["imageIds"]] == ["a", "b"]
    rest = ecr.list_images(repositoryName=REPO, maxResults=2, nextToken=first["nextToken"])
    assert [i["imageTag"] for i in rest["imageIds"]] == ["c"]
    pages = ecr.get_paginator("describe_images").paginate(
        repositoryName=REPO, PaginationConfig={"PageSize": 1}
    )
    details = [d for page in pages for d in page["imageDetails"]]
    assert len(details) == 1 and sorted(details[0]["imageTags"]) == ["a", "b", "c"]


def test_describe_images_by_id(ecr: Any) -> None:
    body = manifest(ecr, [b"described"])
    ecr.put_image(repositoryName=REPO, imageManifest=body, imageTag="v1")
    found = ecr.describe_images(repositoryName=REPO, imageIds=[{"imageTag": "v1"}])["imageDetails"]
    assert [d["imageDigest"] for d in found] == [sha256(body.encode())]
    with pytest.raises(ClientError) as raised:
        ecr.describe_images(repositoryName=REPO, imageIds=[{"imageTag": "missing"}])
    assert code(raised) == "ImageNotFoundException"
    assert raised.value.response["Error"]["Message"] == (
        f"The image with imageId {{imageDigest:'null', imageTag:'missing'}} does not exist within the "
        f"repository with name '{REPO}' in the registry with id '{ACCOUNT}'"
    )


def test_batch_get_image(ecr: Any) -> None:
    body = manifest(ecr, [b"got"])
    digest = sha256(body.encode())
    ecr.put_image(repositoryName=REPO, imageManifest=body, imageTag="v1")
    answer = ecr.batch_get_image(
        repositoryName=REPO,
        imageIds=[
            {"imageTag": "v1"},
            {"imageDigest": digest},
            {"imageTag": "nope"},
            {"imageDigest": "bad"},
            {"imageTag": "v1", "imageDigest": sha256(b"other")},
            {},
        ],
    )
    assert [i["imageId"] for i in answer["images"]] == [
        {"imageDigest": digest, "imageTag": "v1"},
        {"imageDigest": digest},
    ]
    assert answer["images"][0]["imageManifest"] == body
    assert answer["images"][0]["imageManifestMediaType"] == DOCKER_MANIFEST
    assert [f["failureCode"] for f in answer["failures"]] == [
        "ImageNotFound",
        "InvalidImageDigest",
        "ImageTagDoesNotMatchDigest",
        "MissingDigestAndTag",
    ]
    refused = ecr.batch_get_image(
        repositoryName=REPO, imageIds=[{"imageTag": "v1"}], acceptedMediaTypes=[OCI_INDEX]
    )
    assert refused["images"] == [] and refused["failures"][0]["imageId"] == {"imageTag": "v1"}
    pulled = ecr.describe_images(repositoryName=REPO)["imageDetails"][0]
    assert "lastRecordedPullTime" in pulled


def test_batch_delete_image(ecr: Any) -> None:
    body = manifest(ecr, [b"deleted"])
    digest = sha256(body.encode())
    for tag in ("a", "b"):
        ecr.put_image(repositoryName=REPO, imageManifest=body, imageTag=tag)
    only_tag = ecr.batch_delete_image(repositoryName=REPO, imageIds=[{"imageTag": "a"}])
    assert only_tag["imageIds"] == [{"imageDigest": digest, "imageTag": "a"}]
    assert only_tag["failures"] == []
    assert [i["imageTag"] for i in ecr.list_images(repositoryName=REPO)["imageIds"]] == ["b"]
    last_tag = ecr.batch_delete_image(repositoryName=REPO, imageIds=[{"imageTag": "b"}, {"imageTag": "gone"}])
    assert last_tag["imageIds"] == [{"imageDigest": digest, "imageTag": "b"}]
    assert last_tag["failures"] == [
        {
            "imageId": {"imageTag": "gone"},
            "failureCode": "ImageNotFound",
            "failureReason": "Requested image not found",
        }
    ]
    assert ecr.list_images(repositoryName=REPO)["imageIds"] == []  # the last tag took the image


def test_index_children_cannot_be_deleted_while_listed(ecr: Any, v2: V2) -> None:
    child = v2.push_image(REPO, None, layers=[b"child"])
    index = v2.push_index(REPO, "multi", [child])
    refused = ecr.batch_delete_image(repositoryName=REPO, imageIds=[{"imageDigest": child.digest}])
    assert refused["imageIds"] == []
    assert refused["failures"][0]["failureCode"] == "ImageReferencedByManifestList"
    assert index.digest in refused["failures"][0]["failureReason"]
    detail = ecr.describe_images(repositoryName=REPO, imageIds=[{"imageTag": "multi"}])["imageDetails"][0]
    assert detail["imageManifestMediaType"] == OCI_INDEX
    assert detail["imageSizeInBytes"] == len(b"child")  # an index: the largest child
    removed = ecr.batch_delete_image(
        repositoryName=REPO, imageIds=[{"imageDigest": index.digest}, {"imageDigest": child.digest}]
    )
    assert removed["failures"] == []
    assert ecr.list_images(repositoryName=REPO)["imageIds"] == []


def test_index_with_missing_children_via_put_image(ecr: Any) -> None:
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": sha256(b"absent"), "size": 1}],
        }
    )
    with pytest.raises(ClientError) as raised:
        ecr.put_image(repositoryName=REPO, imageManifest=body, imageTag="idx")
    assert code(raised) == "ReferencedImagesNotFoundException"
