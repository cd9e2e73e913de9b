"""The registry with the real clients: docker (logged in with `aws ecr get-login-password`),
skopeo, podman and oras-py each push and pull with identical digests, and an ECS task runs an
image pulled from Dockyard's ECR with the token the agent fetched."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.testing.platform import Platform

pytestmark = pytest.mark.docker

HELLO = "dockyard/hello:latest"
BUSYBOX = "dockyard/busybox:latest"
AWS = str(Path(sys.executable).parent / "aws")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, built_images: None) -> Iterator[Platform]:
    with Platform(tmp_path_factory.mktemp("registry-platform")) as running:
        yield running


@pytest.fixture(scope="module")
def host(platform: Platform) -> str:
    return platform.endpoint.removeprefix("http://")


@pytest.fixture(scope="module")
def password(platform: Platform) -> str:
    result = subprocess.run(
        [AWS, "--endpoint-url", platform.endpoint, "ecr", "get-login-password"],
        capture_output=True,
        text=True,
        env=platform.env,
        check=True,
        timeout=120,
    )
    return result.stdout.strip()


@pytest.fixture(scope="module")
def docker_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The docker CLI with a config directory of its own (logins do not touch ~/.docker)."""
    return {**os.environ, "DOCKER_CONFIG": str(tmp_path_factory.mktemp("docker-config"))}


def run(args: list[str], *, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    result = subprocess.run(
        args, capture_output=True, text=True, env=env, input=stdin, timeout=300, check=False
    )
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def ecr_digest(platform: Platform, repository: str, tag: str) -> str:
    details = platform.aws(
        "ecr", "describe-images", "--repository-name", repository, "--image-ids", f"imageTag={tag}"
    )
    return str(details["imageDetails"][0]["imageDigest"])


def test_docker_login_push_and_pull(
    platform: Platform, host: str, password: str, docker_env: dict[str, str]
) -> None:
    platform.aws("ecr", "create-repository", "--repository-name", "e2e/docker")
    ref = f"{host}/e2e/docker:v1"
    anonymous = subprocess.run(
        ["docker", "pull", ref], capture_output=True, text=True, env=docker_env, check=False
    )
    assert anonymous.returncode != 0  # no credentials yet
    pipeline = (
        f"{shlex.quote(AWS)} --endpoint-url {platform.endpoint} ecr get-login-password"
        f" | docker login --username AWS --password-stdin {host}"
    )
    login = run(["bash", "-o", "pipefail", "-c", pipeline], env={**docker_env, **platform.env})
    assert "Login Succeeded" in login
    run(["docker", "tag", HELLO, ref], env=docker_env)
    try:
        pushed = run(["docker", "push", ref], env=docker_env)
        digest = ecr_digest(platform, "e2e/docker", "v1")
        assert f"digest: {digest}" in pushed
        run(["docker", "rmi", ref], env=docker_env)
        run(["docker", "pull", ref], env=docker_env)
        repo_digests = json.loads(
            run(["docker", "inspect", "--format", "{{json .RepoDigests}}", ref], env=docker_env)
        )
        assert f"{host}/e2e/docker@{digest}" in repo_digests
        detail = platform.aws("ecr", "describe-images", "--repository-name", "e2e/docker")["imageDetails"][0]
        assert detail["imageTags"] == ["v1"] and detail["imageSizeInBytes"] > 0
    finally:
        subprocess.run(["docker", "rmi", ref], capture_output=True, env=docker_env, check=False)


def test_skopeo_copies_both_ways(platform: Platform, host: str, password: str, tmp_path: Path) -> None:
    platform.aws("ecr", "create-repository", "--repository-name", "e2e/skopeo")
    creds = f"AWS:{password}"
    run(
        [
            "skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", creds,
            f"docker-daemon:{BUSYBOX}", f"docker://{host}/e2e/skopeo:v1",
        ]
    )  # fmt: skip
    digest = ecr_digest(platform, "e2e/skopeo", "v1")
    inspected = json.loads(
        run(["skopeo", "inspect", "--tls-verify=false", "--creds", creds, f"docker://{host}/e2e/skopeo:v1"])
    )
    assert inspected["Digest"] == digest
    out = tmp_path / "pulled"
    run(
        [
            "skopeo",
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            creds,
            f"docker://{host}/e2e/skopeo:v1",
            f"dir:{out}",
        ]
    )
    assert "sha256:" + hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest() == digest
    tags = json.loads(
        run(["skopeo", "list-tags", "--tls-verify=false", "--creds", creds, f"docker://{host}/e2e/skopeo"])
    )
    assert tags["Tags"] == ["v1"]


@pytest.mark.skipif(
    shutil.which("podman") is None, reason="podman is installed by scripts/system-deps.sh --test"
)
def test_podman_push_and_pull(platform: Platform, host: str, password: str, tmp_path: Path) -> None:
    platform.aws("ecr", "create-repository", "--repository-name", "e2e/podman")
    runroot = Path(tempfile.mkdtemp(prefix="dkp-"))  # podman wants a runroot under 50 characters
    podman = [
        "podman", "--root", str(tmp_path / "storage"), "--runroot", str(runroot),
        "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none",
    ]  # fmt: skip
    creds = f"AWS:{password}"
    ref = f"{host}/e2e/podman:v1"
    run([*podman, "pull", f"docker-daemon:{BUSYBOX}"])
    digest_file = tmp_path / "digest"
    run(
        [
            *podman,
            "push",
            "--tls-verify=false",
            "--creds",
            creds,
            "--digestfile",
            str(digest_file),
            BUSYBOX,
            ref,
        ]
    )
    digest = ecr_digest(platform, "e2e/podman", "v1")
    assert digest_file.read_text().strip() == digest
    run([*podman, "rmi", "--all", "--force"])
    try:
        run([*podman, "pull", "--tls-verify=false", "--creds", creds, ref])
        assert run([*podman, "image", "inspect", "--format", "{{.Digest}}", ref]).strip() == digest
    finally:
        subprocess.run([*podman, "rmi", "--all", "--force"], capture_output=True, check=False)
        shutil.rmtree(runroot, ignore_errors=True)


def test_oras_pushes_and_pulls_an_artifact(
    platform: Platform, host: str, password: str, tmp_path: Path
) -> None:
    import oras.client

    platform.aws("ecr", "create-repository", "--repository-name", "e2e/oras")
    artifact = tmp_path / "notes.txt"
    artifact.write_bytes(os.urandom(64 * 1024))
    client: Any = oras.client.OrasClient(hostname=host, insecure=True, auth_backend="basic")
    client.auth.set_basic_auth("AWS", password)  # what `login` does, without writing ~/.docker
    target = f"{host}/e2e/oras:v1"
    cwd = Path.cwd()
    os.chdir(tmp_path)  # oras names blobs by their relative path
    try:
        response = client.push(files=["notes.txt"], target=target)
    finally:
        os.chdir(cwd)
    assert response.status_code == 201
    digest = ecr_digest(platform, "e2e/oras", "v1")
    assert response.headers["Docker-Content-Digest"] == digest
    out = tmp_path / "out"
    pulled = client.pull(target=target, outdir=str(out))
    assert [Path(p).read_bytes() for p in pulled] == [artifact.read_bytes()]
    manifest = client.get_manifest(target)
    layer = manifest["layers"][0]
    assert layer["digest"] == "sha256:" + hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert client.get_tags(target) == ["v1"]


def test_a_task_runs_an_image_from_dockyards_ecr(
    platform: Platform, host: str, password: str, docker_env: dict[str, str]
) -> None:
    platform.aws("ecr", "create-repository", "--repository-name", "e2e/app")
    ref = f"{host}/e2e/app:v1"
    run(["docker", "login", "--username", "AWS", "--password-stdin", host], env=docker_env, stdin=password)
    run(["docker", "tag", HELLO, ref], env=docker_env)
    run(["docker", "push", ref], env=docker_env)
    run(["docker", "rmi", ref], env=docker_env)  # the agent must pull it, with its own token
    digest = ecr_digest(platform, "e2e/app", "v1")
    ecs = platform.ecs()
    ecs.create_cluster(clusterName="ecr-images")
    ecs.register_task_definition(
        family="from-ecr",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "web", "image": ref, "portMappings": [{"containerPort": 80}]}],
    )
    arn = ecs.run_task(
        cluster="ecr-images",
        taskDefinition="from-ecr",
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [platform.subnet()]}},
    )["tasks"][0]["taskArn"]
    try:
        task = platform.wait_for_task("ecr-images", arn, "RUNNING", timeout=120)
        assert task["lastStatus"] == "RUNNING", task.get("stoppedReason")
        assert task["containers"][0]["imageDigest"] == digest
    finally:
        ecs.stop_task(cluster="ecr-images", task=arn, reason="done")
        platform.wait_for_task("ecr-images", arn, "STOPPED", timeout=60)
        subprocess.run(["docker", "rmi", ref], capture_output=True, env=docker_env, check=False)
