"""Public repositories with the real clients: docker pushes to an ECR Public repository after
`aws ecr-public get-login-password | docker login`, logs out, and pulls it anonymously."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from dockyard.testing.platform import Platform

pytestmark = pytest.mark.docker

HELLO = "dockyard/hello:latest"
AWS = str(Path(sys.executable).parent / "aws")
ALIAS = "a123456789012"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, built_images: None) -> Iterator[Platform]:
    with Platform(tmp_path_factory.mktemp("public-registry-platform")) as running:
        yield running


def run(args: list[str], *, env: dict[str, str]) -> str:
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_docker_pulls_a_public_image_without_login(platform: Platform, tmp_path: Path) -> None:
    env = {**os.environ, **platform.env, "DOCKER_CONFIG": str(tmp_path / "docker-config")}
    public_host = f"localhost:{urlsplit(platform.endpoint).port}"
    created = platform.aws("ecr-public", "create-repository", "--repository-name", "e2e/hello")
    uri = created["repository"]["repositoryUri"]
    assert uri == f"{public_host}/{ALIAS}/e2e/hello"
    ref = f"{uri}:v1"
    login = (
        f"{shlex.quote(AWS)} --endpoint-url {platform.endpoint} --region us-east-1"
        " ecr-public get-login-password"
        f" | docker login --username AWS --password-stdin {public_host}"
    )
    assert "Login Succeeded" in run(["bash", "-o", "pipefail", "-c", login], env=env)
    bad_login = subprocess.run(
        ["docker", "login", "--username", "AWS", "--password-stdin", public_host],
        input="not-a-token",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert bad_login.returncode != 0  # docker login checks the password on the public host
    run(["docker", "tag", HELLO, ref], env=env)
    try:
        pushed = run(["docker", "push", ref], env=env)
        tags = platform.aws("ecr-public", "describe-image-tags", "--repository-name", "e2e/hello")
        digest = tags["imageTagDetails"][0]["imageDetail"]["imageDigest"]
        assert f"digest: {digest}" in pushed
        run(["docker", "logout", public_host], env=env)
        auths = json.loads((tmp_path / "docker-config" / "config.json").read_text()).get("auths", {})
        assert public_host not in auths
        run(["docker", "rmi", ref], env=env)
        run(["docker", "pull", ref], env=env)
        repo_digests = json.loads(
            run(["docker", "inspect", "--format", "{{json .RepoDigests}}", ref], env=env)
        )
        assert f"{uri}@{digest}" in repo_digests
        denied = subprocess.run(
            ["docker", "push", ref], capture_output=True, text=True, env=env, timeout=300, check=False
        )
        assert denied.returncode != 0  # pushing still needs a login
    finally:
        subprocess.run(["docker", "rmi", ref], capture_output=True, env=env, check=False)
