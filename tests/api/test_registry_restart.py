"""The registry keeps everything across a server restart on the same data directory: images,
tags, tokens already handed out, and uploads in progress (their hash rebuilt from the file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import V2, login, sha256
from tests.conftest import make_client


def test_images_tokens_and_uploads_survive_a_restart(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    with ThreadedServer(data_dir=tmp_path) as first:
        ecr: Any = make_client(first.endpoint, "ecr")
        ecr.create_repository(repositoryName="kept/app")
        password = login(first.endpoint)
        v2 = V2(first.endpoint, password)
        image = v2.push_image("kept/app", "v1")
        location = str(v2.request("POST", "/v2/kept/app/blobs/uploads/").header("Location"))
        assert v2.request("PATCH", location, data[:100_000], {"Content-Range": "0-99999"}).status == 202
        port = first.server.port
    assert (tmp_path / "registry" / "blobs" / "sha256").is_dir()
    with ThreadedServer(data_dir=tmp_path, port=port) as second:
        v2 = V2(second.endpoint, password)  # the token from before the restart
        assert v2.request("GET", "/v2/kept/app/manifests/v1").body == image.manifest
        for digest in image.blobs:
            assert v2.request("HEAD", f"/v2/kept/app/blobs/{digest}").status == 200
        status = v2.request("GET", location)
        assert status.status == 204 and status.header("Range") == "0-99999"
        rest = v2.request("PATCH", location, data[100_000:], {"Content-Range": f"100000-{len(data) - 1}"})
        assert rest.status == 202
        assert v2.request("PUT", f"{location}?digest={sha256(data)}").status == 201
        assert v2.request("GET", f"/v2/kept/app/blobs/{sha256(data)}").body == data
        ecr = make_client(second.endpoint, "ecr")
        assert [i["imageTag"] for i in ecr.list_images(repositoryName="kept/app")["imageIds"]] == ["v1"]
