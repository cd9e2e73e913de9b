"""Registry credentials for images in the control plane's ECR registry.

ECS pulls an ECR image with a token from `ecr:GetAuthorizationToken`; so does the agent, over
the same signed HTTP calls it makes to ECS:

```
image host (the part before the first '/')
  <account>.dkr.ecr.<region>.<domain>   -> GetAuthorizationToken(registryIds=[account]) in <region>
  anything else with a host             -> GetAuthorizationToken in the task's Region; used only
                                           when the host is its proxyEndpoint's (Dockyard's ECR)
  none (Docker Hub)                     -> nothing
```
Images that already have credentials (repositoryCredentials) keep them. A failed token call is
the pull's failure for images on an ECR-style host; for other hosts the pull goes on without.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

import aiohttp

from dockyard.agent.client import ApiError
from dockyard.agent.runner_steps import PullFailed
from dockyard.agent.runtime.protocol import RegistryAuth
from dockyard.agent.secret_refs import registry_server
from dockyard.agent.secrets import AwsCaller

__all__ = ["ECR_TARGET", "ecr_auth"]

log = logging.getLogger(__name__)

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921"
_ECR_HOST = re.compile(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.")


class _TokenError(Exception):
    pass


async def ecr_auth(
    images: Iterable[str],
    caller: AwsCaller | None,
    region: str,
    *,
    known: Mapping[str, RegistryAuth] | None = None,
) -> dict[str, RegistryAuth]:
    """Credentials for each of `images` served by the control plane's ECR (image -> auth).
    Raises `PullFailed` when an ECR-style host's token cannot be had."""
    hosts = {image: registry_server(image) for image in images if image not in (known or {})}
    hosts = {image: host for image, host in hosts.items() if host}
    if caller is None or not hosts:
        return {}
    tokens: dict[tuple[str, str], tuple[str, RegistryAuth] | _TokenError] = {}
    found: dict[str, RegistryAuth] = {}
    for image, host in sorted(hosts.items()):
        ecr_host = _ECR_HOST.match(host)
        where = (ecr_host.group(2), ecr_host.group(1)) if ecr_host else (region, "")
        if where not in tokens:
            tokens[where] = await _token(caller, *where)
        token = tokens[where]
        if isinstance(token, _TokenError):
            if ecr_host is not None:
                raise PullFailed(image, token)
            continue
        proxy_host, auth = token
        if ecr_host is not None or host == proxy_host:
            found[image] = RegistryAuth(auth.username, auth.password, server=host)
    return found


async def _token(caller: AwsCaller, region: str, registry_id: str) -> tuple[str, RegistryAuth] | _TokenError:
    """(proxyEndpoint host, credentials) of a GetAuthorizationToken call, or why it failed."""
    params = {"registryIds": [registry_id]} if registry_id else {}
    try:
        answer = await caller.call("ecr", ECR_TARGET, "GetAuthorizationToken", params, region)
        data = answer["authorizationData"][0]
        user, _, password = base64.b64decode(str(data["authorizationToken"])).decode().partition(":")
        return urlsplit(str(data["proxyEndpoint"])).netloc, RegistryAuth(user, password)
    except (ApiError, aiohttp.ClientError, TimeoutError, KeyError, IndexError, binascii.Error) as exc:
        log.debug("GetAuthorizationToken in %s failed: %s", region, exc)
        return _TokenError(f"unable to get ECR authorization: {exc}")
