"""A small OCI distribution client for the registry tests, on http.client (no buffering tricks:
what it sends is what the test says)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import make_client

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def error_codes(self) -> list[str]:
        return [e["code"] for e in self.json()["errors"]]


@dataclass
class Image:
    digest: str
    manifest: bytes
    media_type: str
    blobs: list[str] = field(default_factory=list)


class V2:
    """Requests to a registry on `endpoint`, with Basic credentials when `password` is given."""

    def __init__(self, endpoint: str, password: str | None) -> None:
        parsed = urllib.parse.urlsplit(endpoint)
        self.host = parsed.netloc
        self.password = password

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        chunked: bool = False,
    ) -> Response:
        connection = http.client.HTTPConnection(self.host, timeout=60)
        all_headers = dict(headers or {})
        if self.password is not None:
            token = base64.b64encode(f"AWS:{self.password}".encode()).decode()
            all_headers.setdefault("Authorization", f"Basic {token}")
        try:
            connection.request(method, path, body=body, headers=all_headers, encode_chunked=chunked)
            response = connection.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            connection.close()

    # -- pushes ----------------------------------------------------------------------------------

    def push_blob(self, repository: str, data: bytes) -> str:
        """POST then a monolithic PUT; the blob's digest."""
        started = self.request("POST", f"/v2/{repository}/blobs/uploads/")
        assert started.status == 202, started.body
        digest = sha256(data)
        location = started.header("Location")
        assert location is not None
        done = self.request("PUT", f"{location}?digest={digest}", data)
        assert done.status == 201, done.body
        return digest

    def put_manifest(self, repository: str, reference: str, manifest: bytes, media_type: str) -> Response:
        return self.request(
            "PUT", f"/v2/{repository}/manifests/{reference}", manifest, {"Content-Type": media_type}
        )

    def push_image(
        self,
        repository: str,
        tag: str | None,
        *,
        layers: list[bytes] | None = None,
        config: bytes | None = None,
        media_type: str = DOCKER_MANIFEST,
        extra: Mapping[str, Any] | None = None,
    ) -> Image:
        """Push blobs and a manifest naming them (tagged `tag`, or by digest when None)."""
        config = (
            config if config is not None else json.dumps({"architecture": "amd64", "os": "linux"}).encode()
        )
        layers = layers if layers is not None else [b"layer " + repository.encode()]
        oci = media_type == OCI_MANIFEST
        config_digest = self.push_blob(repository, config)
        descriptors = [
            {
                "mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                "digest": self.push_blob(repository, layer),
                "size": len(layer),
            }
            for layer in layers
        ]
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
                "digest": config_digest,
                "size": len(config),
            },
            "layers": descriptors,
            **(extra or {}),
        }
        body = json.dumps(doc, indent=2).encode()
        digest = sha256(body)
        answer = self.put_manifest(repository, tag or digest, body, media_type)
        assert answer.status == 201, answer.body
        assert answer.header("Docker-Content-Digest") == digest
        return Image(digest, body, media_type, [config_digest, *(d["digest"] for d in descriptors)])

    def push_index(
        self, repository: str, tag: str | None, children: list[Image], media_type: str = OCI_INDEX
    ) -> Image:
        doc = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": [
                {
                    "mediaType": child.media_type,
                    "digest": child.digest,
                    "size": len(child.manifest),
                    "platform": {"architecture": arch, "os": "linux"},
                }
                for child, arch in zip(children, ["amd64", "arm64", "s390x", "ppc64le"], strict=False)
            ],
        }
        body = json.dumps(doc).encode()
        answer = self.put_manifest(repository, tag or sha256(body), body, media_type)
        assert answer.status == 201, answer.body
        return Image(sha256(body), body, media_type)


def login(endpoint: str, region: str = "us-east-1") -> str:
    """A registry password from GetAuthorizationToken, as `aws ecr get-login-password` prints it."""
    token = make_client(endpoint, "ecr", region).get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(token["authorizationToken"]).decode().partition(":")
    assert user == "AWS"
    return password
