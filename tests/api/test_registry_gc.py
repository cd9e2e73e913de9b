"""Registry garbage collection on an injected clock: blobs no image uses go after the grace
period, blobs in use stay, abandoned uploads go after 24 hours."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.registry.gc import GcReport
from dockyard.testing.clock import FakeClock
from dockyard.testing.server import ThreadedServer
from tests.api.registry_client import V2, login
from tests.conftest import make_client

HOUR = 3600.0


@pytest.fixture(scope="module")
def gc_server() -> Iterator[ThreadedServer]:
    with ThreadedServer(clock=FakeClock(), registry_gc_interval=10 * 86400.0) as running:
        yield running


def collect(server: ThreadedServer) -> GcReport:
    return server.run(server.server.registry.gc.collect())


def stored(server: ThreadedServer) -> set[str]:
    root: Path = server.server.registry.catalog.storage.root  # type: ignore[attr-defined]
    return {p.name for p in (root / "blobs").rglob("*") if p.is_file()}


def test_blobs_of_deleted_images_go_after_the_grace_period(gc_server: ThreadedServer) -> None:
    ecr: Any = make_client(gc_server.endpoint, "ecr")
    ecr.create_repository(repositoryName="gc/one")
    ecr.create_repository(repositoryName="gc/two")
    v2 = V2(gc_server.endpoint, login(gc_server.endpoint))
    shared = b"layer used by both repositories"
    doomed = v2.push_image("gc/one", "v1", layers=[shared, b"only in the doomed image"])
    kept = v2.push_image("gc/two", "v1", layers=[shared])
    before = stored(gc_server)
    assert {d.split(":")[1] for d in doomed.blobs + kept.blobs} <= before
    assert collect(gc_server) == GcReport()  # everything is in use
    ecr.batch_delete_image(repositoryName="gc/one", imageIds=[{"imageTag": "v1"}])
    assert collect(gc_server).blobs_deleted == 0  # unused from now: the grace period starts
    gc_server.advance(HOUR - 60)
    assert collect(gc_server).blobs_deleted == 0
    gc_server.advance(120)
    report = collect(gc_server)
    assert report.links_deleted == 3  # gc/one's config and its two layers
    gone = before - stored(gc_server)
    only_doomed = {doomed.digest, doomed.blobs[2]}  # its manifest bytes and its own layer
    assert gone == {d.split(":")[1] for d in only_doomed}
    assert report.blobs_deleted == len(only_doomed)
    # What the other repository uses is untouched and still pulls.
    for digest in kept.blobs:
        assert v2.request("GET", f"/v2/gc/two/blobs/{digest}").status == 200
    assert v2.request("GET", "/v2/gc/two/manifests/v1").status == 200
    assert v2.request("HEAD", f"/v2/gc/one/blobs/{doomed.blobs[2]}").status == 404


def test_a_blob_used_again_within_the_grace_period_stays(gc_server: ThreadedServer) -> None:
    ecr: Any = make_client(gc_server.endpoint, "ecr")
    ecr.create_repository(repositoryName="gc/again")
    v2 = V2(gc_server.endpoint, login(gc_server.endpoint))
    image = v2.push_image("gc/again", "v1", layers=[b"comes back"])
    ecr.batch_delete_image(repositoryName="gc/again", imageIds=[{"imageTag": "v1"}])
    collect(gc_server)
    gc_server.advance(HOUR / 2)
    assert v2.put_manifest("gc/again", "v2", image.manifest, image.media_type).status == 201
    gc_server.advance(HOUR)
    collect(gc_server)
    assert v2.request("GET", "/v2/gc/again/manifests/v2").body == image.manifest
    for digest in image.blobs:
        assert v2.request("GET", f"/v2/gc/again/blobs/{digest}").status == 200


def test_abandoned_uploads_are_purged_after_a_day(gc_server: ThreadedServer) -> None:
    ecr: Any = make_client(gc_server.endpoint, "ecr")
    ecr.create_repository(repositoryName="gc/uploads")
    v2 = V2(gc_server.endpoint, login(gc_server.endpoint))
    location = v2.request("POST", "/v2/gc/uploads/blobs/uploads/").header("Location")
    assert v2.request("PATCH", str(location), b"half a layer").status == 202
    gc_server.advance(23 * HOUR)
    assert collect(gc_server).uploads_purged == 0
    assert v2.request("GET", str(location)).status == 401  # tokens last 12 hours
    v2.password = login(gc_server.endpoint)
    assert v2.request("GET", str(location)).status == 204
    gc_server.advance(2 * HOUR)
    assert collect(gc_server).uploads_purged >= 1
    v2.password = login(gc_server.endpoint)
    gone = v2.request("GET", str(location))
    assert gone.status == 404 and gone.error_codes == ["BLOB_UPLOAD_UNKNOWN"]
