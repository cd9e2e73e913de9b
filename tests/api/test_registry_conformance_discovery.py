"""OCI distribution spec, content discovery and content management: tag lists with pagination,
referrers, the catalog, and deleting tags, manifests and blobs (end-8, end-9, end-10, end-12)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import OCI_INDEX, OCI_MANIFEST, V2, login, sha256
from tests.conftest import make_client

REPO = "conformance/discovery"


@pytest.fixture
def ecr(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "ecr")


@pytest.fixture
def v2(server: ThreadedServer, ecr: Any) -> V2:
    ecr.create_repository(repositoryName=REPO)
    return V2(server.endpoint, login(server.endpoint))


def test_tags_list_is_sorted_and_paginated_with_link(v2: V2) -> None:
    image = v2.push_image(REPO, "c")
    for tag in ("a", "e", "b", "d"):
        assert v2.put_manifest(REPO, tag, image.manifest, image.media_type).status == 201
    everything = v2.request("GET", f"/v2/{REPO}/tags/list")
    assert everything.json() == {"name": REPO, "tags": ["a", "b", "c", "d", "e"]}
    assert everything.header("Link") is None
    first = v2.request("GET", f"/v2/{REPO}/tags/list?n=2")
    assert first.json()["tags"] == ["a", "b"]
    assert first.header("Link") == f'</v2/{REPO}/tags/list?n=2&last=b>; rel="next"'
    second = v2.request("GET", f"/v2/{REPO}/tags/list?n=2&last=b")
    assert second.json()["tags"] == ["c", "d"]
    last = v2.request("GET", f"/v2/{REPO}/tags/list?n=2&last=d")
    assert last.json()["tags"] == ["e"]
    assert last.header("Link") is None
    none = v2.request("GET", f"/v2/{REPO}/tags/list?n=0")
    assert none.json()["tags"] == [] and none.header("Link") is None
    bad = v2.request("GET", f"/v2/{REPO}/tags/list?n=-1")
    assert bad.status == 400 and bad.error_codes == ["PAGINATION_NUMBER_INVALID"]


def test_tags_of_an_unknown_repository(v2: V2) -> None:
    answer = v2.request("GET", "/v2/unknown/repo/tags/list")
    assert answer.status == 404 and answer.error_codes == ["NAME_UNKNOWN"]


def test_referrers(v2: V2) -> None:
    subject = v2.push_image(REPO, "subject", media_type=OCI_MANIFEST)
    empty = v2.request("GET", f"/v2/{REPO}/referrers/{sha256(b'no referrers')}")
    assert empty.status == 200
    assert empty.header("Content-Type") == OCI_INDEX
    assert empty.json() == {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    refs = {}
    for kind in ("application/vnd.example.sbom", "application/vnd.example.signature"):
        refs[kind] = v2.push_image(
            REPO,
            None,
            media_type=OCI_MANIFEST,
            layers=[kind.encode()],
            extra={
                "artifactType": kind,
                "subject": {
                    "mediaType": OCI_MANIFEST,
                    "digest": subject.digest,
                    "size": len(subject.manifest),
                },
                "annotations": {"org.example.kind": kind},
            },
        )
    listed = v2.request("GET", f"/v2/{REPO}/referrers/{subject.digest}").json()["manifests"]
    assert sorted(m["digest"] for m in listed) == sorted(r.digest for r in refs.values())
    for descriptor in listed:
        kind = descriptor["artifactType"]
        assert descriptor["mediaType"] == OCI_MANIFEST
        assert descriptor["size"] == len(refs[kind].manifest)
        assert descriptor["annotations"] == {"org.example.kind": kind}
    filtered = v2.request(
        "GET", f"/v2/{REPO}/referrers/{subject.digest}?artifactType=application/vnd.example.sbom"
    )
    assert filtered.header("OCI-Filters-Applied") == "artifactType"
    assert [m["digest"] for m in filtered.json()["manifests"]] == [
        refs["application/vnd.example.sbom"].digest
    ]
    assert v2.request("GET", f"/v2/{REPO}/referrers/not-a-digest").status == 400


def test_catalog_lists_the_registrys_repositories(v2: V2, ecr: Any) -> None:
    ecr.create_repository(repositoryName="zz/last")
    ecr.create_repository(repositoryName="aa/first")
    names = v2.request("GET", "/v2/_catalog").json()["repositories"]
    assert names == ["aa/first", REPO, "zz/last"]
    page = v2.request("GET", "/v2/_catalog?n=1")
    assert page.json()["repositories"] == ["aa/first"]
    assert page.header("Link") == '</v2/_catalog?n=1&last=aa/first>; rel="next"'


def test_delete_a_tag_keeps_the_manifest(v2: V2) -> None:
    image = v2.push_image(REPO, "keep")
    v2.put_manifest(REPO, "drop", image.manifest, image.media_type)
    assert v2.request("DELETE", f"/v2/{REPO}/manifests/drop").status == 202
    assert v2.request("GET", f"/v2/{REPO}/manifests/drop").status == 404
    assert v2.request("GET", f"/v2/{REPO}/tags/list").json()["tags"] == ["keep"]
    assert v2.request("GET", f"/v2/{REPO}/manifests/{image.digest}").status == 200
    assert v2.request("DELETE", f"/v2/{REPO}/manifests/drop").status == 404


def test_delete_a_manifest_by_digest_drops_its_tags(v2: V2) -> None:
    image = v2.push_image(REPO, "one")
    v2.put_manifest(REPO, "two", image.manifest, image.media_type)
    assert v2.request("DELETE", f"/v2/{REPO}/manifests/{image.digest}").status == 202
    assert v2.request("GET", f"/v2/{REPO}/manifests/{image.digest}").status == 404
    assert v2.request("GET", f"/v2/{REPO}/manifests/one").status == 404
    assert v2.request("GET", f"/v2/{REPO}/tags/list").json()["tags"] == []


def test_delete_blobs_only_when_no_image_uses_them(v2: V2) -> None:
    image = v2.push_image(REPO, "v1", layers=[b"the only layer"])
    layer = image.blobs[1]
    refused = v2.request("DELETE", f"/v2/{REPO}/blobs/{layer}")
    assert refused.status == 405 and refused.error_codes == ["UNSUPPORTED"]
    assert v2.request("DELETE", f"/v2/{REPO}/manifests/{image.digest}").status == 202
    assert v2.request("DELETE", f"/v2/{REPO}/blobs/{layer}").status == 202
    assert v2.request("HEAD", f"/v2/{REPO}/blobs/{layer}").status == 404
    assert v2.request("DELETE", f"/v2/{REPO}/blobs/{layer}").status == 404


def test_an_index_child_cannot_be_deleted_before_the_index(v2: V2) -> None:
    child = v2.push_image(REPO, None)
    index = v2.push_index(REPO, "multi", [child])
    refused = v2.request("DELETE", f"/v2/{REPO}/manifests/{child.digest}")
    assert refused.status == 403 and refused.error_codes == ["DENIED"]
    assert index.digest in json.dumps(refused.json())
    assert v2.request("DELETE", f"/v2/{REPO}/manifests/{index.digest}").status == 202
    assert v2.request("DELETE", f"/v2/{REPO}/manifests/{child.digest}").status == 202
