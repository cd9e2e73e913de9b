"""ECS task definitions: Register / Deregister / Delete / Describe / ListTaskDefinitions and
ListTaskDefinitionFamilies.

```
RegisterTaskDefinition: size check -> normalize (cpu/memory units, role ARNs) -> validate (§2)
  -> read the family counter (ecs:family, {family, lastRevision}) -> build the document
  -> commit [counter lastRevision+1, new revision (must not exist)] with compare-and-swap,
     retried on conflict; revisions start at 1 and are never reused, even after deletion.
ACTIVE --Deregister--> INACTIVE (deregisteredAt) --Delete--> DELETE_IN_PROGRESS (deleteRequestedAt)
```
DELETE_IN_PROGRESS revisions stay stored (describable, listable) as on ECS while tasks or services
may still reference them.

Stored document (kind TASK_DEFINITION, name `family:0000000007`): the TaskDefinition exactly as
DescribeTaskDefinition returns it, plus a top-level `tags` list that the serializer drops from
the TaskDefinition shape (Describe returns it separately with include=["TAGS"]; the tagging
operations read and write it).

For the tasks and services code (see `taskdef_lookup`):
  - `resolve_task_definition(ecs, ctx, ref) -> Versioned`: "family" (latest ACTIVE revision),
    "family:rev" or an ARN, in any status; not found -> ClientException "TaskDefinition not found."
  - `task_resources(td) -> (cpu_units, memory_mib)` to reserve for one task (reference §2.6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, decode_token, encode_token, paginate
from dockyard.services.ecs.api import api
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.errors import ClientException, InvalidParameterException
from dockyard.services.ecs.resources import (
    FAMILY,
    TASK_DEFINITION,
    ecs_arn,
    key,
    task_definition_key_name,
)
from dockyard.services.ecs.taskdef_lookup import (
    get_revision,
    parse_reference,
    resolve_task_definition,
    task_resources,
)
from dockyard.services.ecs.taskdef_normalize import build_task_definition, normalize_request
from dockyard.services.ecs.taskdef_validation import check_size, validate_registration
from dockyard.store import Conflict, Put, Versioned

__all__ = ["resolve_task_definition", "task_resources"]

_ATTEMPTS = 8
_TOO_MANY_ATTEMPTS = "Too many concurrent attempts to create a new revision of the specified family."
_DESCRIBE_FAILED = "Unable to describe task definition."
_MAX_DELETE = 10
_INVALID_IDENTIFIER = (
    "The specified task definition identifier is invalid. Specify a valid name or ARN and try again."
)
_DOES_NOT_EXIST = (
    "The specified task definition does not exist. Specify a valid account, family, revision and try again."
)
_STILL_ACTIVE = (
    "The specified task definition is still in ACTIVE status. Please deregister the target and try again."
)

Document = dict[str, Any]


@api.operation("RegisterTaskDefinition")
async def register_task_definition(ecs: Ecs, ctx: RequestContext, request: Document) -> Document:
    check_size(request)
    td = normalize_request(request, account_id=ctx.account_id)
    validate_registration(td)
    family = td["family"]
    family_key = key(ctx, FAMILY, family)
    for _ in range(_ATTEMPTS):
        counter = await ecs.store.get(family_key)
        revision = (counter.value["lastRevision"] if counter else 0) + 1
        doc = build_task_definition(
            td,
            arn=ecs_arn(ctx, f"task-definition/{family}:{revision}"),
            revision=revision,
            registered_at=_now(ecs),
            registered_by=f"arn:aws:iam::{ctx.account_id}:root",
        )
        try:
            await ecs.store.commit(
                [
                    Put(
                        family_key,
                        {"family": family, "lastRevision": revision},
                        expected_revision=counter.revision if counter else 0,
                    ),
                    Put(
                        key(ctx, TASK_DEFINITION, task_definition_key_name(family, revision)),
                        doc,
                        expected_revision=0,
                    ),
                ]
            )
        except Conflict:
            continue
        result: Document = {"taskDefinition": doc}
        if doc["tags"]:
            result["tags"] = doc["tags"]
        return result
    raise ClientException(_TOO_MANY_ATTEMPTS)


@api.operation("DescribeTaskDefinition")
async def describe_task_definition(ecs: Ecs, ctx: RequestContext, request: Document) -> Document:
    found = await resolve_task_definition(ecs, ctx, request["taskDefinition"], message=_DESCRIBE_FAILED)
    result: Document = {"taskDefinition": found.value}
    if "TAGS" in (request.get("include") or []):
        result["tags"] = found.value.get("tags", [])
    return result


@api.operation("DeregisterTaskDefinition")
async def deregister_task_definition(ecs: Ecs, ctx: RequestContext, request: Document) -> Document:
    ref = parse_reference(ctx, request["taskDefinition"])
    if ref is None:
        raise ClientException(_DESCRIBE_FAILED)
    if ref.revision is None:
        raise ClientException("Revision is missing.")
    if not ref.revision.isdigit():
        raise InvalidParameterException(f"Invalid revision number. Number: {ref.revision}")
    now = _now(ecs)

    def deregister(doc: Document) -> Document | None:
        if doc.get("status") != "ACTIVE":
            return None
        return {**doc, "status": "INACTIVE", "deregisteredAt": now}

    updated = await _update(ecs, ctx, ref.family, int(ref.revision), deregister)
    if updated is None:
        raise ClientException(_DESCRIBE_FAILED)
    return {"taskDefinition": updated}


@api.operation("DeleteTaskDefinitions")
async def delete_task_definitions(ecs: Ecs, ctx: RequestContext, request: Document) -> Document:
    refs: list[str] = request["taskDefinitions"]
    if not refs:
        raise InvalidParameterException("size of TaskDefinition references list must be greater than 0")
    if len(refs) > _MAX_DELETE:
        raise InvalidParameterException(f"Size of TaskDefinition references list cannot exceed {_MAX_DELETE}")
    now = _now(ecs)
    deleted: list[Document] = []
    failures: list[Document] = []
    seen: set[str] = set()

    def delete(doc: Document) -> Document | None:
        if doc.get("status") != "INACTIVE":
            return None
        return {**doc, "status": "DELETE_IN_PROGRESS", "deleteRequestedAt": now}

    for value in refs:
        ref = parse_reference(ctx, value)
        if ref is None or ref.revision is None or not ref.revision.isdigit():
            failures.append({"arn": value, "reason": _INVALID_IDENTIFIER})
            continue
        arn = ecs_arn(ctx, f"task-definition/{ref.family}:{int(ref.revision)}")
        updated = await _update(ecs, ctx, ref.family, int(ref.revision), delete)
        if updated is None:
            failures.append({"arn": arn, "reason": _DOES_NOT_EXIST})
        elif updated["status"] == "ACTIVE":
            failures.append({"arn": arn, "reason": _STILL_ACTIVE})
        elif arn not in seen:
            seen.add(arn)
            deleted.append(updated)
    return {"taskDefinitions": deleted, "failures": failures}


@api.operation("ListTaskDefinitions")
async def list_task_definitions(ecs: Ecs, ctx: RequestContext, request: Document) -> Document:
    max_results = _max_results(request)
    status = request.get("status", "ACTIVE")
    descending = request.get("sort", "ASC") == "DESC"
    family = request.get("familyPrefix")
    docs = await ecs.store.list(
        TASK_DEFINITION, account_id=ctx.account_id, region=ctx.region, prefix=f"{family}:" if family else ""
    )
    items = sorted(
        ((v.value["family"], v.value["revision"], v.value["taskDefinitionArn"])
         for v in docs if v.value.get("status") == status),
        reverse=descending,
    )  # fmt: skip
    token = request.get("nextToken")
    if token:
        try:
            after = decode_token(token)
            position = (str(after[0]), int(after[1]))
        except (InvalidToken, TypeError, ValueError, IndexError) as exc:
            raise InvalidParameterException("Invalid nextToken.") from exc
        items = [i for i in items if ((i[0], i[1]) < position if descending else (i[0], i[1]) > position)]
    limit = 100 if max_results is None else max_results
    page = items[:limit]
    result: Document = {"taskDefinitionArns": [arn for _, _, arn in page]}
    if len(items) > limit:
        result["nextToken"] = encode_token([page[-1][0], page[-1][1]])
    return result


@api.operation("ListTaskDefinitionFamilies")
async def list_task_definition_families(ecs: Ecs, ctx: RequestContext, request: Document) -> Document:
    max_results = _max_results(request)
    status = request.get("status", "ALL")
    prefix = request.get("familyPrefix") or ""
    docs = await ecs.store.list(TASK_DEFINITION, account_id=ctx.account_id, region=ctx.region, prefix=prefix)
    active: dict[str, bool] = {}
    for v in docs:
        name = v.value["family"]
        if name.startswith(prefix):
            active[name] = active.get(name, False) or v.value.get("status") == "ACTIVE"
    families = sorted(
        name for name, has_active in active.items()
        if status == "ALL" or has_active == (status == "ACTIVE")
    )  # fmt: skip
    try:
        page, token = paginate(
            families, key=lambda f: f, max_results=max_results, next_token=request.get("nextToken")
        )
    except InvalidToken as exc:
        raise InvalidParameterException("Invalid nextToken.") from exc
    result: Document = {"families": page}
    if token:
        result["nextToken"] = token
    return result


def _now(ecs: Ecs) -> float:
    """ECS reports these timestamps with millisecond precision."""
    return round(ecs.clock.now(), 3)


def _max_results(request: Document) -> int | None:
    value = request.get("maxResults")
    if value is not None and not 1 <= value <= 100:
        raise InvalidParameterException("maxResults must be between 1 and 100.")
    return value if value is None else int(value)


async def _update(
    ecs: Ecs, ctx: RequestContext, family: str, revision: int, change: Callable[[Document], Document | None]
) -> Document | None:
    """Apply `change` to one revision with compare-and-swap; the document after (None if missing).

    `change` returns the new document, or None to leave the stored one as it is.
    """
    for _ in range(_ATTEMPTS):
        found: Versioned | None = await get_revision(ecs, ctx, family, revision)
        if found is None:
            return None
        new = change(found.value)
        if new is None:
            return found.value
        try:
            await ecs.store.commit([Put(found.key, new, expected_revision=found.revision)])
        except Conflict:
            continue
        return new
    raise ClientException(_TOO_MANY_ATTEMPTS)
