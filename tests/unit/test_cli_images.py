"""`dockyard images build NAME`: which names the command accepts (nothing is built here)."""

from __future__ import annotations

import pytest

from dockyard.cli.main import _parser


@pytest.mark.parametrize(
    "name", ["hello", "hello:latest", "hello:v1", "hello:v2", "busybox", "dockyard/hello:v3"]
)
def test_known_images(name: str) -> None:
    assert _parser().parse_args(["images", "build", name]).name == name


def test_the_default_is_hello() -> None:
    assert _parser().parse_args(["images", "build"]).name == "hello"


@pytest.mark.parametrize("name", ["nope", "hello:x", "hello:v", "busybox:v2"])
def test_unknown_images_are_refused(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["images", "build", name])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "known are busybox, hello, hello:v<N>" in error or "has only the tag latest" in error
