"""ECR replication through boto3: images pushed into us-east-1 appear in us-west-2 of the same
server, with the same digest and tags, in a repository created for them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import V2, login
from tests.conftest import make_client

ACCOUNT = "123456789012"


def _eventually(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def _images(ecr: Any, repository: str) -> dict[str, list[str]]:
    try:
        details = ecr.describe_images(repositoryName=repository)["imageDetails"]
    except ClientError:
        return {}
    return {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in details}


def _configure(east: Any, *prefixes: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"destinations": [{"region": "us-west-2", "registryId": ACCOUNT}]}
    if prefixes:
        rule["repositoryFilters"] = [{"filter": p, "filterType": "PREFIX_MATCH"} for p in prefixes]
    answer: dict[str, Any] = east.put_replication_configuration(replicationConfiguration={"rules": [rule]})
    return answer


def test_pushed_images_replicate_to_the_destination_region(server: ThreadedServer) -> None:
    east, west = make_client(server.endpoint, "ecr"), make_client(server.endpoint, "ecr", "us-west-2")
    east.create_repository(repositoryName="prod/api")
    east.create_repository(repositoryName="dev/tool")
    v2 = V2(server.endpoint, login(server.endpoint))
    before = v2.push_image("prod/api", "v0", layers=[b"pushed before replication was configured"])
    answer = _configure(east, "prod")
    assert answer["replicationConfiguration"]["rules"][0]["repositoryFilters"] == [
        {"filter": "prod", "filterType": "PREFIX_MATCH"}
    ]
    assert east.describe_registry()["replicationConfiguration"] == answer["replicationConfiguration"]
    assert west.describe_registry()["replicationConfiguration"] == {"rules": []}

    image = v2.push_image("prod/api", "v1", layers=[b"release one"])
    amd, arm = (v2.push_image("prod/api", None, layers=[f"{a} layer".encode()]) for a in ("amd64", "arm64"))
    index = v2.push_index("prod/api", "multi", [amd, arm])
    v2.push_image("dev/tool", "v1", layers=[b"not replicated"])

    expected = {image.digest: ["v1"], index.digest: ["multi"], amd.digest: [], arm.digest: []}
    _eventually(lambda: _images(west, "prod/api") == expected, "the images to reach us-west-2")
    assert west.describe_repositories(repositoryNames=["prod/api"])["repositories"][0][
        "repositoryUri"
    ].endswith("/prod/api")
    status = _eventually(
        lambda: (
            (
                found := east.describe_image_replication_status(
                    repositoryName="prod/api", imageId={"imageTag": "v1"}
                )
            )["replicationStatuses"]
            and found["replicationStatuses"][0]["status"] == "COMPLETE"
            and found
        ),
        "the replication status",
    )
    assert status["replicationStatuses"] == [
        {"region": "us-west-2", "registryId": ACCOUNT, "status": "COMPLETE"}
    ]
    assert status["imageId"] == {"imageDigest": image.digest, "imageTag": "v1"}
    pulled = V2(server.endpoint, login(server.endpoint, "us-west-2")).request(
        "GET", "/v2/prod/api/manifests/v1", headers={"Accept": image.media_type}
    )
    assert pulled.status == 200 and pulled.body == image.manifest

    v2.put_manifest("prod/api", "stable", image.manifest, image.media_type)  # a new tag follows
    _eventually(lambda: _images(west, "prod/api").get(image.digest) == ["stable", "v1"], "the new tag")
    assert before.digest not in _images(west, "prod/api")
    none = east.describe_image_replication_status(repositoryName="prod/api", imageId={"imageTag": "v0"})
    assert none["replicationStatuses"] == []
    assert _images(west, "dev/tool") == {}
    east.batch_delete_image(repositoryName="prod/api", imageIds=[{"imageTag": "v1"}, {"imageTag": "stable"}])
    time.sleep(0.2)  # deletions are not replicated
    assert image.digest in _images(west, "prod/api")


def test_invalid_replication_configurations(server: ThreadedServer) -> None:
    east = make_client(server.endpoint, "ecr")
    same = {"rules": [{"destinations": [{"region": "us-east-1", "registryId": ACCOUNT}]}]}
    code, message = _error(lambda: east.put_replication_configuration(replicationConfiguration=same))
    assert (code, message) == (
        "InvalidParameterException",
        "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: "
        "'Replication destination cannot be the same as the source registry'",
    )
    other = {"rules": [{"destinations": [{"region": "us-west-2", "registryId": "210987654321"}]}]}
    assert _error(lambda: east.put_replication_configuration(replicationConfiguration=other))[0] == (
        "InvalidParameterException"
    )
    assert east.describe_registry()["replicationConfiguration"] == {"rules": []}
    east.create_repository(repositoryName="app")
    code, _ = _error(
        lambda: east.describe_image_replication_status(repositoryName="app", imageId={"imageTag": "nope"})
    )
    assert code == "ImageNotFoundException"


def test_destinations_follow_rule_filters() -> None:
    from dockyard.registry.model import Scope
    from dockyard.registry.replication import destinations

    west, eu = Scope(ACCOUNT, "us-west-2"), Scope(ACCOUNT, "eu-west-1")
    config = {
        "rules": [
            {
                "destinations": [{"region": "us-west-2", "registryId": ACCOUNT}],
                "repositoryFilters": [{"filter": "prod", "filterType": "PREFIX_MATCH"}],
            },
            {
                "destinations": [
                    {"region": "eu-west-1", "registryId": ACCOUNT},
                    {"region": "us-west-2", "registryId": ACCOUNT},
                ]
            },
        ]
    }
    source = Scope(ACCOUNT, "us-east-1")
    assert destinations(config, source, "prod/api") == [west, eu]
    assert destinations(config, source, "dev/api") == [eu, west]
    assert destinations(config, west, "prod/api") == [eu]  # never back into the source itself
    assert destinations(None, source, "prod/api") == []
