"""Secret tags: TagResource and UntagResource (DescribeSecret and ListSecrets show them).

A secret that was never tagged has no `Tags`; once tagged, removing every tag leaves `Tags: []`,
as Secrets Manager shows it.
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.secretsmanager.api import api
from dockyard.services.secretsmanager.deps import SecretsManager
from dockyard.services.secretsmanager.inputs import check_secret_tags, merge_secret_tags
from dockyard.services.secretsmanager.resources import get_live_secret, replace

__all__ = ["tag_resource", "untag_resource"]


@api.operation("TagResource")
async def tag_resource(sm: SecretsManager, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    new = check_secret_tags(request["Tags"])
    while True:
        found = await get_live_secret(sm, ctx, str(request["SecretId"]))
        doc = found.value
        doc["Tags"] = check_secret_tags(merge_secret_tags(list(doc.get("Tags") or []), new))
        if await replace(sm, found, doc):
            return {}


@api.operation("UntagResource")
async def untag_resource(sm: SecretsManager, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    keys = {str(k) for k in request["TagKeys"]}
    while True:
        found = await get_live_secret(sm, ctx, str(request["SecretId"]))
        doc = found.value
        if "Tags" not in doc:
            return {}
        doc["Tags"] = [t for t in doc["Tags"] if t["Key"] not in keys]
        if await replace(sm, found, doc):
            return {}
