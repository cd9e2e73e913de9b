"""ECR repositories over the API: create, describe (with pagination), delete, tag mutability,
policies, resource tags and DescribeRegistry, with ECR's errors and messages."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import V2, login
from tests.conftest import make_client

ACCOUNT = "123456789012"


@pytest.fixture
def ecr(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "ecr")


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_create_repository_defaults(server: ThreadedServer, ecr: Any) -> None:
    repo = ecr.create_repository(repositoryName="team/web")["repository"]
    host = urlsplit(server.endpoint).netloc
    assert repo["repositoryArn"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/web"
    assert repo["registryId"] == ACCOUNT
    assert repo["repositoryName"] == "team/web"
    assert repo["repositoryUri"] == f"{host}/team/web"
    assert repo["imageTagMutability"] == "MUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": False}
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert "imageTagMutabilityExclusionFilters" not in repo
    assert repo["createdAt"].timestamp() > 0


def test_create_repository_with_settings(ecr: Any) -> None:
    repo = ecr.create_repository(
        repositoryName="settings",
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "latest"}],
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS"},
        tags=[{"Key": "team", "Value": "web"}],
    )["repository"]
    assert repo["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert repo["imageTagMutabilityExclusionFilters"] == [{"filterType": "WILDCARD", "filter": "latest"}]
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfiguration"]["encryptionType"] == "KMS"
    assert repo["encryptionConfiguration"]["kmsKey"].startswith("arn:aws:kms:us-east-1:")
    tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
    assert tags == [{"Key": "team", "Value": "web"}]


def test_duplicate_repository(ecr: Any) -> None:
    ecr.create_repository(repositoryName="dup")
    with pytest.raises(ClientError) as raised:
        ecr.create_repository(repositoryName="dup")
    assert error(raised) == (
        "RepositoryAlreadyExistsException",
        f"The repository with name 'dup' already exists in the registry with id '{ACCOUNT}'",
    )


@pytest.mark.parametrize("name", ["UPPER", "trailing-", "a//b", "-lead", "x" * 257])
def test_invalid_repository_names(ecr: Any, name: str) -> None:
    with pytest.raises(ClientError) as raised:
        ecr.create_repository(repositoryName=name)
    assert raised.value.response["Error"]["Code"] in ("ValidationException", "InvalidParameterException")
    assert ecr.describe_repositories()["repositories"] == []


@pytest.mark.parametrize(
    ("mutability", "filters"),
    [
        ("IMMUTABLE_WITH_EXCLUSION", []),
        ("MUTABLE", [{"filterType": "WILDCARD", "filter": "x*"}]),
        ("MUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": f"f{i}"} for i in range(6)]),
    ],
)
def test_exclusion_filter_rules(ecr: Any, mutability: str, filters: list[dict[str, str]]) -> None:
    extra = {"imageTagMutabilityExclusionFilters": filters} if filters else {}
    with pytest.raises(ClientError) as raised:
        ecr.create_repository(repositoryName="filters", imageTagMutability=mutability, **extra)
    assert raised.value.response["Error"]["Code"] in ("InvalidParameterException", "ValidationException")
    assert ecr.describe_repositories()["repositories"] == []


def test_describe_repositories_by_name_and_paginated(ecr: Any) -> None:
    for name in ("r3", "r1", "r2"):
        ecr.create_repository(repositoryName=name)
    named = ecr.describe_repositories(repositoryNames=["r2", "r1"])["repositories"]
    assert [r["repositoryName"] for r in named] == ["r2", "r1"]
    first = ecr.describe_repositories(maxResults=2)
    assert [r["repositoryName"] for r in first["repositories"]] == ["r1", "r2"]
    rest = ecr.describe_repositories(maxResults=2, nextToken=first["nextToken"])
    assert [r["repositoryName"] for r in rest["repositories"]] == ["r3"]
    assert "nextToken" not in rest
    paged = ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 1})
    assert [r["repositoryName"] for page in paged for r in page["repositories"]] == ["r1", "r2", "r3"]
    with pytest.raises(ClientError) as raised:
        ecr.describe_repositories(repositoryNames=["r1", "missing"])
    assert error(raised) == (
        "RepositoryNotFoundException",
        f"The repository with name 'missing' does not exist in the registry with id '{ACCOUNT}'",
    )


def test_repositories_are_regional(server: ThreadedServer, ecr: Any) -> None:
    ecr.create_repository(repositoryName="regional")
    west = make_client(server.endpoint, "ecr", "us-west-2")
    assert west.describe_repositories()["repositories"] == []
    west.create_repository(repositoryName="regional")  # the same name in another Region


def test_delete_repository(server: ThreadedServer, ecr: Any) -> None:
    ecr.create_repository(repositoryName="full")
    V2(server.endpoint, login(server.endpoint)).push_image("full", "v1")
    with pytest.raises(ClientError) as raised:
        ecr.delete_repository(repositoryName="full")
    assert error(raised) == (
        "RepositoryNotEmptyException",
        f"The repository with name 'full' in registry with id '{ACCOUNT}' cannot be deleted because it "
        "still contains images",
    )
    deleted = ecr.delete_repository(repositoryName="full", force=True)["repository"]
    assert deleted["repositoryName"] == "full"
    with pytest.raises(ClientError) as missing:
        ecr.delete_repository(repositoryName="full")
    assert missing.value.response["Error"]["Code"] == "RepositoryNotFoundException"
    ecr.create_repository(repositoryName="full")  # a new repository does not inherit the old images
    assert ecr.list_images(repositoryName="full")["imageIds"] == []


def test_put_image_tag_mutability(ecr: Any) -> None:
    ecr.create_repository(repositoryName="mut")
    answer = ecr.put_image_tag_mutability(
        repositoryName="mut",
        imageTagMutability="MUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "release-*"}],
    )
    assert answer["imageTagMutability"] == "MUTABLE_WITH_EXCLUSION"
    assert answer["registryId"] == ACCOUNT
    repo = ecr.describe_repositories(repositoryNames=["mut"])["repositories"][0]
    assert repo["imageTagMutabilityExclusionFilters"] == [{"filterType": "WILDCARD", "filter": "release-*"}]
    ecr.put_image_tag_mutability(repositoryName="mut", imageTagMutability="IMMUTABLE")
    repo = ecr.describe_repositories(repositoryNames=["mut"])["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE" and "imageTagMutabilityExclusionFilters" not in repo
    with pytest.raises(ClientError) as raised:
        ecr.put_image_tag_mutability(repositoryName="nope", imageTagMutability="MUTABLE")
    assert raised.value.response["Error"]["Code"] == "RepositoryNotFoundException"


POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "pull",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }
)


def test_repository_policy(ecr: Any) -> None:
    ecr.create_repository(repositoryName="pol")
    with pytest.raises(ClientError) as raised:
        ecr.get_repository_policy(repositoryName="pol")
    assert error(raised) == (
        "RepositoryPolicyNotFoundException",
        "Repository policy does not exist for the repository with name 'pol' in the registry with id "
        f"'{ACCOUNT}'",
    )
    stored = ecr.set_repository_policy(repositoryName="pol", policyText=POLICY)
    assert stored["policyText"] == POLICY and stored["registryId"] == ACCOUNT
    assert ecr.get_repository_policy(repositoryName="pol")["policyText"] == POLICY
    assert ecr.delete_repository_policy(repositoryName="pol")["policyText"] == POLICY
    with pytest.raises(ClientError) as again:
        ecr.delete_repository_policy(repositoryName="pol")
    assert again.value.response["Error"]["Code"] == "RepositoryPolicyNotFoundException"


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", json.dumps({"Statement": []}), json.dumps({"Statement": [{"Effect": "Maybe"}]})],
)
def test_invalid_repository_policy(ecr: Any, text: str) -> None:
    ecr.create_repository(repositoryName="pol")
    with pytest.raises(ClientError) as raised:
        ecr.set_repository_policy(repositoryName="pol", policyText=text)
    assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError):
        ecr.get_repository_policy(repositoryName="pol")


def test_resource_tags(ecr: Any) -> None:
    arn = ecr.create_repository(repositoryName="tagged")["repository"]["repositoryArn"]
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "a", "Value": "3"}])
    ecr.untag_resource(resourceArn=arn, tagKeys=["b"])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "a", "Value": "3"}]
    with pytest.raises(ClientError) as reserved:
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": "aws:x", "Value": "1"}])
    assert reserved.value.response["Error"]["Code"] == "InvalidTagParameterException"
    with pytest.raises(ClientError) as many:
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": f"k{i}", "Value": ""} for i in range(50)])
    assert many.value.response["Error"]["Code"] == "TooManyTagsException"
    with pytest.raises(ClientError) as bad_arn:
        ecr.list_tags_for_resource(resourceArn="arn:aws:s3:::bucket")
    assert bad_arn.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as missing:
        ecr.list_tags_for_resource(resourceArn=arn.replace("tagged", "gone"))
    assert missing.value.response["Error"]["Code"] == "RepositoryNotFoundException"


def test_describe_registry(ecr: Any) -> None:
    answer = ecr.describe_registry()
    assert answer["registryId"] == ACCOUNT
    assert answer["replicationConfiguration"] == {"rules": []}
