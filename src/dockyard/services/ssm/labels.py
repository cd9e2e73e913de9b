"""Parameter labels: LabelParameterVersion and UnlabelParameterVersion.

A label names one version of a parameter (`GetParameter --name /db/pw:prod`); labelling another
version moves it. Labels that break the rules (start with `aws`, `ssm` or a digit, hold other
characters than letters, digits and `_.-`, or exceed 100 characters) come back in `InvalidLabels`
instead of failing the call; a version holds at most 10 labels.
"""

from __future__ import annotations

import re
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ssm.api import api
from dockyard.services.ssm.deps import Ssm
from dockyard.services.ssm.documents import Entry, history
from dockyard.services.ssm.errors import ParameterVersionLabelLimitExceeded, ParameterVersionNotFound
from dockyard.services.ssm.resources import lookup, replace
from dockyard.store import Versioned

__all__ = ["label_parameter_version", "unlabel_parameter_version"]

MAX_LABELS = 10
_LABEL = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def _valid(label: str) -> bool:
    return (
        bool(_LABEL.fullmatch(label))
        and not label[0].isdigit()
        and not label.lower().startswith(("aws", "ssm"))
    )


def _version(found: Versioned, version: int | None) -> Entry:
    entries = history(found.value)
    if version is None:
        return entries[-1]
    for entry in entries:
        if entry["Version"] == version:
            return entry
    raise ParameterVersionNotFound(
        f"Systems Manager could not find version {version} of {found.value['Name']}. "
        "Verify the version and try again."
    )


@api.operation("LabelParameterVersion")
async def label_parameter_version(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    labels = list(dict.fromkeys(str(label) for label in request["Labels"]))
    invalid = [label for label in labels if not _valid(label)]
    wanted = [label for label in labels if _valid(label)]
    while True:
        found, _ = await lookup(ssm, ctx, str(request["Name"]))
        target = _version(found, request.get("ParameterVersion"))
        for entry in history(found.value):
            if entry is not target:
                entry["Labels"] = [label for label in entry.get("Labels") or [] if label not in wanted]
        target["Labels"] = list(dict.fromkeys([*(target.get("Labels") or []), *wanted]))
        if len(target["Labels"]) > MAX_LABELS:
            raise ParameterVersionLabelLimitExceeded(
                "A parameter version can have maximum 10 labels. Move one or more labels to another version "
                "and try again."
            )
        if await replace(ssm, found, found.value):
            return {"InvalidLabels": invalid, "ParameterVersion": target["Version"]}


@api.operation("UnlabelParameterVersion")
async def unlabel_parameter_version(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    labels = list(dict.fromkeys(str(label) for label in request["Labels"]))
    while True:
        found, _ = await lookup(ssm, ctx, str(request["Name"]))
        target = _version(found, int(request["ParameterVersion"]))
        have = list(target.get("Labels") or [])
        removed = [label for label in labels if label in have]
        target["Labels"] = [label for label in have if label not in removed]
        if await replace(ssm, found, found.value):
            return {
                "RemovedLabels": removed,
                "InvalidLabels": [label for label in labels if label not in removed],
            }
