"""RegisterContainerInstance: what an agent's registration stores, first time and after a restart.

First registration creates the document: `registeredResources` = `remainingResources` = the
agent's `totalResources`, attributes (the agent's built-in ones, plus `ecs.availability-zone`,
`ecs.instance-type` and `ecs.ami-id` taken from the instance identity document when the agent did
not send them), ACTIVE, `agentConnected`, `registeredAt`, and the instance's private address.

A restarted agent passes its `containerInstanceArn`: the identity (ARN, EC2 id, `registeredAt`)
and the custom attributes stay; resources, version info and built-in attributes are refreshed, and
`remainingResources` keeps what running tasks have reserved.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.tags import TagError, check_tags, merge_tags
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.errors import (
    AttributeLimitExceededException,
    ClientException,
    InvalidParameterException,
)
from dockyard.services.ecs.instance_documents import (
    MAX_CUSTOM_ATTRIBUTES,
    check_attribute,
    custom_attribute_count,
    get_instance,
    instance_arn,
    instance_key,
    is_builtin,
    modify,
)
from dockyard.store import Put

__all__ = ["register", "attribute_limit_error"]

Document = dict[str, Any]

_FROM_IDENTITY = (
    ("ecs.availability-zone", "availabilityZone"),
    ("ecs.instance-type", "instanceType"),
    ("ecs.ami-id", "imageId"),
)


def attribute_limit_error() -> Exception:
    return AttributeLimitExceededException(
        f"The number of custom attributes on the resource exceeds the limit of {MAX_CUSTOM_ATTRIBUTES}."
    )


async def register(ecs: Ecs, ctx: RequestContext, cluster: str, request: Mapping[str, Any]) -> Document:
    """Create or refresh the instance document; returns it as stored."""
    identity = _identity(request.get("instanceIdentityDocument"))
    attributes = _attributes(request.get("attributes", []), identity)
    tags = list(request.get("tags", []))
    try:
        check_tags(tags)
    except TagError as exc:
        raise InvalidParameterException(str(exc)) from exc
    resources = [_resource(r) for r in request.get("totalResources", [])]
    if request.get("containerInstanceArn"):
        return await _reregister(ecs, ctx, cluster, request, identity, attributes, resources, tags)
    if custom_attribute_count(attributes) > MAX_CUSTOM_ATTRIBUTES:
        raise attribute_limit_error()
    instance_id = ecs.ids.hex32()
    now = ecs.clock.now()
    doc: Document = {
        "containerInstanceArn": instance_arn(ctx, cluster, instance_id),
        # Without an EC2 identity document it is an EXTERNAL (ECS Anywhere) host: a managed instance id.
        "ec2InstanceId": identity.get("instanceId") or "mi-" + ecs.ids.hex32()[:17],
        "version": 1,
        "versionInfo": dict(request.get("versionInfo", {})),
        "remainingResources": [dict(r) for r in resources],
        "registeredResources": resources,
        "status": "ACTIVE",
        "agentConnected": True,
        "attributes": attributes,
        "registeredAt": now,
        "attachments": [],
        "tags": merge_tags([], tags),
        "healthStatus": {
            "overallStatus": "OK",
            "details": [
                {"type": "CONTAINER_RUNTIME", "status": "OK", "lastUpdated": now, "lastStatusChange": now}
            ],
        },
        "dockyard": _internal({}, identity, request),
    }
    await ecs.store.commit([Put(instance_key(ctx, cluster, instance_id), doc, expected_revision=0)])
    return doc


async def _reregister(
    ecs: Ecs,
    ctx: RequestContext,
    cluster: str,
    request: Mapping[str, Any],
    identity: Mapping[str, Any],
    attributes: list[Document],
    resources: list[Document],
    tags: list[dict[str, str]],
) -> Document:
    found = await get_instance(ecs, ctx, cluster, request["containerInstanceArn"])
    if found is None or found.value.get("status") == "INACTIVE":
        raise ClientException(
            "The container instance was deregistered or is not registered with this cluster."
        )
    builtin = [a for a in attributes if is_builtin(a["name"])]

    def refresh(doc: Document) -> Document:
        if resources:
            doc["remainingResources"] = _carry_reservations(
                doc.get("remainingResources", []), doc.get("registeredResources", []), resources
            )
            doc["registeredResources"] = resources
        if request.get("versionInfo"):
            doc["versionInfo"] = dict(request["versionInfo"])
        custom = [a for a in doc.get("attributes", []) if not is_builtin(a["name"])]
        doc["attributes"] = builtin + custom
        doc["tags"] = merge_tags(doc.get("tags", []), tags)
        doc["agentConnected"] = True
        doc["version"] = int(doc.get("version", 0)) + 1
        doc["dockyard"] = _internal(doc.get("dockyard", {}), identity, request)
        return doc

    updated = await modify(ecs, found.key, refresh)
    if updated is None:
        raise ClientException(
            "The container instance was deregistered or is not registered with this cluster."
        )
    return updated.value


def _identity(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise InvalidParameterException("The instance identity document is not valid JSON.") from exc
    if not isinstance(parsed, dict):
        raise InvalidParameterException("The instance identity document is not valid JSON.")
    return parsed


def _attributes(given: Iterable[Mapping[str, Any]], identity: Mapping[str, Any]) -> list[Document]:
    merged: dict[str, Document] = {}
    for attribute in given:
        check_attribute(attribute)
        item: Document = {"name": attribute["name"]}
        if attribute.get("value") is not None:
            item["value"] = attribute["value"]
        merged[attribute["name"]] = item
    for name, field in _FROM_IDENTITY:
        value = identity.get(field)
        if name not in merged and isinstance(value, str) and value:
            merged[name] = {"name": name, "value": value}
    return list(merged.values())


def _resource(given: Mapping[str, Any]) -> Document:
    name = given.get("name")
    if not name:
        raise InvalidParameterException("Every resource in totalResources must have a name.")
    kind = given.get("type") or ("STRINGSET" if "stringSetValue" in given else "INTEGER")
    item: Document = {
        "name": name,
        "type": kind,
        "doubleValue": float(given.get("doubleValue", 0.0)),
        "longValue": int(given.get("longValue", 0)),
        "integerValue": int(given.get("integerValue", 0)),
    }
    if kind == "STRINGSET":
        item["stringSetValue"] = [str(v) for v in given.get("stringSetValue", [])]
    return item


def _carry_reservations(
    remaining: list[Document], registered: list[Document], total: list[Document]
) -> list[Document]:
    """New remaining resources: the new totals minus what tasks hold under the old registration."""
    old_remaining = {r["name"]: r for r in remaining}
    old_registered = {r["name"]: r for r in registered}
    out = []
    for resource in total:
        item = dict(resource)
        before, left = old_registered.get(item["name"]), old_remaining.get(item["name"])
        if before is not None and left is not None:
            if item["type"] == "STRINGSET":
                held = set(left.get("stringSetValue", [])) - set(before.get("stringSetValue", []))
                item["stringSetValue"] = list(item.get("stringSetValue", [])) + sorted(
                    held - set(item.get("stringSetValue", []))
                )
            else:
                for member in ("integerValue", "longValue", "doubleValue"):
                    used = before.get(member, 0) - left.get(member, 0)
                    item[member] = type(item[member])(item[member] - used)
        out.append(item)
    return out


def _internal(
    current: Mapping[str, Any], identity: Mapping[str, Any], request: Mapping[str, Any]
) -> Document:
    internal = dict(current)
    if identity.get("privateIp"):
        internal["hostAddress"] = identity["privateIp"]
    if request.get("platformDevices") is not None:
        internal["platformDevices"] = list(request["platformDevices"])
    return internal
