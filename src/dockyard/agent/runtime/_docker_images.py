"""Images over the Docker Engine API: inspect, pull (with registry auth), build, remove.

Pull and build answer with a stream of JSON progress messages; a failure may come as an HTTP
error before the stream starts or as an ``errorDetail`` message inside it, and both are
raised. Pull failures meaning "there is no such image" (unknown repository or tag, a registry
host that does not resolve) become `ImageNotFound`; others `RuntimeError_`, in the engine's words.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from contextlib import aclosing
from typing import Any
from urllib.parse import quote

from dockyard.agent.runtime._docker_client import DockerClient, iter_json_stream
from dockyard.agent.runtime.protocol import ImageNotFound, RegistryAuth, RuntimeError_

__all__ = ["DockerImages", "quote_name", "with_default_tag"]

# Pull failures that mean "this image cannot be found", as opposed to "the pull broke".
_IMAGE_MISSING = ("not found", "manifest unknown", "no such host", "does not exist", "name unknown")


def with_default_tag(image: str) -> str:
    """``busybox`` -> ``busybox:latest``; references with a tag or digest are kept."""
    if "@" in image or ":" in image.rsplit("/", 1)[-1]:
        return image
    return f"{image}:latest"


def _repository(image: str) -> str:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return name[: len(name) - len(last)] + last.split(":", 1)[0]


def _registry_auth(auth: RegistryAuth) -> str:
    doc = {"username": auth.username, "password": auth.password, "serveraddress": auth.server}
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def _pull_error(image: str, message: str) -> RuntimeError_:
    lowered = message.lower()
    if any(marker in lowered for marker in _IMAGE_MISSING):
        return ImageNotFound(message)
    return RuntimeError_(message or f"pull of {image} failed")


def _stream_error(message: Mapping[str, Any]) -> str | None:
    detail = message.get("errorDetail")
    if isinstance(detail, dict) and detail.get("message"):
        return str(detail["message"])
    if message.get("error"):
        return str(message["error"])
    return None


def quote_name(name: str) -> str:
    """An image, network or volume name as a URL path segment."""
    return quote(name, safe="/:@")


class DockerImages:
    """The image half of `DockerRuntime`."""

    def __init__(self, client: DockerClient) -> None:
        self._client = client

    async def document(self, image: str) -> dict[str, Any] | None:
        status, doc = await self._client.call("GET", f"/images/{quote_name(image)}/json", ok_statuses=(404,))
        return None if status == 404 else dict(doc)

    async def image_id(self, image: str) -> str | None:
        doc = await self.document(image)
        return str(doc["Id"]) if doc else None

    async def image_labels(self, image: str) -> Mapping[str, str] | None:
        """The labels of a local image (None when the image is not present)."""
        doc = await self.document(image)
        return dict((doc.get("Config") or {}).get("Labels") or {}) if doc else None

    async def image_digest(self, image: str) -> str | None:
        doc = await self.document(image)
        digests = [str(d) for d in (doc or {}).get("RepoDigests") or []]
        if not digests:
            return None
        repository = _repository(image)
        chosen = next((d for d in digests if d.split("@", 1)[0].endswith(repository)), digests[0])
        return chosen.split("@", 1)[1]

    async def pull(self, image: str, *, auth: RegistryAuth | None = None) -> str:
        reference = with_default_tag(image)
        headers = {"X-Registry-Auth": _registry_auth(auth)} if auth else None
        try:
            async with self._client.open(
                "POST", "/images/create", params={"fromImage": reference}, headers=headers
            ) as resp:
                async with aclosing(iter_json_stream(resp)) as messages:
                    async for message in messages:
                        error = _stream_error(message)
                        if error is not None:
                            raise _pull_error(image, error)
        except ImageNotFound:
            raise
        except RuntimeError_ as exc:
            raise _pull_error(image, str(exc)) from None
        image_id = await self.image_id(reference)
        if image_id is None:
            raise ImageNotFound(f"No such image: {reference}")
        return image_id

    async def build(
        self,
        context_tar: bytes,
        tag: str,
        *,
        extra_tags: Sequence[str] = (),
        labels: Mapping[str, str] | None = None,
    ) -> str:
        """Build an image from an in-memory tar context (``Dockerfile`` at its root); its id."""
        params: list[tuple[str, str]] = [("t", tag), *(("t", extra) for extra in extra_tags)]
        params += [("rm", "1"), ("forcerm", "1")]
        if labels:
            params.append(("labels", json.dumps(dict(labels))))
        built: str | None = None
        output: list[str] = []
        async with self._client.open(
            "POST",
            "/build",
            params=params,
            data=io.BytesIO(context_tar),
            headers={"Content-Type": "application/x-tar"},
        ) as resp:
            async with aclosing(iter_json_stream(resp)) as messages:
                async for message in messages:
                    error = _stream_error(message)
                    if error is not None:
                        raise RuntimeError_(f"build of {tag} failed: {error}\n{''.join(output[-20:])}")
                    if isinstance(message.get("stream"), str):
                        output.append(message["stream"])
                    aux = message.get("aux")
                    if isinstance(aux, dict) and aux.get("ID"):
                        built = str(aux["ID"])
        return built or await self.image_id(tag) or ""

    async def remove_image(self, image: str, *, force: bool = False) -> None:
        params = {"force": "1" if force else "0"}
        await self._client.call(
            "DELETE", f"/images/{quote_name(image)}", params=params, not_found=ImageNotFound
        )
