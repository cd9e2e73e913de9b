"""ECR Public over the API (boto3 `ecr-public`): repositories with catalog data, images and
tags, registry catalog data, policies, resource tags, the token, and ECR Public's errors."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import V2, login, sha256
from tests.conftest import make_client

ACCOUNT = "123456789012"
ALIAS = f"a{ACCOUNT}"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture
def public(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "ecr-public")


def public_host(server: ThreadedServer) -> str:
    return "localhost:" + str(urlsplit(server.endpoint).port)


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_create_repository_with_catalog_data(server: ThreadedServer, public: Any) -> None:
    created = public.create_repository(
        repositoryName="team/web",
        catalogData={
            "description": "A web server",
            "aboutText": "# About",
            "usageText": "docker pull ...",
            "architectures": ["x86-64", "ARM 64"],
            "operatingSystems": ["Linux"],
            "logoImageBlob": PNG,
        },
        tags=[{"Key": "team", "Value": "web"}],
    )
    repo = created["repository"]
    assert repo["repositoryArn"] == f"arn:aws:ecr-public::{ACCOUNT}:repository/team/web"
    assert repo["registryId"] == ACCOUNT
    assert repo["repositoryUri"] == f"{public_host(server)}/{ALIAS}/team/web"
    assert repo["createdAt"].timestamp() > 0
    expected = {
        "description": "A web server",
        "aboutText": "# About",
        "usageText": "docker pull ...",
        "architectures": ["x86-64", "ARM 64"],
        "operatingSystems": ["Linux"],
        "marketplaceCertified": False,
    }
    assert created["catalogData"] == expected
    assert public.get_repository_catalog_data(repositoryName="team/web")["catalogData"] == expected
    tags = public.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
    assert tags == [{"Key": "team", "Value": "web"}]


def test_public_and_private_repositories_are_separate(public: Any, server: ThreadedServer) -> None:
    ecr = make_client(server.endpoint, "ecr")
    public.create_repository(repositoryName="same")
    ecr.create_repository(repositoryName="same")  # no collision: another registry
    assert [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]] == ["same"]
    ecr.delete_repository(repositoryName="same")
    assert [r["repositoryName"] for r in public.describe_repositories()["repositories"]] == ["same"]
    assert ecr.describe_repositories()["repositories"] == []


def test_create_errors_store_nothing(public: Any) -> None:
    public.create_repository(repositoryName="taken")
    with pytest.raises(ClientError) as exc:
        public.create_repository(repositoryName="taken")
    assert error(exc) == (
        "RepositoryAlreadyExistsException",
        f"The repository with name 'taken' already exists in the registry with id '{ACCOUNT}'",
    )
    with pytest.raises(ClientError) as exc:
        public.create_repository(repositoryName="bad-arch", catalogData={"architectures": ["mips"]})
    assert error(exc)[0] == "InvalidParameterException"
    assert "architectures" in error(exc)[1]
    with pytest.raises(ClientError) as exc:
        public.create_repository(repositoryName="bad-logo", catalogData={"logoImageBlob": b"GIF89a"})
    assert error(exc)[0] == "InvalidParameterException"
    names = [r["repositoryName"] for r in public.describe_repositories()["repositories"]]
    assert names == ["taken"]


def test_describe_repositories_pages_and_missing(public: Any) -> None:
    for name in ("r1", "r2", "r3"):
        public.create_repository(repositoryName=name)
    first = public.describe_repositories(maxResults=2)
    assert [r["repositoryName"] for r in first["repositories"]] == ["r1", "r2"]
    rest = public.describe_repositories(maxResults=2, nextToken=first["nextToken"])
    assert [r["repositoryName"] for r in rest["repositories"]] == ["r3"]
    paginated = public.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 1})
    assert [r["repositoryName"] for page in paginated for r in page["repositories"]] == ["r1", "r2", "r3"]
    with pytest.raises(ClientError) as exc:
        public.describe_repositories(repositoryNames=["nope"])
    assert error(exc) == (
        "RepositoryNotFoundException",
        f"The repository with name 'nope' does not exist in the registry with id '{ACCOUNT}'",
    )


def test_put_repository_catalog_data(public: Any) -> None:
    with pytest.raises(ClientError) as exc:
        public.put_repository_catalog_data(repositoryName="missing", catalogData={"description": "x"})
    assert error(exc)[0] == "RepositoryNotFoundException"
    public.create_repository(repositoryName="cat", catalogData={"description": "old", "usageText": "u"})
    answer = public.put_repository_catalog_data(
        repositoryName="cat", catalogData={"description": "new", "operatingSystems": ["Windows"]}
    )
    assert answer["catalogData"] == {
        "description": "new",
        "operatingSystems": ["Windows"],
        "marketplaceCertified": False,
    }
    with pytest.raises(ClientError) as exc:
        public.put_repository_catalog_data(repositoryName="cat", catalogData={"operatingSystems": ["BeOS"]})
    assert error(exc)[0] == "InvalidParameterException"
    assert public.get_repository_catalog_data(repositoryName="cat")["catalogData"]["description"] == "new"


def test_images_tags_and_delete(server: ThreadedServer, public: Any) -> None:
    public.create_repository(repositoryName="app")
    v2 = V2(f"http://{public_host(server)}", login(server.endpoint))
    one = v2.push_image(f"{ALIAS}/app", "v1", layers=[b"one"])
    v2.put_manifest(f"{ALIAS}/app", "latest", one.manifest, one.media_type)
    two = v2.push_image(f"{ALIAS}/app", "v2", layers=[b"two"])

    details = public.describe_images(repositoryName="app")["imageDetails"]
    assert {d["imageDigest"] for d in details} == {one.digest, two.digest}
    first = next(d for d in details if d["imageDigest"] == one.digest)
    assert sorted(first["imageTags"]) == ["latest", "v1"]
    assert set(first) <= {
        "registryId",
        "repositoryName",
        "imageDigest",
        "imageTags",
        "imageSizeInBytes",
        "imagePushedAt",
        "imageManifestMediaType",
        "artifactMediaType",
    }
    assert first["registryId"] == ACCOUNT and first["repositoryName"] == "app"
    by_tag = public.describe_images(repositoryName="app", imageIds=[{"imageTag": "v2"}])["imageDetails"]
    assert [d["imageDigest"] for d in by_tag] == [two.digest]
    with pytest.raises(ClientError) as exc:
        public.describe_images(repositoryName="app", imageIds=[{"imageTag": "v9"}])
    assert error(exc)[0] == "ImageNotFoundException"

    tags = public.describe_image_tags(repositoryName="app")["imageTagDetails"]
    assert [(t["imageTag"], t["imageDetail"]["imageDigest"]) for t in tags] == [
        ("latest", one.digest),
        ("v1", one.digest),
        ("v2", two.digest),
    ]
    assert tags[0]["imageDetail"]["imageManifestMediaType"] == one.media_type

    with pytest.raises(ClientError) as exc:
        public.delete_repository(repositoryName="app")
    assert error(exc) == (
        "RepositoryNotEmptyException",
        f"The repository with name 'app' in registry with id '{ACCOUNT}' cannot be deleted because it "
        "still contains images",
    )
    deleted = public.batch_delete_image(
        repositoryName="app", imageIds=[{"imageTag": "v2"}, {"imageTag": "missing"}]
    )
    assert deleted["imageIds"] == [{"imageDigest": two.digest, "imageTag": "v2"}]
    assert [f["failureCode"] for f in deleted["failures"]] == ["ImageNotFound"]
    assert v2.request("GET", f"/v2/{ALIAS}/app/manifests/v2").status == 404
    removed = public.delete_repository(repositoryName="app", force=True)["repository"]
    assert removed["repositoryName"] == "app"
    with pytest.raises(ClientError) as exc:
        public.describe_images(repositoryName="app")
    assert error(exc)[0] == "RepositoryNotFoundException"


def test_layer_api_push_then_anonymous_pull(server: ThreadedServer, public: Any) -> None:
    public.create_repository(repositoryName="api-pushed")
    layer = b"layer bytes over the API"
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    digests = []
    for blob in (config, layer):
        upload = public.initiate_layer_upload(repositoryName="api-pushed")["uploadId"]
        public.upload_layer_part(
            repositoryName="api-pushed",
            uploadId=upload,
            partFirstByte=0,
            partLastByte=len(blob) - 1,
            layerPartBlob=blob,
        )
        done = public.complete_layer_upload(
            repositoryName="api-pushed", uploadId=upload, layerDigests=[sha256(blob)]
        )
        digests.append(done["layerDigest"])
    check = public.batch_check_layer_availability(repositoryName="api-pushed", layerDigests=digests)
    assert [layer_["layerAvailability"] for layer_ in check["layers"]] == ["AVAILABLE", "AVAILABLE"]
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": digests[0],
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": digests[1],
                    "size": len(layer),
                }
            ],
        }
    )
    pushed = public.put_image(repositoryName="api-pushed", imageManifest=manifest, imageTag="v1")["image"]
    anonymous = V2(f"http://{public_host(server)}", None)
    got = anonymous.request("GET", f"/v2/{ALIAS}/api-pushed/manifests/v1")
    assert got.status == 200
    assert got.header("Docker-Content-Digest") == pushed["imageId"]["imageDigest"]
    assert anonymous.request("GET", f"/v2/{ALIAS}/api-pushed/blobs/{digests[1]}").body == layer


def test_registry_catalog_data_and_registries(server: ThreadedServer, public: Any) -> None:
    assert public.get_registry_catalog_data()["registryCatalogData"] == {"displayName": ""}
    assert public.put_registry_catalog_data(displayName="Dockyard Labs")["registryCatalogData"] == {
        "displayName": "Dockyard Labs"
    }
    assert public.get_registry_catalog_data()["registryCatalogData"]["displayName"] == "Dockyard Labs"
    registries = public.describe_registries()["registries"]
    assert registries == [
        {
            "registryId": ACCOUNT,
            "registryArn": f"arn:aws:ecr-public::{ACCOUNT}:registry/{ACCOUNT}",
            "registryUri": f"{public_host(server)}/{ALIAS}",
            "verified": False,
            "aliases": [
                {
                    "name": ALIAS,
                    "status": "ACTIVE",
                    "primaryRegistryAlias": True,
                    "defaultRegistryAlias": True,
                }
            ],
        }
    ]


def test_repository_policy(public: Any) -> None:
    public.create_repository(repositoryName="pol")
    with pytest.raises(ClientError) as exc:
        public.get_repository_policy(repositoryName="pol")
    assert error(exc)[0] == "RepositoryPolicyNotFoundException"
    with pytest.raises(ClientError) as exc:
        public.set_repository_policy(repositoryName="pol", policyText="{not json")
    assert error(exc)[0] == "InvalidParameterException"
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr-public:*"}],
        }
    )
    assert public.set_repository_policy(repositoryName="pol", policyText=policy)["policyText"] == policy
    assert public.get_repository_policy(repositoryName="pol")["policyText"] == policy
    assert public.delete_repository_policy(repositoryName="pol")["policyText"] == policy
    with pytest.raises(ClientError) as exc:
        public.delete_repository_policy(repositoryName="pol")
    assert error(exc)[0] == "RepositoryPolicyNotFoundException"
    with pytest.raises(ClientError) as exc:
        public.set_repository_policy(repositoryName="nope", policyText=policy)
    assert error(exc)[0] == "RepositoryNotFoundException"


def test_resource_tags(public: Any) -> None:
    arn = public.create_repository(repositoryName="tagged")["repository"]["repositoryArn"]
    public.tag_resource(resourceArn=arn, tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    public.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert public.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as exc:
        public.tag_resource(resourceArn=arn, tags=[{"Key": "aws:x", "Value": "1"}])
    assert error(exc)[0] == "InvalidTagParameterException"
    with pytest.raises(ClientError) as exc:
        public.list_tags_for_resource(resourceArn=f"arn:aws:ecr-public::{ACCOUNT}:repository/gone")
    assert error(exc)[0] == "RepositoryNotFoundException"
    with pytest.raises(ClientError) as exc:
        public.list_tags_for_resource(resourceArn=f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/tagged")
    assert error(exc)[0] == "InvalidParameterException"


def test_authorization_token_and_cli_login_password(server: ThreadedServer, public: Any) -> None:
    data = public.get_authorization_token()["authorizationData"]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and password.startswith("dky1.")
    assert data["expiresAt"].timestamp() > 0
    aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or "aws"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIATESTKEY",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_PAGER": "",
    }
    result = subprocess.run(
        [aws, "--endpoint-url", server.endpoint, "--region", "us-east-1", "ecr-public", "get-login-password"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    cli_password = result.stdout.strip()
    assert cli_password.startswith("dky1.")
    # the password logs in on the public host (what `docker login` checks)
    assert V2(f"http://{public_host(server)}", cli_password).request("GET", "/v2/").status == 200
