"""Public repositories over /v2/ on the public host: anonymous pulls, pushes with a token, the
Bearer token flow docker uses, and private repositories still refusing anonymous pulls."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

import pytest

from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import V2, login
from tests.conftest import make_client

ACCOUNT = "123456789012"
ALIAS = f"a{ACCOUNT}"


@pytest.fixture
def public(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "ecr-public")


def public_url(server: ThreadedServer) -> str:
    return f"http://localhost:{urlsplit(server.endpoint).port}"


def public_password(server: ThreadedServer) -> str:
    data = make_client(server.endpoint, "ecr-public").get_authorization_token()["authorizationData"]
    return base64.b64decode(data["authorizationToken"]).decode().partition(":")[2]


def test_push_with_token_then_pull_anonymously(server: ThreadedServer, public: Any) -> None:
    public.create_repository(repositoryName="team/app")
    pusher = V2(public_url(server), public_password(server))
    image = pusher.push_image(f"{ALIAS}/team/app", "v1", layers=[b"first layer", b"second layer"])

    anonymous = V2(public_url(server), None)
    head = anonymous.request("HEAD", f"/v2/{ALIAS}/team/app/manifests/v1")
    assert head.status == 200
    assert head.header("Docker-Content-Digest") == image.digest
    got = anonymous.request("GET", f"/v2/{ALIAS}/team/app/manifests/{image.digest}")
    assert got.status == 200 and got.body == image.manifest
    assert got.header("Content-Type") == image.media_type
    for digest in image.blobs:
        blob = anonymous.request("GET", f"/v2/{ALIAS}/team/app/blobs/{digest}")
        assert blob.status == 200
        assert blob.header("Docker-Content-Digest") == digest
    tags = anonymous.request("GET", f"/v2/{ALIAS}/team/app/tags/list")
    assert tags.status == 200
    assert tags.json() == {"name": f"{ALIAS}/team/app", "tags": ["v1"]}
    missing = anonymous.request("GET", f"/v2/{ALIAS}/team/app/manifests/nope")
    assert missing.status == 404 and missing.error_codes == ["MANIFEST_UNKNOWN"]
    unknown = anonymous.request("GET", f"/v2/{ALIAS}/other/manifests/v1")
    assert unknown.status == 404 and unknown.error_codes == ["NAME_UNKNOWN"]


def test_upload_locations_carry_the_alias(server: ThreadedServer, public: Any) -> None:
    public.create_repository(repositoryName="loc")
    pusher = V2(public_url(server), public_password(server))
    started = pusher.request("POST", f"/v2/{ALIAS}/loc/blobs/uploads/")
    assert started.status == 202
    assert str(started.header("Location")).startswith(f"/v2/{ALIAS}/loc/blobs/uploads/")
    image = pusher.push_image(f"{ALIAS}/loc", "v1")
    again = pusher.put_manifest(f"{ALIAS}/loc", "v2", image.manifest, image.media_type)
    assert again.header("Location") == f"/v2/{ALIAS}/loc/manifests/{image.digest}"


def test_anonymous_writes_get_a_bearer_challenge(server: ThreadedServer, public: Any) -> None:
    public.create_repository(repositoryName="ro")
    anonymous = V2(public_url(server), None)
    host = urlsplit(public_url(server)).netloc
    for method, path in (
        ("POST", f"/v2/{ALIAS}/ro/blobs/uploads/"),
        ("PUT", f"/v2/{ALIAS}/ro/manifests/v1"),
        ("DELETE", f"/v2/{ALIAS}/ro/manifests/v1"),
    ):
        answer = anonymous.request(method, path, b"{}" if method == "PUT" else None)
        assert answer.status == 401, (method, answer.body)
        assert answer.error_codes == ["UNAUTHORIZED"]
        assert answer.header("WWW-Authenticate") == (
            f'Bearer realm="http://{host}/token/",service="ecr-public",'
            f'scope="repository:{ALIAS}/ro:push,pull"'
        )
    ping = anonymous.request("GET", "/v2/")
    assert ping.status == 401
    assert (
        ping.header("WWW-Authenticate")
        == f'Bearer realm="http://{host}/token/",service="ecr-public",scope="aws"'
    )
    forged = V2(public_url(server), "dky1.forged.token").request("GET", f"/v2/{ALIAS}/ro/tags/list")
    assert forged.status == 401


def test_bearer_token_flow(server: ThreadedServer, public: Any) -> None:
    public.create_repository(repositoryName="bearer")
    anonymous = V2(public_url(server), None)
    anon = anonymous.request("GET", f"/token/?service=ecr-public&scope=repository:{ALIAS}/bearer:pull")
    assert anon.status == 200
    anon_token = anon.json()["token"]
    assert anon.json()["expires_in"] > 0
    pull = anonymous.request(
        "GET", f"/v2/{ALIAS}/bearer/tags/list", headers={"Authorization": f"Bearer {anon_token}"}
    )
    assert pull.status == 200
    push = anonymous.request(
        "POST", f"/v2/{ALIAS}/bearer/blobs/uploads/", headers={"Authorization": f"Bearer {anon_token}"}
    )
    assert push.status == 401

    password = public_password(server)
    basic = base64.b64encode(f"AWS:{password}".encode()).decode()
    issued = anonymous.request(
        "GET", "/token/?service=ecr-public", headers={"Authorization": f"Basic {basic}"}
    )
    assert issued.status == 200
    token = issued.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert anonymous.request("GET", "/v2/", headers=bearer).status == 200
    assert anonymous.request("POST", f"/v2/{ALIAS}/bearer/blobs/uploads/", headers=bearer).status == 202

    wrong = base64.b64encode(b"AWS:not-a-token").decode()
    refused = anonymous.request("GET", "/token/", headers={"Authorization": f"Basic {wrong}"})
    assert refused.status == 401


def test_private_token_of_the_same_account_pushes(server: ThreadedServer, public: Any) -> None:
    public.create_repository(repositoryName="via-private")
    pusher = V2(public_url(server), login(server.endpoint))
    pusher.push_image(f"{ALIAS}/via-private", "v1")
    assert public.describe_image_tags(repositoryName="via-private")["imageTagDetails"][0]["imageTag"] == "v1"


def test_another_accounts_token_may_not_push(server: ThreadedServer, public: Any) -> None:
    public.create_repository(repositoryName="guarded")
    ecr = make_client(server.endpoint, "ecr")
    data = ecr.get_authorization_token(registryIds=["111122223333"])["authorizationData"][0]
    other = base64.b64decode(data["authorizationToken"]).decode().partition(":")[2]
    denied = V2(public_url(server), other).request("POST", f"/v2/{ALIAS}/guarded/blobs/uploads/")
    assert denied.status == 403 and denied.error_codes == ["DENIED"]
    assert public.describe_images(repositoryName="guarded")["imageDetails"] == []


def test_private_repositories_still_need_credentials(server: ThreadedServer, public: Any) -> None:
    ecr = make_client(server.endpoint, "ecr")
    ecr.create_repository(repositoryName="secret")
    private = V2(server.endpoint, login(server.endpoint))
    image = private.push_image("secret", "v1")
    anonymous = V2(server.endpoint, None)
    refused = anonymous.request("GET", f"/v2/secret/manifests/{image.digest}")
    assert refused.status == 401
    assert str(refused.header("WWW-Authenticate")).startswith("Basic ")
    assert anonymous.request("GET", f"/v2/secret/blobs/{image.blobs[0]}").status == 401
    # the private repository is not reachable on the public host, with or without the alias
    public_anon = V2(public_url(server), None)
    assert public_anon.request("GET", f"/v2/{ALIAS}/secret/manifests/v1").status == 404
    assert public_anon.request("GET", "/v2/secret/manifests/v1").status == 404
    # and public repositories are not reachable on the private host
    public.create_repository(repositoryName="shown")
    V2(public_url(server), public_password(server)).push_image(f"{ALIAS}/shown", "v1")
    assert private.request("GET", "/v2/shown/manifests/v1").status == 404
