"""Task secrets and private-registry credentials, resolved the way the ECS agent resolves them.

```
container definition            read with                                 becomes
secrets[{name, valueFrom}] ──┐  SSM GetParameters (WithDecryption, 10       environment variable `name`
logConfiguration             ├─> names a call, per Region) or Secrets      log driver option `name`
  .secretOptions ────────────┤  Manager GetSecretValue                     registry auth of the pull
repositoryCredentials ───────┘  (a JSON {"username","password"} secret)
```
References are parsed by `dockyard.agent.secret_refs` (the planner checks them first). Everything
is read once, when the containers are about to be created, over the control plane's public APIs
with the agent's own credentials (Dockyard has no IAM yet: the task's execution role is not
assumed); each call is tried twice. Any failure stops the task with `ResourceInitializationError:
unable to pull secrets or registry auth: ...` in ECS's words. Values live in memory only: never in
the state file, the reports, the metadata endpoint or the logs (`TaskSecrets` does not even show
them in its repr).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import aiohttp

from dockyard.agent.client import TARGET_PREFIXES, ApiError
from dockyard.agent.runtime.protocol import ContainerSpec, RegistryAuth
from dockyard.agent.secret_refs import (
    RETRIEVAL,
    AsmRef,
    SecretsUnavailable,
    SsmRef,
    credentials_ref,
    go_format,
    parse_value_from,
    references,
    registry_server,
)
from dockyard.aws.models import service_model

__all__ = ["AwsCaller", "ContainerSecrets", "TaskSecrets", "resolve_task_secrets"]

_RETRIED = "service call has been retried 1 time(s): "
_SSM_BATCH = 10
_RETRY_DELAY = 0.5


class AwsCaller(Protocol):
    """`dockyard.agent.client.ControlPlane.call`: one awsJson call, `ApiError` on an AWS error."""

    async def call(
        self,
        service: str,
        target_prefix: str,
        operation: str,
        params: dict[str, Any],
        region: str | None = None,
    ) -> dict[str, Any]: ...


# -- results -----------------------------------------------------------------------------------------


@dataclass(slots=True, repr=False)
class ContainerSecrets:
    env: dict[str, str] = field(default_factory=dict)
    log_options: dict[str, str] = field(default_factory=dict)
    auth: RegistryAuth | None = None


@dataclass(slots=True, repr=False)
class TaskSecrets:
    """What was resolved for each container (by name). Its repr names no value."""

    containers: dict[str, ContainerSecrets] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"TaskSecrets({sorted(self.containers)})"

    def auth(self, images: Mapping[str, str]) -> dict[str, RegistryAuth]:
        """Registry auth per image, from `images` (container name -> image)."""
        found: dict[str, RegistryAuth] = {}
        for name, image in images.items():
            resolved = self.containers.get(name)
            if resolved is not None and resolved.auth is not None:
                found.setdefault(image, resolved.auth)
        return found

    def apply(self, spec: ContainerSpec, container: str) -> ContainerSpec:
        """`spec` with the container's secrets in its environment and log options."""
        resolved = self.containers.get(container)
        if resolved is None or not (resolved.env or resolved.log_options):
            return spec
        return replace(
            spec,
            env={**spec.env, **resolved.env},
            log_options={**spec.log_options, **resolved.log_options},
        )


# -- resolution --------------------------------------------------------------------------------------


def _sdk_error(service: str, title: str, operation: str, error: Exception) -> str:
    """How the AWS SDK for Go v2 words a failed call, which is what ECS's reasons quote."""
    if not isinstance(error, ApiError):
        return f"operation error {title}: {operation}, {error}"
    # The SDK knows the errors the operation models; any other code is a generic "api error".
    modelled = error.code in {
        shape.name for shape in service_model(service).operation_model(operation).error_shapes
    }
    code = error.code if modelled else f"api error {error.code}"
    return (
        f"operation error {title}: {operation}, https response error StatusCode: {error.status}, "
        f"RequestID: {error.request_id}, {code}: {error.message}"
    )


async def _twice(
    attempt: Callable[[], Awaitable[dict[str, Any]]], sleep: Callable[[float], Awaitable[None]]
) -> Any:
    try:
        return await attempt()
    except (TimeoutError, ApiError, aiohttp.ClientError):
        await sleep(_RETRY_DELAY)
    return await attempt()


class _Resolver:
    def __init__(self, caller: AwsCaller, sleep: Callable[[float], Awaitable[None]]) -> None:
        self.caller, self.sleep = caller, sleep
        self._asm: dict[tuple[str, str, str, str], asyncio.Task[dict[str, Any]]] = {}

    async def ssm(self, refs: Sequence[SsmRef]) -> dict[str, str]:
        """value_from -> value for SSM references (GetParameters in batches of 10 per Region)."""
        by_region: dict[str, list[SsmRef]] = {}
        for ref in {r.value_from: r for r in refs}.values():
            by_region.setdefault(ref.region, []).append(ref)
        batches = [
            (region, group[i : i + _SSM_BATCH])
            for region, group in sorted(by_region.items())
            for i in range(0, len(group), _SSM_BATCH)
        ]
        values: dict[str, str] = {}
        for found in await asyncio.gather(*(self._ssm_batch(region, batch) for region, batch in batches)):
            values.update(found)
        return values

    async def _ssm_batch(self, region: str, refs: Sequence[SsmRef]) -> dict[str, str]:
        params = {"Names": [r.value_from for r in refs], "WithDecryption": True}
        try:
            answer = await _twice(
                lambda: self.caller.call("ssm", TARGET_PREFIXES["ssm"], "GetParameters", params, region),
                self.sleep,
            )
        except (TimeoutError, ApiError, aiohttp.ClientError) as exc:
            cause = _sdk_error("ssm", "SSM", "GetParameters", exc)
            raise SecretsUnavailable(
                f"{RETRIEVAL}unable to retrieve secrets from ssm: {_RETRIED}{cause}"
            ) from exc
        invalid = [str(name) for name in answer.get("InvalidParameters") or []]
        if invalid:
            raise SecretsUnavailable(
                f"{RETRIEVAL}unable to retrieve secrets from ssm: {_RETRIED}invalid ssm parameters: "
                + ",".join(invalid)
            )
        values: dict[str, str] = {}
        for ref in refs:
            for parameter in answer.get("Parameters") or []:
                name, selector = str(parameter.get("Name")), str(parameter.get("Selector") or "")
                if (
                    name in ref.names or name == ref.value_from.rsplit(":", 1)[0]
                ) and selector == ref.selector:
                    values[ref.value_from] = str(parameter.get("Value", ""))
                    break
            else:
                raise SecretsUnavailable(
                    f"{RETRIEVAL}unable to retrieve secrets from ssm: {_RETRIED}invalid ssm parameters: "
                    + ref.value_from
                )
        return values

    def close(self) -> None:
        """Stop reads still running after another one failed."""
        for task in self._asm.values():
            task.cancel()

    async def secret(self, ref: AsmRef) -> dict[str, Any]:
        """GetSecretValue for `ref` (each distinct secret/stage/version is read once)."""
        cache_key = (ref.region, ref.secret_id, ref.version_stage, ref.version_id)
        if cache_key not in self._asm:
            self._asm[cache_key] = asyncio.ensure_future(self._get_secret(ref))
        return await self._asm[cache_key]

    async def _get_secret(self, ref: AsmRef) -> dict[str, Any]:
        params: dict[str, Any] = {"SecretId": ref.secret_id}
        if ref.version_stage:
            params["VersionStage"] = ref.version_stage
        if ref.version_id:
            params["VersionId"] = ref.version_id
        target = TARGET_PREFIXES["secretsmanager"]
        try:
            answer: dict[str, Any] = await _twice(
                lambda: self.caller.call("secretsmanager", target, "GetSecretValue", params, ref.region),
                self.sleep,
            )
        except (TimeoutError, ApiError, aiohttp.ClientError) as exc:
            cause = _sdk_error("secretsmanager", "Secrets Manager", "GetSecretValue", exc)
            raise SecretsUnavailable(
                f"{RETRIEVAL}unable to retrieve secret from asm: {_RETRIED}failed to fetch secret "
                f"{ref.secret_id} from secrets manager: {cause}"
            ) from exc
        return answer

    async def asm_value(self, ref: AsmRef) -> str:
        string = str((await self.secret(ref)).get("SecretString") or "")
        if not ref.json_key:
            return string
        try:
            document = json.loads(string)
        except ValueError as exc:
            raise _asm_error("the secret string is not valid JSON; a json key needs a JSON object") from exc
        if not isinstance(document, dict):
            kind = {list: "array", str: "string", bool: "bool"}.get(type(document), "number")
            raise _asm_error(f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}")
        if ref.json_key not in document:
            raise _asm_error(f"retrieved secret from Secrets Manager did not contain json key {ref.json_key}")
        return go_format(document[ref.json_key])

    async def registry_auth(self, ref: AsmRef, image: str) -> RegistryAuth:
        string = str((await self.secret(ref)).get("SecretString") or "")
        if not string:
            raise _asm_error("asm fetching authorization data: empty secrets value")
        try:
            document = json.loads(string)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise _asm_error(
                "asm fetching authorization data: unable to unmarshal secret value, invalid schema"
            )
        username, password = document.get("username"), document.get("password")
        if not isinstance(username, str) or not username:
            raise _asm_error("asm fetching username: AuthorizationData is malformed, empty field")
        if not isinstance(password, str) or not password:
            raise _asm_error("asm fetching password: AuthorizationData is malformed, empty field")
        return RegistryAuth(username=username, password=password, server=registry_server(image))


def _asm_error(cause: str) -> SecretsUnavailable:
    return SecretsUnavailable(f"{RETRIEVAL}unable to retrieve secret from asm: {_RETRIED}{cause}")


async def resolve_task_secrets(
    definitions: Sequence[Mapping[str, Any]],
    caller: AwsCaller | None,
    region: str,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> TaskSecrets:
    """Resolve the secrets, secretOptions and registry credentials of container `definitions`
    (merged definitions, with `name` and `image`). Raises `SecretsUnavailable`."""
    wanted = [d for d in definitions if list(references(d)) or d.get("repositoryCredentials")]
    result = TaskSecrets({str(d["name"]): ContainerSecrets() for d in wanted})
    if not wanted:
        return result
    if caller is None:
        raise SecretsUnavailable(f"{RETRIEVAL}this agent has no control plane client to read secrets with")
    resolver = _Resolver(caller, sleep)
    try:
        return await _resolve(resolver, wanted, result, region)
    finally:
        resolver.close()


async def _resolve(
    resolver: _Resolver, wanted: Sequence[Mapping[str, Any]], result: TaskSecrets, region: str
) -> TaskSecrets:
    refs = {
        (str(d["name"]), kind, str(s["name"])): parse_value_from(str(s["valueFrom"]), region)
        for d in wanted
        for kind, listed in (
            ("env", d.get("secrets") or []),
            ("log", (d.get("logConfiguration") or {}).get("secretOptions") or []),
        )
        for s in listed
    }
    ssm_values = await resolver.ssm([r for r in refs.values() if isinstance(r, SsmRef)])
    asm = {r.value_from: r for r in refs.values() if isinstance(r, AsmRef)}
    asm_values = dict(
        zip(asm, await asyncio.gather(*(resolver.asm_value(r) for r in asm.values())), strict=True)
    )
    for (container, kind, name), ref in refs.items():
        value = ssm_values[ref.value_from] if isinstance(ref, SsmRef) else asm_values[ref.value_from]
        target = result.containers[container]
        (target.env if kind == "env" else target.log_options)[name] = value
    for definition in wanted:
        credentials = (definition.get("repositoryCredentials") or {}).get("credentialsParameter")
        if credentials:
            ref = credentials_ref(str(credentials), region)
            auth = await resolver.registry_auth(ref, str(definition.get("image", "")))
            result.containers[str(definition["name"])].auth = auth
    return result
