"""Manifest parsing, digests and names, tag mutability rules and registry tokens."""

from __future__ import annotations

import base64
import json

import pytest

from dockyard.registry.auth import TokenSigner, authorization_token, basic_credentials
from dockyard.registry.digests import DigestError, parse_digest, valid_name, valid_tag
from dockyard.registry.manifests import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    ManifestInvalid,
    parse_manifest,
)
from dockyard.registry.model import Scope, tag_is_immutable
from dockyard.testing.clock import FakeClock

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64


def manifest(**extra: object) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": D1, "size": 7},
        "layers": [
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": D2, "size": 100},
            {"mediaType": "foreign", "digest": D2, "size": 50, "urls": ["https://example.com/x"]},
        ],
        **extra,
    }
    return json.dumps(doc).encode()


def test_image_manifest_references_and_size() -> None:
    parsed = parse_manifest(manifest(), DOCKER_MANIFEST)
    assert parsed.media_type == DOCKER_MANIFEST
    assert not parsed.is_index
    assert [b.digest for b in parsed.blobs()] == [D1, D2]  # the foreign layer is not stored
    assert parsed.layers_size == 150
    assert parsed.artifact_media_type == "application/vnd.docker.container.image.v1+json"


def test_oci_manifest_without_media_type_is_inferred() -> None:
    body = json.dumps(
        {"schemaVersion": 2, "config": {"mediaType": "x/y", "digest": D1, "size": 1}, "layers": []}
    ).encode()
    assert parse_manifest(body, None).media_type == OCI_MANIFEST
    index = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert parse_manifest(index, "").media_type == OCI_INDEX


def test_index_children_subject_and_artifact_type() -> None:
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST_LIST,
            "manifests": [
                {"mediaType": DOCKER_MANIFEST, "digest": D1, "size": 10, "platform": {"os": "linux"}}
            ],
            "subject": {"mediaType": DOCKER_MANIFEST, "digest": D2, "size": 3},
            "artifactType": "application/example",
        }
    ).encode()
    parsed = parse_manifest(body, DOCKER_MANIFEST_LIST + "; charset=utf-8")
    assert parsed.is_index
    assert [m.digest for m in parsed.manifests] == [D1]
    assert parsed.subject is not None and parsed.subject.digest == D2
    assert parsed.artifact_media_type == "application/example"


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        (b"not json", DOCKER_MANIFEST, "not valid JSON"),
        (b"[]", DOCKER_MANIFEST, "not a JSON object"),
        (manifest(), OCI_MANIFEST, "does not match its Content-Type"),
        (manifest(schemaVersion=1), DOCKER_MANIFEST, "schema 1"),
        (manifest(config={"digest": "sha256:short", "mediaType": "x", "size": 1}), None, "invalid digest"),
        (manifest(layers=[{"digest": D1, "mediaType": "x", "size": -1}]), None, "no valid size"),
        (json.dumps({"schemaVersion": 2, "mediaType": "text/plain"}).encode(), None, "unsupported"),
    ],
)
def test_invalid_manifests_say_why(body: bytes, content_type: str | None, why: str) -> None:
    with pytest.raises(ManifestInvalid, match=why):
        parse_manifest(body, content_type)


def test_digest_grammar() -> None:
    assert str(parse_digest(D1)) == D1
    assert parse_digest("sha512:" + "0" * 128).algorithm == "sha512"
    with pytest.raises(DigestError) as unsupported:
        parse_digest("md5:" + "0" * 32)
    assert unsupported.value.unsupported
    for bad in ("sha256:" + "A" * 64, "sha256:abc", "sha256", "", "../etc/passwd"):
        with pytest.raises(DigestError):
            parse_digest(bad)


def test_names_and_tags() -> None:
    for good in ("ab", "a/b", "my-app/web_1", "x.y/z__w", "a--b"):
        assert valid_name(good), good
    for bad in ("a", "A/b", "a//b", "../etc", "a/../b", "a/", "/a", "a_", "-a", "a" * 257):
        assert not valid_name(bad), bad
    assert valid_tag("v1.0_rc-1") and valid_tag("_x")
    assert not valid_tag(".x") and not valid_tag("a" * 129) and not valid_tag("a:b")


@pytest.mark.parametrize(
    ("mutability", "tag", "immutable"),
    [
        ("MUTABLE", "latest", False),
        ("IMMUTABLE", "latest", True),
        ("IMMUTABLE_WITH_EXCLUSION", "latest", False),
        ("IMMUTABLE_WITH_EXCLUSION", "dev-123", False),
        ("IMMUTABLE_WITH_EXCLUSION", "v1.0", True),
        ("MUTABLE_WITH_EXCLUSION", "v1.0", True),
        ("MUTABLE_WITH_EXCLUSION", "latest", False),
    ],
)
def test_tag_mutability_with_exclusions(mutability: str, tag: str, immutable: bool) -> None:
    filters = [{"filterType": "WILDCARD", "filter": "latest"}, {"filterType": "WILDCARD", "filter": "dev-*"}]
    if mutability == "MUTABLE_WITH_EXCLUSION":
        filters = [{"filterType": "WILDCARD", "filter": "v*"}]
    assert tag_is_immutable(mutability, filters, tag) is immutable


def test_tokens_carry_the_registry_and_expire() -> None:
    clock = FakeClock()
    signer = TokenSigner(b"k" * 32, clock)
    password, expires_at = signer.mint(Scope("123456789012", "eu-west-1"), "AKIA")
    assert ":" not in password
    assert expires_at == clock.now() + 12 * 3600
    found = signer.verify(password)
    assert found is not None and found.scope == Scope("123456789012", "eu-west-1")
    assert TokenSigner(b"x" * 32, clock).verify(password) is None  # another server's key
    assert signer.verify(password[:-2] + "AA") is None
    clock.advance(12 * 3600)
    assert signer.verify(password) is None
    token = authorization_token(password)
    assert base64.b64decode(token).decode() == f"AWS:{password}"
    assert basic_credentials("Basic " + token) == ("AWS", password)
    assert basic_credentials("Bearer x") is None
    assert basic_credentials("Basic !!!") is None
