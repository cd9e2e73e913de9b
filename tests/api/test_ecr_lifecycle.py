"""ECR lifecycle policies through boto3: the policy operations, previews, and enforcement on a
fake clock that deletes exactly what the preview said."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.clock import FakeClock
from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import V2, login
from tests.conftest import make_client, reset

DAY = 86400.0
POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "keep only the newest untagged image",
            "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "keep the two newest releases",
            "selection": {
                "tagStatus": "tagged",
                "tagPrefixList": ["v"],
                "countType": "imageCountMoreThan",
                "countNumber": 2,
            },
            "action": {"type": "expire"},
        },
    ]
}


def _error(call: Callable[[], Any]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return error["Code"], error["Message"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _eventually(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _completed_preview(ecr: Any, repository: str, **kwargs: Any) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        found: dict[str, Any] = ecr.get_lifecycle_policy_preview(repositoryName=repository, **kwargs)
        return found if found["status"] == "COMPLETE" else None

    return _eventually(done, "the preview to complete")  # type: ignore[no-any-return]


# -- the operations, on the shared server --------------------------------------------------------


@pytest.fixture
def ecr(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "ecr")


def test_put_get_delete_lifecycle_policy(ecr: Any) -> None:
    ecr.create_repository(repositoryName="app")
    code, message, status = _error(lambda: ecr.get_lifecycle_policy(repositoryName="app"))
    assert (code, status) == ("LifecyclePolicyNotFoundException", 400)
    assert message == (
        "Lifecycle policy does not exist for the repository with name 'app' in the registry with id "
        "'123456789012'"
    )
    text = json.dumps(POLICY)
    put = ecr.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=text)
    assert put["lifecyclePolicyText"] == text and put["registryId"] == "123456789012"
    got = ecr.get_lifecycle_policy(repositoryName="app")
    assert got["lifecyclePolicyText"] == text and "lastEvaluatedAt" not in got
    deleted = ecr.delete_lifecycle_policy(repositoryName="app")
    assert deleted["lifecyclePolicyText"] == text
    assert (
        _error(lambda: ecr.delete_lifecycle_policy(repositoryName="app"))[0]
        == "LifecyclePolicyNotFoundException"
    )
    assert _error(lambda: ecr.get_lifecycle_policy(repositoryName="nope"))[0] == "RepositoryNotFoundException"


def test_invalid_policies_are_refused_and_change_nothing(ecr: Any) -> None:
    ecr.create_repository(repositoryName="app")
    ecr.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=json.dumps(POLICY))
    two_untagged = {"rules": [POLICY["rules"][0], {**POLICY["rules"][0], "rulePriority": 5}]}
    code, message, status = _error(
        lambda: ecr.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=json.dumps(two_untagged))
    )
    assert (code, status) == ("InvalidParameterException", 400)
    assert message == (
        "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
        "'Lifecycle policy validation failure: Only one rule can select Untagged images.'"
    )
    not_json = "x" * 120
    assert _error(lambda: ecr.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=not_json))[
        1
    ].endswith("'Lifecycle policy validation failure: Could not map policyString into LifecyclePolicy.'")
    assert ecr.get_lifecycle_policy(repositoryName="app")["lifecyclePolicyText"] == json.dumps(POLICY)
    assert (
        _error(
            lambda: ecr.put_lifecycle_policy(repositoryName="nope", lifecyclePolicyText=json.dumps(POLICY))
        )[0]
        == "RepositoryNotFoundException"
    )


def test_preview_needs_a_policy_and_one_at_a_time(ecr: Any) -> None:
    ecr.create_repository(repositoryName="app")
    code, message, _ = _error(lambda: ecr.get_lifecycle_policy_preview(repositoryName="app"))
    assert code == "LifecyclePolicyPreviewNotFoundException"
    assert message == (
        "There is no lifecycle policy preview for the repository with name 'app' in the registry with id "
        "'123456789012'"
    )
    assert _error(lambda: ecr.start_lifecycle_policy_preview(repositoryName="app"))[0] == (
        "LifecyclePolicyNotFoundException"
    )
    started = ecr.start_lifecycle_policy_preview(repositoryName="app", lifecyclePolicyText=json.dumps(POLICY))
    assert started["status"] == "IN_PROGRESS" and started["lifecyclePolicyText"] == json.dumps(POLICY)
    preview = _completed_preview(ecr, "app")
    assert preview["previewResults"] == [] and preview["summary"] == {"expiringImageTotalCount": 0}


# -- enforcement on a fake clock -----------------------------------------------------------------


@pytest.fixture(scope="module", name="clocked")
def clocked_fixture() -> Iterator[ThreadedServer]:
    with ThreadedServer(clock=FakeClock(), lifecycle_interval=DAY) as running:
        yield running


def _digests(ecr: Any, repository: str) -> dict[str, list[str]]:
    details = ecr.describe_images(repositoryName=repository)["imageDetails"]
    return {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in details}


def test_enforcement_removes_exactly_what_the_preview_said(clocked: ThreadedServer) -> None:
    reset(clocked.endpoint)
    ecr = make_client(clocked.endpoint, "ecr")
    ecr.create_repository(repositoryName="shop/web")
    v2 = V2(clocked.endpoint, login(clocked.endpoint))
    pushed: dict[str, str] = {}
    for name, tag in [("u1", None), ("v1", "v1"), ("u2", None), ("v2", "v2"), ("v3", "v3"), ("u3", None)]:
        pushed[name] = v2.push_image("shop/web", tag, layers=[f"layer of {name}".encode()]).digest
        clocked.advance(60)
    pushed["v4"] = v2.push_image("shop/web", "v4", layers=[b"layer of v4"]).digest
    pushed["latest"] = v2.push_image("shop/web", "latest", layers=[b"layer of latest"]).digest
    clocked.advance(2 * DAY)  # every image is now two days old (and the registry token expired)
    v2 = V2(clocked.endpoint, login(clocked.endpoint))
    u4 = v2.push_image("shop/web", None, layers=[b"a fresh untagged image"]).digest
    ecr.put_lifecycle_policy(repositoryName="shop/web", lifecyclePolicyText=json.dumps(POLICY))

    ecr.start_lifecycle_policy_preview(repositoryName="shop/web")
    preview = _completed_preview(ecr, "shop/web")
    by_digest = {r["imageDigest"]: r for r in preview["previewResults"]}
    expected = {pushed["u1"]: 1, pushed["u2"]: 1, pushed["u3"]: 1, pushed["v1"]: 2, pushed["v2"]: 2}
    assert {d: r["appliedRulePriority"] for d, r in by_digest.items()} == expected
    assert preview["summary"] == {"expiringImageTotalCount": 5}
    assert all(r["action"] == {"type": "EXPIRE"} for r in by_digest.values())
    assert by_digest[pushed["v1"]]["imageTags"] == ["v1"] and "imageTags" not in by_digest[pushed["u1"]]
    tagged = ecr.get_lifecycle_policy_preview(repositoryName="shop/web", filter={"tagStatus": "TAGGED"})
    assert {r["imageDigest"] for r in tagged["previewResults"]} == {pushed["v1"], pushed["v2"]}
    first = ecr.get_lifecycle_policy_preview(repositoryName="shop/web", maxResults=3)
    rest = ecr.get_lifecycle_policy_preview(repositoryName="shop/web", nextToken=first["nextToken"])
    paged = [r["imageDigest"] for r in first["previewResults"] + rest["previewResults"]]
    assert sorted(paged) == sorted(by_digest) and "nextToken" not in rest

    before = _digests(ecr, "shop/web")
    clocked.advance(DAY / 2)
    time.sleep(0.2)  # not due yet: the controller must leave everything in place
    assert _digests(ecr, "shop/web") == before
    clocked.advance(DAY / 2 + 60)
    remaining = _eventually(
        lambda: (found := _digests(ecr, "shop/web")) != before and found, "the policy to be enforced"
    )
    assert set(remaining) == set(before) - set(by_digest)
    assert remaining == {pushed["v3"]: ["v3"], pushed["v4"]: ["v4"], pushed["latest"]: ["latest"], u4: []}
    assert ecr.get_lifecycle_policy(repositoryName="shop/web")["lastEvaluatedAt"].timestamp() > 0
