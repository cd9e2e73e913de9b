"""ECR pull-through cache through boto3 and /v2/: the upstream is this same server's registry in
us-west-2 (on loopback, behind its Basic auth), read with credentials from Secrets Manager."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import DOCKER_MANIFEST, OCI_INDEX, V2, login
from tests.conftest import make_client


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def _upstream_url(server: ThreadedServer) -> str:
    return server.endpoint.removeprefix("http://")


def _secret(server: ThreadedServer, password: str) -> str:
    secrets = make_client(server.endpoint, "secretsmanager")
    created = secrets.create_secret(
        Name="ecr-pullthroughcache/upstream",
        SecretString=json.dumps({"username": "AWS", "accessToken": password}),
    )
    arn: str = created["ARN"]
    return arn


def test_pulling_through_the_cache_fetches_stores_and_serves(server: ThreadedServer) -> None:
    ecr = make_client(server.endpoint, "ecr")
    west = make_client(server.endpoint, "ecr", "us-west-2")
    west.create_repository(repositoryName="library/alpine")
    upstream = V2(server.endpoint, login(server.endpoint, "us-west-2"))
    image = upstream.push_image("library/alpine", "3.19", layers=[b"alpine root filesystem"])
    amd, arm = (
        upstream.push_image("library/alpine", None, layers=[f"{a} fs".encode()]) for a in ("amd", "arm")
    )
    index = upstream.push_index("library/alpine", "multi", [amd, arm])

    arn = _secret(server, login(server.endpoint, "us-west-2"))
    rule = ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="hub", upstreamRegistryUrl=_upstream_url(server), credentialArn=arn
    )
    assert (rule["ecrRepositoryPrefix"], rule["registryId"], rule["credentialArn"]) == (
        "hub",
        "123456789012",
        arn,
    )
    assert ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="hub")["isValid"] is True

    local = V2(server.endpoint, login(server.endpoint))
    pulled = local.request(
        "GET", "/v2/hub/library/alpine/manifests/3.19", headers={"Accept": DOCKER_MANIFEST}
    )
    assert pulled.status == 200 and pulled.body == image.manifest
    assert pulled.header("Docker-Content-Digest") == image.digest
    for blob in image.blobs:
        assert local.request("GET", f"/v2/hub/library/alpine/blobs/{blob}").status == 200
    listed = ecr.describe_images(repositoryName="hub/library/alpine")["imageDetails"]
    assert [(d["imageDigest"], d["imageTags"]) for d in listed] == [(image.digest, ["3.19"])]

    multi = local.request("GET", "/v2/hub/library/alpine/manifests/multi", headers={"Accept": OCI_INDEX})
    assert multi.status == 200 and multi.header("Docker-Content-Digest") == index.digest
    child = local.request(
        "GET", f"/v2/hub/library/alpine/manifests/{arm.digest}", headers={"Accept": DOCKER_MANIFEST}
    )
    assert child.status == 200 and child.body == arm.manifest

    missing = local.request(
        "GET", "/v2/hub/library/alpine/manifests/no-such-tag", headers={"Accept": DOCKER_MANIFEST}
    )
    assert missing.status == 404
    unrelated = local.request(
        "GET", "/v2/elsewhere/alpine/manifests/3.19", headers={"Accept": DOCKER_MANIFEST}
    )
    assert unrelated.status == 404


def test_rule_operations_and_errors(server: ThreadedServer) -> None:
    ecr = make_client(server.endpoint, "ecr")
    created = ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay/", upstreamRegistryUrl="quay.io")
    assert created["ecrRepositoryPrefix"] == "quay" and created["upstreamRegistry"] == "quay"
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="local", upstreamRegistryUrl=_upstream_url(server))
    code, message = _error(
        lambda: ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    )
    assert code == "PullThroughCacheRuleAlreadyExistsException"
    described = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert [r["ecrRepositoryPrefix"] for r in described] == ["local", "quay"]
    page = ecr.describe_pull_through_cache_rules(maxResults=1)
    assert len(page["pullThroughCacheRules"]) == 1 and page["nextToken"]
    code, message = _error(lambda: ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["nope"]))
    assert (code, message) == (
        "PullThroughCacheRuleNotFoundException",
        "The pull through cache rule with prefix 'nope' does not exist in the registry with id "
        "'123456789012'",
    )

    validated = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="local")  # no credentials
    assert validated["isValid"] is False
    assert validated["failure"] == "The upstream registry requires credentials."

    missing_secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/absent-AbCdEf"
    code, _ = _error(
        lambda: ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="other", upstreamRegistryUrl="ghcr.io", credentialArn=missing_secret
        )
    )
    assert code == "SecretNotFoundException"
    assert _error(lambda: ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["other"]))[0] == (
        "PullThroughCacheRuleNotFoundException"
    )

    arn = _secret(server, login(server.endpoint))
    updated = ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="local", credentialArn=arn)
    assert updated["credentialArn"] == arn and updated["updatedAt"]
    assert ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="local")["isValid"] is True
    deleted = ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="local")
    assert deleted["upstreamRegistryUrl"] == _upstream_url(server) and deleted["credentialArn"] == arn
    assert _error(lambda: ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="local"))[0] == (
        "PullThroughCacheRuleNotFoundException"
    )
    assert _error(lambda: ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="local"))[0] == (
        "PullThroughCacheRuleNotFoundException"
    )


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("registry-1.docker.io", "https://registry-1.docker.io"),
        ("127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("localhost:5000/", "http://localhost:5000"),
        ("[::1]:5000", "http://[::1]:5000"),
        ("http://registry.internal:5000", "http://registry.internal:5000"),
        ("https://quay.io/", "https://quay.io"),
    ],
)
def test_upstream_urls(url: str, base: str) -> None:
    from dockyard.registry.pull_through import upstream_base

    assert upstream_base(url) == base
